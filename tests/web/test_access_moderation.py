"""Zone moderation on two nodes: one trusts the operator, one does not; local hides (§10)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from meshchat import app, identity
from meshchat.app import RunningNode
from tests.mesh import QUICK, eventually, for_config, link, wait_live
from tests.nodes import ApiClient, node_config

PASS = "correct horse battery staple"
ZONE = "MeshChat"


@pytest.fixture(scope="module")
def moderator_key() -> str:
    """The key W1MOD's passphrase derives (what a config names)."""
    return bytes(identity.derive_user_key("W1MOD", PASS).verify_key).hex()


@pytest.fixture
async def pair(tmp_path: Path, moderator_key: str) -> AsyncIterator[list[RunningNode]]:
    """n0 trusts W1MOD as a zone operator; n1 trusts nobody but has N1OPS as node operator."""
    node_ops = bytes(identity.derive_user_key("N1OPS", PASS).verify_key).hex()
    configs = [
        node_config(tmp_path / "n0", node__name="n0", zone__operators=(moderator_key,)),
        node_config(tmp_path / "n1", node__name="n1", node__operators=(node_ops,)),
    ]
    nodes = [await app.start(cfg, for_config(QUICK, cfg)) for cfg in configs]
    link(*nodes)
    await wait_live(nodes)
    yield nodes
    for node in nodes:
        await node.stop()


async def logged_in(node: RunningNode, callsign: str, passphrase: str | None = PASS) -> ApiClient:
    api = ApiClient(node.url)
    assert (await api.login(callsign, passphrase)).status == 200
    return api


async def texts(api: ApiClient, **params: Any) -> list[str]:
    return [m["text"] for m in await api.messages(**params)]


async def moderate(api: ApiClient, **body: Any) -> Any:
    return await api.request("POST", "/api/v1/moderation", json=body)


async def test_a_hide_applies_where_the_operator_is_trusted_and_nowhere_else(
    pair: list[RunningNode],
) -> None:
    n0, n1 = pair
    author, mod = await logged_in(n0, "K1ABC"), await logged_in(n0, "W1MOD")
    reader0, reader1 = await logged_in(n0, "N0CALL"), await logged_in(n1, "N0CALL")
    mod1 = await logged_in(n1, "W1MOD")
    try:
        spam = await author.post("buy my antenna")
        await author.post("a fine message")
        hid = await moderate(mod, target=spam.body["id"], action="hide", reason="spam")
        assert hid.status == 201
        assert await texts(reader0) == ["a fine message"]
        mine = {m["text"]: m["hidden"] for m in await author.messages()}
        assert mine == {"buy my antenna": "zone", "a fine message": None}
        listed = (await mod.request("GET", "/api/v1/moderation")).body
        assert listed["zone_operator"] is True
        assert listed["hidden"] == [{"id": spam.body["id"], "by": "zone"}]

        async def arrived() -> bool:
            return await n1.node.store.get_record(bytes.fromhex(hid.body["id"])) is not None

        await eventually(arrived, 10, "the hide record reached n1")
        assert await texts(reader1) == ["buy my antenna", "a fine message"]
        refused = await moderate(mod1, target=spam.body["id"], action="hide")
        assert refused.status == 403 and refused.body["error"] == "not_zone_operator"
        not_op = await moderate(reader0, target=spam.body["id"], action="hide")
        assert not_op.status == 403
        # Taking it back shows the message again.
        undo = await moderate(mod, target=spam.body["id"], action="unhide")
        assert undo.status == 201
        assert await texts(reader0) == ["buy my antenna", "a fine message"]
    finally:
        for api in (author, mod, reader0, reader1, mod1):
            await api.close()


