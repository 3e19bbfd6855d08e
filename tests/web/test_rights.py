"""What the screen says must be true: who may post, edit, read and set what (issues 10, 11)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yarl

from meshchat import app
from meshchat.app import RunningNode
from tests.mesh import QUICK, eventually, link, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient, node_config, start_node

PASS = "correct horse battery staple"


@pytest.fixture
async def clients(node: RunningNode) -> AsyncIterator[list[ApiClient]]:
    """Three browsers of one node, each with its own cookies."""
    made = [ApiClient(node.url) for _ in range(3)]
    yield made
    for client in made:
        await client.close()


async def test_a_bound_callsign_cannot_log_in_without_its_passphrase(
    clients: list[ApiClient],
) -> None:
    owner, impostor, _ = clients
    assert (await owner.login("K2ABC", PASS)).status == 200
    assert (await owner.post("the real K2ABC")).status == 201
    refused = await impostor.login("K2ABC")
    assert refused.status == 403 and refused.body["error"] == "passphrase_required"
    assert "passphrase" in refused.body["detail"]
    # With the passphrase it is the same key, on any node: welcome.
    assert (await impostor.login("K2ABC", PASS)).status == 200


async def test_a_callsign_only_message_is_changed_only_from_its_browser(
    node: RunningNode, clients: list[ApiClient]
) -> None:
    mine, same_callsign, _ = clients
    await mine.login("W1AW")
    await same_callsign.login("W1AW")  # another browser typing the same callsign
    posted = await mine.post("mine alone")
    target = posted.body["id"]
    other = await same_callsign.request(
        "PATCH", f"/api/v1/messages/{target}", json={"text": "taken over"}
    )
    assert other.status == 403 and other.body["error"] == "not_author"
    assert (await same_callsign.request("DELETE", f"/api/v1/messages/{target}")).status == 403
    edited = await mine.request("PATCH", f"/api/v1/messages/{target}", json={"text": "still mine"})
    assert edited.status == 201
    texts = [m["text"] for m in await mine.messages()]
    assert "still mine" in texts and "taken over" not in texts


async def test_pages_say_which_messages_the_session_may_change(clients: list[ApiClient]) -> None:
    mine, same_callsign, keyed = clients
    await mine.login("W1AW")
    await same_callsign.login("W1AW")
    await keyed.login("K1KEY", PASS)
    ours = (await mine.post("from my browser")).body["id"]
    theirs = (await same_callsign.post("from the other browser")).body["id"]
    signed = (await keyed.post("signed")).body["id"]

    async def yours(api: ApiClient, **params: str) -> set[str]:
        reply = await api.request("GET", "/api/v1/messages", params=params)
        assert reply.status == 200, reply
        return set(reply.body["yours"])

    assert await yours(mine) == {ours}
    assert await yours(same_callsign) == {theirs}
    assert await yours(keyed) == {signed}
    assert await yours(mine, q="browser") == {ours}  # search pages say it too
    assert await yours(mine, thread=ours) == {ours}
    await mine.request("DELETE", f"/api/v1/messages/{ours}")
    assert await yours(mine) == set()  # nothing left to change on a deleted message


async def test_the_topic_is_the_owners_to_set(clients: list[ApiClient]) -> None:
    owner, other, _ = clients
    await owner.login("W1AW", PASS)
    await other.login("K1ABC", PASS)
    made = await owner.request("POST", "/api/v1/channels", json={"name": "ops", "topic": "nets"})
    assert made.status == 201
    taken = await other.request("POST", "/api/v1/channels", json={"name": "ops", "topic": "mine"})
    assert taken.status == 403 and taken.body["error"] == "not_channel_owner"
    channels = (await other.request("GET", "/api/v1/channels")).body["channels"]
    assert [c["topic"] for c in channels if c["name"] == "ops"] == ["nets"]


async def test_direct_messages_of_a_bound_callsign_need_its_key(
    clients: list[ApiClient],
) -> None:
    owner, friend, early = clients
    await early.login("K2ABC")  # a callsign-only session from before the binding
    await owner.login("K2ABC", PASS)
    await owner.post("bound now")
    await friend.login("W1AW", PASS)
    assert (await friend.post("for you only", to="K2ABC")).status == 201
    reply = await owner.request("GET", "/api/v1/messages", params={"dm": "W1AW"})
    assert [m["text"] for m in reply.body["messages"]] == ["for you only"]
    sneaky = await early.request("GET", "/api/v1/messages", params={"dm": "W1AW"})
    assert sneaky.status == 403 and sneaky.body["error"] == "passphrase_required"
    listed = await early.request("GET", "/api/v1/dms")
    assert listed.status == 403


async def test_sessions_survive_a_restart_and_a_passphrase_key_is_not_on_disk(
    tmp_path: Path,
) -> None:
    node = await start_node(tmp_path / "n")
    api = ApiClient(node.url)
    try:
        login = await api.login("W1AW", PASS)
        key = login.body["key"]
        cookies = api.http.cookie_jar.filter_cookies(yarl.URL(node.url))
        await node.stop()
        node = await app.start(node.node.config)
        api.base = node.url
        # The cookie jar is keyed by host, and the node came back on another port.
        api.http.cookie_jar.update_cookies(cookies, yarl.URL(node.url))
        again = await api.request("GET", "/api/v1/session")
        assert again.status == 200 and again.body["key"] == key
        posted = await api.post("after the restart")
        assert posted.status == 201
        (shown,) = [m for m in await api.messages() if m["text"] == "after the restart"]
        assert shown["verified"] == "key"  # signed with the user's own key, restored
    finally:
        await api.close()
        await node.stop()
    # Neither the passphrase nor the key derived from it is in the database or its WAL.
    from meshchat import identity

    seed = bytes(identity.derive_user_key("W1AW", PASS))
    for name in ("meshchat.db", "meshchat.db-wal"):
        path = tmp_path / "n" / name
        data = path.read_bytes() if path.exists() else b""
        assert seed not in data and PASS.encode() not in data


async def test_logout_closes_every_tab_of_the_session_at_once(client: ApiClient) -> None:
    await client.login("W1AW")
    tabs = [await client.http.ws_connect(client.base + "/api/v1/ws") for _ in range(2)]
    assert (await client.request("POST", "/api/v1/logout")).status == 200
    for tab in tabs:
        while True:
            frame = await asyncio.wait_for(tab.receive(), 5.0)
            if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                break
        assert tab.closed


async def test_a_page_of_another_origin_is_refused(client: ApiClient) -> None:
    await client.login("W1AW")
    evil = {"Origin": "http://127.0.0.1:1"}  # another port of the same host: same site
    async with client.http.get(client.base + "/api/v1/ws", headers=evil) as resp:
        assert resp.status == 403
    posted = await client.request("POST", "/api/v1/messages", json={"channel": "", "text": "x"},
                                  headers=evil)  # fmt: skip
    assert posted.status == 403 and posted.body["error"] == "bad_origin"
    host = client.base.removeprefix("http://")
    ok = await client.request(
        "POST",
        "/api/v1/messages",
        json={"channel": "", "text": "from this page"},
        headers={"Origin": f"http://{host}"},
    )
    assert ok.status == 201


async def test_a_login_alone_is_not_presence(node: RunningNode, client: ApiClient) -> None:
    await client.login("W1AW")
    await client.post("from a script")
    assert node.node.presence.local("MeshChat") == []
    tab = await client.http.ws_connect(client.base + "/api/v1/ws")
    try:
        assert [u.callsign for u in node.node.presence.local("MeshChat")] == ["W1AW"]
    finally:
        await tab.close()


async def test_key_derivations_wait_in_a_bounded_queue(
    node: RunningNode, client: ApiClient
) -> None:
    node.node.sessions.kdf_queue.bound = 0  # as if four derivations were already waiting
    busy = await client.login("W1AW", PASS)
    assert busy.status == 429 and busy.body["error"] == "busy"


async def test_a_node_behind_a_password_shows_nothing_without_it(tmp_path: Path) -> None:
    cfg = node_config(tmp_path / "n", web__access="password", web__password="club-only-pw")
    node = await app.start(cfg)
    api = ApiClient(node.url)
    try:
        assert (await api.request("GET", "/api/v1/messages")).status == 401
        assert (await api.request("GET", "/api/v1/presence")).status == 401
        public = (await api.request("GET", "/api/v1/status")).body
        assert set(public) == {"node", "zones", "access"} and "peers" not in public
        assert (await api.login("W1AW")).status == 403
        reply = await api.request(
            "POST", "/api/v1/login", json={"callsign": "W1AW", "password": "club-only-pw"}
        )
        assert reply.status == 200
        api.csrf = reply.body["csrf_token"]
        assert (await api.request("GET", "/api/v1/messages")).status == 200
        assert "peers" in (await api.request("GET", "/api/v1/status")).body
    finally:
        await api.close()
        await node.stop()


async def test_the_online_list_marks_a_session_without_the_callsigns_key(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 2, QUICK)
    impostor, real = ApiClient(nodes[1].url), ApiClient(nodes[0].url)
    try:
        link(*nodes)
        await wait_live(nodes)
        await impostor.login("K2ABC")  # before anyone's key binds it
        impostor_tab = await impostor.http.ws_connect(impostor.base + "/api/v1/ws")
        await real.login("K2ABC", PASS)
        real_tab = await real.http.ws_connect(real.base + "/api/v1/ws")
        assert (await real.post("the real one")).status == 201

        async def marked() -> bool:
            listed = (await real.request("GET", "/api/v1/presence")).body["users"]
            return {(u["node"], u["verified"]) for u in listed if u["callsign"] == "K2ABC"} == {
                ("n0", "key"),
                ("n1", "conflict"),
            }

        await eventually(marked, what="the impostor marked on the real one's node")
        await impostor_tab.close()
        await real_tab.close()
    finally:
        await impostor.close()
        await real.close()
        await stop_all(nodes)
