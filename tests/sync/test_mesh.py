"""Several nodes on loopback: push across hops, restarts, bootstrap, convergence, status."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from meshchat.app import RunningNode
from meshchat.sync import session
from meshchat.sync.server import SyncServer
from tests.factories import make_record
from tests.mesh import (
    PUSH_ONLY,
    QUICK,
    ZONE,
    count,
    eventually,
    ids,
    line,
    link,
    quiet,
    restart,
    ring,
    same_ids,
    start_nodes,
    stop_all,
    wait_live,
    watch_deliveries,
)
from tests.nodes import ApiClient

PEER_FIELDS = {
    "url",
    "kind",
    "source",
    "last_seen",
    "last_sync",
    "failures",
    "backoff_s",
    "bytes_in",
    "bytes_out",
    "records_in",
    "records_out",
}


async def post_via_api(node: RunningNode, text: str, callsign: str = "W1AW") -> bytes:
    """Log in on ``node``, post ``text`` and return the new record's id."""
    api = ApiClient(node.url)
    try:
        assert (await api.login(callsign)).status == 200
        posted = await api.post(text)
    finally:
        await api.close()
    assert posted.status == 201, posted
    return bytes.fromhex(posted.body["id"])


async def add_records(node: RunningNode, n: int, **body: Any) -> list[bytes]:
    """Store ``n`` new messages on ``node`` as if posted there; return their ids."""
    made = [make_record(text=f"{body.pop('text', 'note')} {i}", **body) for i in range(n)]
    results = await node.node.ingestor.submit([r.envelope for r in made], "local")
    assert results == ["ok"] * n
    return [r.id for r in made]


@pytest.mark.parametrize(("shape", "size"), [("line", 3), ("line", 5), ("ring", 5)])
async def test_post_crosses_the_mesh_by_push_alone(tmp_path: Path, shape: str, size: int) -> None:
    nodes = await start_nodes(tmp_path, size, PUSH_ONLY)
    try:
        (ring if shape == "ring" else line)(nodes)
        await wait_live(nodes)
        # The startup rounds spread every node's announcement; only then start watching.
        await eventually(lambda: same_ids(nodes, size), what="announcements spread")

        async def first_rounds_done() -> bool:
            return all(p.last_sync is not None for n in nodes for p in n.node.peers.all())

        await eventually(first_rounds_done, what="every first round finished")
        await quiet(nodes)  # a round sets last_sync before its presence exchange
        rounds = [(p.url, p.last_sync) for n in nodes for p in n.node.peers.all()]
        deliveries = watch_deliveries(nodes)

        posted = await post_via_api(nodes[0], f"across a {shape} of {size}")

        async def everywhere() -> bool:
            return all([posted in await ids(n) for n in nodes])

        await eventually(everywhere, what="push delivery to the far end")
        assert await same_ids(nodes, size + 1)  # each node holds it exactly once

        # A line hands the record over once per link. In a ring the startup announcements
        # already pruned the link where their waves met (a node's last eager link is kept,
        # so the ring is left a line or, mid-repair, a ring): once per link of that tree,
        # plus at most the two duplicates where two waves meet.
        await quiet(nodes)  # every push that will happen has happened
        got = deliveries.of(posted)
        if shape == "line":
            assert len(got) == size - 1, got
        else:
            assert size - 1 <= len(got) <= size + 1, got
            assert len(got) - sum(d.result == "ok" for d in got) <= 2, got
        # No anti-entropy round ran after the post: push alone carried it.
        assert [(p.url, p.last_sync) for n in nodes for p in n.node.peers.all()] == rounds
        oks = [d for d in got if d.result == "ok"]
        assert sorted(d.receiver for d in oks) == [f"n{i}" for i in range(1, size)]
        assert all(d.receiver != "n0" for d in got), "a record came back to its author node"
        # Nobody pushes a record back to the node it came from.
        for d in oks:
            assert not any(e.sender == d.receiver and e.receiver == d.sender for e in got), got
    finally:
        await stop_all(nodes)


async def test_restarted_node_catches_up(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 3, PUSH_ONLY)
    try:
        line(nodes)
        await wait_live(nodes)
        before = await add_records(nodes[0], 3, text="before")
        await eventually(lambda: same_ids(nodes, 3 + 3), what="first posts spread")

        old_url = nodes[2].url
        await nodes[2].stop()
        meanwhile = await add_records(nodes[0], 5, text="from n0 meanwhile")
        meanwhile += await add_records(nodes[1], 5, text="from n1 meanwhile")
        await eventually(lambda: same_ids(nodes[:2], 3 + 3 + 10), what="posts between n0, n1")

        nodes[2] = await restart(nodes[2], PUSH_ONLY)
        assert nodes[2].url != old_url
        assert set(before) <= set(await ids(nodes[2]))  # its history survived the restart
        await nodes[1].node.scheduler.remove_peer(old_url)
        link(nodes[1], nodes[2])

        await eventually(lambda: same_ids(nodes, 3 + 3 + 10), what="the restarted node caught up")
        held = await ids(nodes[2])
        assert set(before + meanwhile) <= set(held)
        assert sorted(held) == sorted(await ids(nodes[0])) == sorted(await ids(nodes[1]))
    finally:
        await stop_all(nodes)