async def test_a_ban_hides_every_record_of_the_key_where_trusted(pair: list[RunningNode]) -> None:
    n0, n1 = pair
    troll, mod = await logged_in(n0, "K9TRL"), await logged_in(n0, "W1MOD")
    reader0, reader1 = await logged_in(n0, "N0CALL"), await logged_in(n1, "N0CALL")
    try:
        await troll.post("one")
        await reader0.post("mine")
        ban = await moderate(mod, author=await troll_key(troll), action="ban")
        assert ban.status == 201
        await troll.post("two, after the ban")
        assert await texts(reader0) == ["mine"]
        assert [m["hidden"] for m in await troll.messages() if m["callsign"] == "K9TRL"] == [
            "zone",
            "zone",
        ]

        async def two_there() -> bool:
            return len(await texts(reader1)) == 3

        await eventually(two_there, 10, "n1 shows all three")
        unban = await moderate(mod, author=await troll_key(troll), action="unban")
        assert unban.status == 201
        assert len(await texts(reader0)) == 3
    finally:
        for api in (troll, mod, reader0, reader1):
            await api.close()


async def troll_key(api: ApiClient) -> str:
    session = await api.request("GET", "/api/v1/session")
    key: str = session.body["key"]
    return key


async def test_a_local_hide_stays_on_its_node_and_out_of_the_log(pair: list[RunningNode]) -> None:
    n0, n1 = pair
    author = await logged_in(n0, "K1ABC")
    ops1, reader0 = await logged_in(n1, "N1OPS"), await logged_in(n0, "N0CALL")
    reader1 = await logged_in(n1, "N0CALL")
    try:
        posted = await author.post("rude words")
        target = posted.body["id"]

        async def on_n1() -> bool:
            return await n1.node.store.get_record(bytes.fromhex(target)) is not None

        await eventually(on_n1, 10, "the message reached n1")
        before = (await n1.node.store.counts())[ZONE]
        zone_wide = await moderate(ops1, target=target, action="hide")
        assert zone_wide.status == 403  # a node operator is no zone operator
        hid = await moderate(ops1, target=target, action="hide", scope="node")
        assert hid.status == 201 and hid.body["scope"] == "node"
        assert (await n1.node.store.counts())[ZONE] == before  # nothing entered the log
        assert await texts(reader1) == []
        assert await texts(reader0) == ["rude words"]
        stranger = await moderate(reader1, target=target, action="hide", scope="node")
        assert stranger.status == 403 and stranger.body["error"] == "not_node_operator"
        shown = await moderate(ops1, target=target, action="unhide", scope="node")
        assert shown.status == 200 and await texts(reader1) == ["rude words"]
    finally:
        for api in (author, ops1, reader0, reader1):
            await api.close()


async def test_a_callsign_only_login_moderates_nothing(pair: list[RunningNode]) -> None:
    via = await logged_in(pair[0], "W1MOD", None)
    try:
        posted = await via.post("hello")
        refused = await moderate(via, target=posted.body["id"], action="hide")
        assert refused.status == 403 and refused.body["error"] == "key_required"
    finally:
        await via.close()


async def test_live_sockets_drop_what_is_hidden_and_banned(pair: list[RunningNode]) -> None:
    n0 = pair[0]
    apis = [await logged_in(n0, c) for c in ("K1ABC", "W1MOD", "N0CALL")]
    author_api, mod_api, reader_api = apis
    sockets = []
    try:
        for api in (author_api, reader_api):
            ws = await api.http.ws_connect(api.base + "/api/v1/ws")
            await next_frame(ws, "hello")
            sockets.append(ws)
        author_ws, reader_ws = sockets
        spam = await author_api.post("spam")
        await moderate(mod_api, target=spam.body["id"], action="hide")
        assert (await next_frame(reader_ws, "hidden"))["id"] == spam.body["id"]
        update = await next_frame(author_ws, "update")
        assert update["message"]["hidden"] == "zone"  # its author is told
        key = await troll_key(author_api)
        await moderate(mod_api, author=key, action="ban")
        assert (await next_frame(reader_ws, "banned"))["author"] == key
    finally:
        for ws in sockets:
            await ws.close()
        for api in apis:
            await api.close()


async def next_frame(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), 10)
        if frame["type"] == kind:
            return dict(frame)
