"""Dissemination on loopback: a tree of eager links, ids elsewhere, one-way peering."""

from __future__ import annotations

import itertools
from pathlib import Path

from meshchat.app import RunningNode
from tests.mesh import (
    PUSH_ONLY,
    eventually,
    ids,
    link,
    quiet,
    same_ids,
    start_nodes,
    stop_all,
    wait_live,
    watch_deliveries,
)
from tests.nodes import ApiClient


async def post(node: RunningNode, text: str) -> bytes:
    """Post ``text`` on ``node`` through its API; return the record id."""
    api = ApiClient(node.url)
    try:
        assert (await api.login("W1AW")).status == 200
        reply = await api.post(text)
        assert reply.status == 201, reply
        return bytes.fromhex(reply.body["id"])
    finally:
        await api.close()


async def everywhere(nodes: list[RunningNode], record_id: bytes) -> None:
    """Wait until every node holds ``record_id``."""

    async def held() -> bool:
        return all([record_id in await ids(n) for n in nodes])

    await eventually(held, within=10.0, what="delivery everywhere")


async def test_a_full_mesh_prunes_to_a_tree(tmp_path: Path) -> None:
    """After the first message, each record crosses each node once: N - 1 hand-overs."""
    nodes = await start_nodes(tmp_path, 5, PUSH_ONLY)
    try:
        for a, b in itertools.combinations(nodes, 2):
            link(a, b)
        await wait_live(nodes)
        await eventually(lambda: same_ids(nodes, 5), what="announcements spread")
        for k in range(3):  # the first floods and prunes; the rest may settle it
            await everywhere(nodes, await post(nodes[k], f"warm-up {k}"))
            await quiet(nodes)
        deliveries = watch_deliveries(nodes)
        for k in range(3):
            posted = await post(nodes[k + 1], f"along the tree {k}")
            await everywhere(nodes, posted)
            await quiet(nodes)
            got = deliveries.of(posted)
            assert sorted(d.receiver for d in got if d.result == "ok") == sorted(
                n.node.config.node.name for i, n in enumerate(nodes) if i != k + 1
            )
            assert [d for d in got if d.result == "dup"] == [], got
        eager = sum(link.mode.eager for n in nodes for link in n.node.scheduler.links.values())
        assert eager == 2 * (len(nodes) - 1)  # a spanning tree, both ends of each edge
    finally:
        await stop_all(nodes)


async def test_one_way_peering_delivers_both_ways_and_lists_the_caller(tmp_path: Path) -> None:
    """Only n1 knows n0: n0's posts still reach n1 at once (the watch), and n0 lists n1."""
    nodes = await start_nodes(tmp_path, 2, PUSH_ONLY)
    a, b = nodes
    try:
        b.node.scheduler.add_peer(a.url, "static")
        await wait_live([b])
        await eventually(lambda: same_ids(nodes, 2), what="first round")

        async def watching() -> bool:
            return any(e["watching"] for e in a.node.scheduler.inbound())

        await eventually(watching, within=10.0, what="n1 holds a watch on n0")
        await everywhere(nodes, await post(a, "from the callee"))
        await everywhere(nodes, await post(b, "from the caller"))

        api = ApiClient(a.url)
        try:
            status = (await api.request("GET", "/api/v1/status")).body
        finally:
            await api.close()
        assert status["peers"] == []
        (caller,) = status["inbound"]
        assert caller["node_id"] == b.node.key_hex
        assert caller["address"] == "127.0.0.1"
        assert caller["watching"] is True
        assert caller["last_called"] > 0
    finally:
        await stop_all(nodes)
