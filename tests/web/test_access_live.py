"""The live socket leaks nothing of a restricted channel: messages, updates, typing, channels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.web.test_access import Team, create, team  # noqa: F401 (the fixture)

QUIET_S = 0.6
WAIT_S = 10.0


async def frames(ws: aiohttp.ClientWebSocketResponse, within: float) -> list[dict[str, Any]]:
    """Return every frame that arrives within ``within`` seconds (presence left out)."""
    out: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + within
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            frame = await asyncio.wait_for(ws.receive_json(), left)
        except TimeoutError:
            break
        if frame["type"] != "presence":
            out.append(frame)
    return out


async def until(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), WAIT_S)
        if frame["type"] == kind:
            return frame


@pytest.fixture
async def sockets(team: Team) -> AsyncIterator[list[aiohttp.ClientWebSocketResponse]]:  # noqa: F811
    """One socket each for the owner, the member, the stranger and the via login."""
    opened = []
    for api in (team.owner, team.member, team.stranger, team.via):
        ws = await api.http.ws_connect(api.base + "/api/v1/ws")
        await until(ws, "hello")
        opened.append(ws)
    yield opened
    for ws in opened:
        await ws.close()


def mentions_ops(frame: dict[str, Any]) -> bool:
    text = repr(frame)
    return "ops" in text or "depot" in text


async def test_outsiders_sockets_get_nothing_of_the_channel(
    team: Team,  # noqa: F811
    sockets: list[aiohttp.ClientWebSocketResponse],
) -> None:
    owner_ws, member_ws, stranger_ws, via_ws = sockets
    posted = await team.member.post("at the depot", channel="ops")
    await team.owner.request(
        "POST", f"/api/v1/messages/{posted.body['id']}/reactions", json={"emoji": "+1"}
    )
    await team.member.request(
        "PATCH", f"/api/v1/messages/{posted.body['id']}", json={"text": "at the depot, 5 pm"}
    )
    assert (await create(team.owner, name="ops", topic="new topic")).status == 201
    await member_ws.send_json({"type": "typing", "channel": "ops"})
    await stranger_ws.send_json({"type": "typing", "channel": "ops"})  # not a member
    public = await team.stranger.post("in the open")
    seen = await frames(owner_ws, QUIET_S * 2)
    kinds = [f["type"] for f in seen]
    assert kinds.count("message") == 2 and kinds.count("update") == 2
    assert any(f["type"] == "channel" and f["channel"]["topic"] == "new topic" for f in seen)
    typing = [f["callsign"] for f in seen if f["type"] == "typing"]
    assert typing == ["K1ABC"]  # the stranger's typing in #ops reached nobody
    for outsider in (stranger_ws, via_ws):
        got = await frames(outsider, QUIET_S)
        assert [f["message"]["id"] for f in got if f["type"] == "message"] == [public.body["id"]]
        assert not [f for f in got if mentions_ops(f)]


async def test_a_kicked_member_is_told_and_then_sees_nothing(
    team: Team,  # noqa: F811
    sockets: list[aiohttp.ClientWebSocketResponse],
) -> None:
    _, member_ws, stranger_ws, _ = sockets
    kick = await team.owner.request("DELETE", "/api/v1/channels/ops/members/K1ABC")
    assert kick.status == 201
    gone = await until(member_ws, "channel")
    while not gone["channel"].get("gone"):  # the channel's founding may come first
        gone = await until(member_ws, "channel")
    assert gone["channel"] == {"name": "ops", "restricted": True, "you": None, "gone": True}
    await team.owner.post("after the kick", channel="ops")
    await team.owner.request("POST", "/api/v1/channels/ops/members", json={"callsign": "W1AW"})
    late = await frames(member_ws, QUIET_S)
    assert not [f for f in late if f["type"] in ("message", "update", "typing")]
    assert not [f for f in await frames(stranger_ws, 0.1) if mentions_ops(f)]


async def test_a_new_member_gets_the_channel_live(
    team: Team,  # noqa: F811
    sockets: list[aiohttp.ClientWebSocketResponse],
) -> None:
    _, _, stranger_ws, _ = sockets
    invite = await team.owner.request(
        "POST", "/api/v1/channels/ops/members", json={"callsign": "N0CALL"}
    )
    assert invite.status == 201
    event = await until(stranger_ws, "channel")
    assert event["channel"]["name"] == "ops" and event["channel"]["you"] == "member"
    await team.owner.post("welcome", channel="ops")
    message = await until(stranger_ws, "message")
    assert message["message"]["text"] == "welcome"


async def test_a_resumed_socket_replays_nothing_of_it(
    team: Team,  # noqa: F811
) -> None:
    ws = await team.stranger.http.ws_connect(team.stranger.base + "/api/v1/ws")
    hello = await until(ws, "hello")
    await ws.close()
    await team.member.post("while you were away", channel="ops")
    await team.stranger.post("public meanwhile")
    params = {"cursor": str(hello["cursor"])}
    ws = await team.stranger.http.ws_connect(team.stranger.base + "/api/v1/ws", params=params)
    try:
        got = await frames(ws, QUIET_S)
        assert [f["message"]["text"] for f in got if f["type"] == "message"] == ["public meanwhile"]
        assert not [f for f in got if mentions_ops(f)]
    finally:
        await ws.close()
