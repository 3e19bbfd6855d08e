"""POST /api/v1/unread: counts past the floors the browser sends, 4xx for bad floors."""

from __future__ import annotations

import time

from meshchat.app import RunningNode
from tests import factories
from tests.nodes import ApiClient

DAY_MS = 86_400_000


async def test_imported_history_is_not_unread(node: RunningNode, client: ApiClient) -> None:
    assert (await client.request("POST", "/api/v1/unread", json={"floor": 0})).status == 401
    await client.login("W1AW")
    floor = int(time.time() * 1000)
    await client.post("my own word", channel="ops")
    old = [
        factories.make_record(
            ts=floor - 90 * DAY_MS + i, callsign="N0OLD", channel="ops", text=f"old {i}"
        )
        for i in range(78)
    ]
    assert set(await node.node.ingestor.submit([r.envelope for r in old], "local")) == {"ok"}
    other = ApiClient(node.url)
    try:
        await other.login("K1ABC")
        await other.post("said since", channel="ops")
        await other.post("for you", to="W1AW")
    finally:
        await other.close()
    reply = await client.request("POST", "/api/v1/unread", json={"floor": floor})
    assert reply.status == 200
    assert reply.body == {
        "zone": "MeshChat",
        "channels": {"ops": 1},
        "dms": {"K1ABC": 1},
        "cap": 999,
        "seq": await node.node.store.last_seq(),  # live events past it are news
    }
    later = int(time.time() * 1000) + 1
    seen = {"floor": floor, "channels": {"ops": later}, "dms": {"K1ABC": later}}
    reply = await client.request("POST", "/api/v1/unread", json=seen)
    assert (reply.body["channels"], reply.body["dms"]) == ({}, {})
    for bad in (
        {},
        {"floor": -1},
        {"floor": 1, "channels": {"ops": "x"}},
        {"floor": 1, "dms": {"no way": 1}},
    ):
        assert (await client.request("POST", "/api/v1/unread", json=bad)).status == 400, bad
