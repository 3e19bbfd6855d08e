"""The status page's picture of the zone: every node, not only the direct peers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from meshchat.presence import PresenceEntry
from meshchat.store.nodemap import LoggedNode
from meshchat.web.zonemap import zone_nodes
from tests import factories
from tests.mesh import QUICK, eventually, line, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient


def test_sources_merge_by_name_and_key() -> None:
    logged = [
        LoggedNode("far", "bb" * 32, "pi", "0.1", announced=1_000, last_message=5_000),
        LoggedNode("old-node", platform="linux", last_message=3_000, legacy=True),
        LoggedNode("me-before", "aa" * 32, announced=10),  # this node under an older name
    ]
    presence = [
        PresenceEntry("W1AW", "far", "online", 1, 7_000),
        PresenceEntry("K1ABC", "far", "away", 1, 6_000),
        PresenceEntry("N0CALL", "me", "online", 1, 9_000),
    ]
    peers = [
        {
            "url": "http://10.0.0.2:8080",
            "node_id": "cc" * 32,
            "name": "near",
            "kind": "native",
            "last_seen": 8.0,
            "last_sync": 8.5,
        }
    ]
    nodes = {n["name"]: n for n in zone_nodes("me", "aa" * 32, 10_000, logged, presence, peers)}
    assert list(nodes) == ["me", "far", "near", "old-node"]
    assert (nodes["me"]["self"], nodes["me"]["users"], nodes["me"]["heard_by"]) == (True, 1, "self")
    assert nodes["far"]["kind"] == "native" and nodes["far"]["peer"] is None
    assert (nodes["far"]["users"], nodes["far"]["callsigns"]) == (2, ["K1ABC", "W1AW"])
    assert (nodes["far"]["last_heard"], nodes["far"]["heard_by"]) == (7_000, "presence")
    assert nodes["near"]["peer"] == "http://10.0.0.2:8080"
    assert (nodes["near"]["last_heard"], nodes["near"]["heard_by"]) == (8_500, "sync")
    assert (nodes["old-node"]["kind"], nodes["old-node"]["heard_by"]) == ("legacy", "message")


async def test_a_node_two_hops_away_is_on_the_map(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 3, QUICK)
    far = ApiClient(nodes[2].url)
    near = ApiClient(nodes[0].url)
    try:
        line(nodes)
        await wait_live(nodes)
        await far.login("W1AW")
        tab = await far.http.ws_connect(far.base + "/api/v1/ws")  # present: a tab is open
        await far.post("from two hops away")
        legacy = factories.make_record(
            "legacy", epoch=int(time.time()), node="FIRESTN", callsign="N0OLD", text="old"
        )
        assert await nodes[1].node.ingestor.submit([legacy.envelope], "local") == ["ok"]

        async def mapped() -> Any:
            reply = await near.request("GET", "/api/v1/status")
            found = {n["name"]: n for n in reply.body["zone_nodes"]["MeshChat"]}
            n2 = found.get("n2")
            if n2 is None or not n2["users"] or "FIRESTN" not in found:
                return None
            return found

        async def ready() -> bool:
            return await mapped() is not None

        await eventually(ready, 15.0, "n2, its user and the legacy node on n0's map")
        found = await mapped()
        assert found["n0"]["self"] is True
        assert found["n1"]["peer"] == nodes[1].url
        assert found["n2"]["peer"] is None  # not a peer of n0: known from the log
        assert (found["n2"]["kind"], found["n2"]["key"]) == ("native", nodes[2].node.key_hex)
        assert found["n2"]["callsigns"] == ["W1AW"]
        await tab.close()
        assert found["FIRESTN"]["kind"] == "legacy"
    finally:
        await far.close()
        await near.close()
        await stop_all(nodes)
