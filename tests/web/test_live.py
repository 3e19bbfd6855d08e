"""The live WebSocket: events after posts, resume by cursor, DMs, typing (docs/live-api.md)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from meshchat.app import RunningNode
from tests.mesh import QUICK, eventually, line, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient

WAIT_S = 10.0


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """Return the next frame of ``kind``, skipping others (presence comes on its own)."""
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), WAIT_S)
        if frame["type"] == kind:
            return frame


async def _open(api: ApiClient, cursor: int | None = None) -> aiohttp.ClientWebSocketResponse:
    params = {} if cursor is None else {"cursor": str(cursor)}
    return await api.http.ws_connect(api.base + "/api/v1/ws", params=params)


async def test_ws_needs_a_session(client: ApiClient) -> None:
    async with client.http.get(client.base + "/api/v1/ws") as resp:
        assert resp.status == 401


async def test_hello_then_live_message_and_update(client: ApiClient) -> None:
    await client.login("W1AW")
    ws = await _open(client)
    try:
        hello = await _next(ws, "hello")
        assert hello["callsign"] == "W1AW"
        assert hello["zone"] == "MeshChat"
        posted = await client.post("live one", channel="ops")
        event = await _next(ws, "message")
        assert event["message"]["id"] == posted.body["id"]
        assert event["message"]["text"] == "live one"
        assert event["cursor"] > hello["cursor"]
        await client.request(
            "PATCH", f"/api/v1/messages/{posted.body['id']}", json={"text": "live two"}
        )
        update = await _next(ws, "update")
        assert update["message"]["text"] == "live two"
        assert update["message"]["edited"] is not None
    finally:
        await ws.close()


async def test_resume_by_cursor_loses_and_repeats_nothing(client: ApiClient) -> None:
    await client.login("W1AW")
    ws = await _open(client)
    first = await client.post("seen before the cut")
    seen = await _next(ws, "message")
    assert seen["message"]["id"] == first.body["id"]
    cursor = seen["cursor"]
    await ws.close()

    missed = [(await client.post(f"missed {i}")).body["id"] for i in range(5)]
    ws = await _open(client, cursor)
    try:
        await _next(ws, "hello")
        replayed = [(await _next(ws, "message"))["message"]["id"] for _ in missed]
        assert replayed == missed
        after = await client.post("live after the resume")
        assert (await _next(ws, "message"))["message"]["id"] == after.body["id"]
    finally:
        await ws.close()


async def test_direct_messages_reach_only_the_two_callsigns(node: RunningNode) -> None:
    sender, recipient, other = ApiClient(node.url), ApiClient(node.url), ApiClient(node.url)
    sockets = []
    try:
        await sender.login("W1AW")
        await recipient.login("K1ABC")
        await other.login("N0CALL")
        sockets = [await _open(api) for api in (sender, recipient, other)]
        for ws in sockets:
            await _next(ws, "hello")
        await sender.post("psst", to="K1ABC")
        await sender.post("everyone")
        for ws in sockets[:2]:
            assert (await _next(ws, "message"))["message"]["text"] == "psst"
        assert (await _next(sockets[2], "message"))["message"]["text"] == "everyone"
    finally:
        for ws in sockets:
            await ws.close()
        for api in (sender, recipient, other):
            await api.close()


async def test_typing_reaches_other_tabs_and_bad_frames_get_an_error(node: RunningNode) -> None:
    a, b = ApiClient(node.url), ApiClient(node.url)
    try:
        await a.login("W1AW")
        await b.login("K1ABC")
        ws_a, ws_b = await _open(a), await _open(b)
        try:
            await _next(ws_b, "hello")
            await ws_a.send_json({"type": "typing", "channel": "ops"})
            typing = await _next(ws_b, "typing")
            assert (typing["callsign"], typing["channel"]) == ("W1AW", "ops")
            assert typing["expires_ms"] > 0
            await ws_a.send_json({"type": "shout"})
            assert (await _next(ws_a, "error"))["error"] == "unknown_frame"
            await ws_a.send_json({"type": "ping"})
            await _next(ws_a, "pong")
        finally:
            await ws_a.close()
            await ws_b.close()
    finally:
        await a.close()
        await b.close()


async def test_login_reports_the_last_visit(client: ApiClient) -> None:
    first = await client.login("W1AW")
    assert first.body["last_visit"] is None
    await client.request("POST", "/api/v1/logout")
    again = await client.login("W1AW")
    assert isinstance(again.body["last_visit"], int)


async def test_a_typing_channel_no_peer_accepts_is_refused_at_the_socket(
    tmp_path: Path,
) -> None:
    """A control character in a typing channel is refused where the browser hears why.

    It used to be built into a notice, refused by the peer's parser, and the whole presence
    exchange of that round failed silently.
    """
    nodes = await start_nodes(tmp_path, 2, QUICK)
    writer = ApiClient(nodes[0].url)
    try:
        line(nodes)
        await wait_live(nodes)
        await writer.login("W1AW")
        ws = await _open(writer)
        try:
            await _next(ws, "hello")
            await ws.send_json({"type": "typing", "channel": "ops\x07"})
            error = await _next(ws, "error")
            assert error["error"] == "bad_channel"
            # A good notice still crosses, and the peer refused nothing on the way.
            await ws.send_json({"type": "typing", "channel": "ops"})

            async def peer_knows_the_user() -> bool:
                users = nodes[1].node.presence.remote("MeshChat")
                return any(u.callsign == "W1AW" for u in users)

            await eventually(peer_knows_the_user, WAIT_S, "presence with the typing notice")
            assert nodes[1].node.sync.errors == {}
        finally:
            await ws.close()
    finally:
        await writer.close()
        await stop_all(nodes)


async def test_an_online_entry_turns_unverified_when_its_callsign_gets_bound(
    tmp_path: Path,
) -> None:
    """The verified mark is re-sent when a binding arrives, with no presence change.

    A tab open before the owner's first signed message had shown the other node's entry as
    plain "via"; it must hear that the entry is now a conflict (the CI run that found it:
    "(you)" shown on both entries of one's own callsign).
    """
    nodes = await start_nodes(tmp_path, 2, replace(QUICK, browser_presence_s=0.2))
    impostor, owner = ApiClient(nodes[1].url), ApiClient(nodes[0].url)
    try:
        line(nodes)
        await wait_live(nodes)
        await impostor.login("K2ABC")
        await owner.login("K2ABC", "correct horse battery staple")
        there = await _open(impostor)  # an open tab is presence (a login alone is not)
        ws = await _open(owner)
        try:
            await _next(ws, "hello")

            async def shown(verified: str) -> dict[str, Any]:
                while True:
                    frame = await _next(ws, "presence_delta")
                    for user in frame["set"]:
                        if user["node"] == "n1" and user["verified"] == verified:
                            return user

            await shown("via")  # nobody holds K2ABC yet
            assert (await owner.post("the real K2ABC")).status == 201
            conflict = await shown("conflict")
            assert conflict["callsign"] == "K2ABC"
        finally:
            await ws.close()
            await there.close()
    finally:
        await impostor.close()
        await owner.close()
        await stop_all(nodes)
