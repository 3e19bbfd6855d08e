"""Retention across peers (DESIGN §2.4): a shorter horizon is neither fed nor resurrected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshchat import app, config
from meshchat.clock import wall_ms
from meshchat.sync.server import SyncServer
from tests.factories import make_record
from tests.mesh import (
    QUICK,
    ZONE,
    eventually,
    for_config,
    ids,
    link,
    start_nodes,
    stop_all,
    sync_rounds,
    wait_live,
)

DAY_MS = 86_400_000
SHORT_DAYS = 7


async def add(node: app.RunningNode, n: int, age_days: float, text: str) -> list[bytes]:
    """Store ``n`` messages ``age_days`` old on ``node`` (as an import would); return ids."""
    ts = wall_ms() - int(age_days * DAY_MS)
    made = [make_record(ts=ts + i, text=f"{text} {i}") for i in range(n)]
    assert await node.node.ingestor.submit([r.envelope for r in made], "import") == ["ok"] * n
    return [r.id for r in made]


async def holds(node: app.RunningNode, wanted: list[bytes]) -> bool:
    """Tell whether ``node`` holds every id in ``wanted``."""
    return set(wanted) <= set(await ids(node))


async def test_short_horizon_node_is_neither_fed_nor_asked_old_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[str] = []
    original = SyncServer.range

    async def counting_range(self: SyncServer, request: Any) -> Any:
        pages.append(self.config.node.name)
        return await original(self, request)

    monkeypatch.setattr(SyncServer, "range", counting_range)
    (long,) = await start_nodes(tmp_path / "long", 1, QUICK)
    nodes = [long]
    try:
        old = await add(long, 30, age_days=30, text="last month")
        recent = await add(long, 5, age_days=1, text="yesterday")
        (short,) = await start_nodes(tmp_path / "short", 1, QUICK, store__max_age_days=SHORT_DAYS)
        nodes.append(short)
        link(long, short)
        await wait_live(nodes)
        await eventually(lambda: holds(short, recent), what="recent history reached the node")
        await sync_rounds(short, 2)
        await sync_rounds(long, 2)

        # Records that become old while both are live are not pushed either.
        old += await add(long, 10, age_days=20, text="imported late")
        marker = await add(long, 1, age_days=0, text="now")
        await eventually(lambda: holds(short, marker), what="the live record pushed")
        await sync_rounds(short, 1)

        held = set(await ids(short))
        assert not held & set(old)
        assert short.node.ingestor.rejects["too_old"] == 0  # nobody offered them
        # The new node paged the history in once, not at every round.
        assert 1 <= pages.count("n0") <= 2, pages
        (peer,) = long.node.peers.all()
        assert peer.records_out <= len(recent) + 2  # never the old ones
    finally:
        await stop_all(nodes)


async def test_pruned_records_are_not_resurrected(tmp_path: Path) -> None:
    (long,) = await start_nodes(tmp_path / "long", 1, QUICK)
    (short,) = await start_nodes(tmp_path / "short", 1, QUICK)
    nodes = [long, short]
    try:
        old = await add(long, 20, age_days=30, text="last month")
        recent = await add(long, 5, age_days=1, text="yesterday")
        link(long, short)
        await eventually(lambda: holds(short, old + recent), what="full history copied")

        # The operator shortens the horizon: the node restarts and prunes.
        short_url = short.url
        await short.stop()
        cfg = config.with_overrides(short.node.config, store__max_age_days=SHORT_DAYS)
        short = nodes[1] = await app.start(cfg, for_config(QUICK, cfg))
        await app.prune_once(short.node)
        assert not set(old) & set(await ids(short))
        assert await holds(short, recent)

        await long.node.scheduler.remove_peer(short_url)
        link(long, short)
        await wait_live(nodes)
        await sync_rounds(short, 3)
        await sync_rounds(long, 3)
        marker = await add(long, 1, age_days=0, text="after the prune")
        await eventually(lambda: holds(short, marker), what="sync still works")

        assert not set(old) & set(await ids(short)), "a peer resurrected pruned records"
        assert short.node.ingestor.rejects["too_old"] == 0
        assert await holds(long, old)  # the long-horizon node keeps its own copy
    finally:
        await stop_all(nodes)


async def test_records_pruned_by_the_record_cap_are_never_asked_for_again(tmp_path: Path) -> None:
    (long,) = await start_nodes(tmp_path / "long", 1, QUICK)
    nodes = [long]
    try:
        old = await add(long, 30, age_days=3, text="older")
        recent = await add(long, 10, age_days=1, text="newer")
        (short,) = await start_nodes(tmp_path / "short", 1, QUICK, store__max_records=12)
        nodes.append(short)
        link(long, short)
        await eventually(lambda: holds(short, old + recent), what="full history copied")
        await app.prune_once(short.node)
        kept = set(await ids(short))
        assert len(kept) == 12 and set(recent) <= kept

        await sync_rounds(short, 3)
        await sync_rounds(long, 3)
        marker = await add(long, 1, age_days=0, text="after the prune")
        await eventually(lambda: holds(short, marker), what="sync still works")
        assert set(await ids(short)) == kept | set(marker), "a peer resurrected pruned records"
        assert short.node.ingestor.rejects["too_old"] == 0  # nobody offered them either
        assert (await short.node.store.counts())[ZONE] == 13

        # The cap holds across a restart, and a record older than what it keeps is refused.
        await short.stop()
        short = nodes[1] = await app.start(short.node.config, for_config(QUICK, short.node.config))
        link(long, short)
        await sync_rounds(short, 2)
        held = set(await ids(short))  # the prune at start took the oldest one more
        assert len(held) == 12 and set(marker) <= held <= kept | set(marker)
        assert short.node.ingestor.rejects["too_old"] == 0
        late = await add(long, 1, age_days=2.5, text="imported late")
        await sync_rounds(short, 2)
        assert not set(late) & set(await ids(short))
        assert short.node.ingestor.rejects["too_old"] == 0  # not even offered: info says so
    finally:
        await stop_all(nodes)