async def test_new_node_bootstraps_by_range_then_reconciles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[str, str]] = []
    original_range, original_reconcile = SyncServer.range, SyncServer.reconcile

    async def counting_range(self: SyncServer, request: Any) -> Any:
        served.append((self.config.node.name, "range"))
        return await original_range(self, request)

    async def counting_reconcile(self: SyncServer, request: Any) -> Any:
        served.append((self.config.node.name, "reconcile"))
        return await original_reconcile(self, request)

    monkeypatch.setattr(SyncServer, "range", counting_range)
    monkeypatch.setattr(SyncServer, "reconcile", counting_reconcile)
    monkeypatch.setattr(session, "RANGE_PAGE", 16)  # 40 records take several pages

    (old,) = await start_nodes(tmp_path / "old", 1, PUSH_ONLY)
    nodes = [old]
    try:
        history = await add_records(old, 40, text="history")
        (new,) = await start_nodes(tmp_path / "new", 1, PUSH_ONLY)
        nodes.append(new)
        assert await count(new) == 1  # only its own announcement
        new.node.scheduler.add_peer(old.url, "static")

        await eventually(lambda: same_ids(nodes, 40 + 2), what="bootstrap and reconcile")
        assert set(history) <= set(await ids(new))
        pages = [call for name, call in served if name == "n0" and call == "range"]
        assert len(pages) >= 3, served  # ceil(41 / 16) pages of the old node's history
        # Reconciliation ran after the bootstrap: the old node got the new one's record.
        assert ("n0", "reconcile") in served
        assert served.index(("n0", "reconcile")) > served.index(("n0", "range"))
        cursor = await new.node.store.meta_get(f"bootstrap:{ZONE}:{old.url}")
        assert cursor == ""  # finished, not left half-way
    finally:
        await stop_all(nodes)


async def test_random_posts_converge(tmp_path: Path) -> None:
    rng = random.Random(20240611)
    nodes = await start_nodes(tmp_path, 4, QUICK)
    try:
        total = 4  # the announcements
        for node in nodes:  # history each node had before it met the others
            n = rng.randint(0, 12)
            total += len(await add_records(node, n, text=f"alone on {node.url}"))
        line(nodes)
        link(nodes[0], nodes[2])
        for i in range(30):
            total += len(await add_records(rng.choice(nodes), 1, text=f"live {i}"))
            if rng.random() < 0.3:
                await asyncio.sleep(0.02)  # let some pushes through between posts

        await eventually(lambda: same_ids(nodes, total), what="convergence")
    finally:
        await stop_all(nodes)


async def test_status_lists_peers(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 2, QUICK)
    try:
        line(nodes)
        await wait_live(nodes)
        await eventually(lambda: same_ids(nodes, 2), what="announcements exchanged")
        pushed_before = nodes[0].node.peers.all()[0].records_out
        received_before = nodes[1].node.peers.all()[0].records_in
        posted = await post_via_api(nodes[0], "counted")

        async def arrived() -> bool:
            return posted in await ids(nodes[1])

        await eventually(arrived, what="delivery")
        statuses = []
        for node in nodes:
            api = ApiClient(node.url)
            try:
                reply = await api.request("GET", "/api/v1/status")
            finally:
                await api.close()
            assert reply.status == 200
            statuses.append(reply.body["peers"])
        for peers, other in zip(statuses, reversed(nodes), strict=True):
            assert len(peers) == 1
            (peer,) = peers
            assert set(peer) >= PEER_FIELDS
            assert peer["url"] == other.url
            assert (peer["kind"], peer["source"]) == ("native", "static")
            assert peer["last_seen"] is not None and peer["last_sync"] is not None
            assert (peer["failures"], peer["backoff_s"]) == (0, 0)
            assert peer["bytes_in"] > 0 and peer["bytes_out"] > 0
        # n0 pushed the post to n1, and n1 counts it as received from n0.
        assert statuses[0][0]["records_out"] == pushed_before + 1
        assert statuses[1][0]["records_in"] == received_before + 1
    finally:
        await stop_all(nodes)


async def test_a_node_back_from_away_pages_in_only_what_it_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[int] = []
    original_range = SyncServer.range

    async def counting_range(self: SyncServer, request: Any) -> Any:
        pages.append(int(request.query["after_ts"]))
        return await original_range(self, request)

    monkeypatch.setattr(SyncServer, "range", counting_range)
    monkeypatch.setattr(session, "RANGE_PAGE", 16)
    monkeypatch.setattr(session, "CATCH_UP_MIN", 10)

    hub, away = await start_nodes(tmp_path, 2, PUSH_ONLY)
    nodes = [hub, away]
    try:
        # Common history from an hour ago, then the away node leaves.
        hour_ago = make_record(text="probe").ts - 3_600_000
        common = [make_record(ts=hour_ago + i, text=f"old {i}") for i in range(100)]
        for node in nodes:
            assert await node.node.ingestor.submit([r.envelope for r in common], "local")
        await away.stop()
        missed = await add_records(hub, 40, text="while away")
        pages.clear()

        away = await restart(away)
        nodes[1] = away
        away.node.scheduler.add_peer(hub.url, "static")
        await eventually(lambda: same_ids(nodes, 100 + 40 + 2), what="catch-up")
        assert set(missed) <= set(await ids(away))
        # Paged from its own newest record on: 40 records in 16s, not all 140.
        assert 1 <= len(pages) <= 4, pages
        assert min(pages) > hour_ago + 99 - session.CATCH_UP_SKEW_MS
    finally:
        await stop_all(nodes)
