"""Importing a peer's lines: floods, the per-peer budget, lines seen before, retries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from meshchat.app import RunningNode
from meshchat.legacy.importer import IMPORTS_PER_HOUR, SeenLines
from tests.factories import legacy_line
from tests.legacy.helpers import start_legacy_node


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    running = await start_legacy_node(tmp_path, "gw", legacy__max_lines=500)
    try:
        yield running
    finally:
        await running.stop()


def body(count: int, start: int = 0, epoch: int | None = None) -> bytes:
    at = epoch or int(time.time()) - 3600
    lines = [
        legacy_line(epoch=at + i, line_id=f"{i:08x}", text=f"m{i}")
        for i in range(start, start + count)
    ]
    return "".join(f"{line}\n" for line in lines).encode()


def test_the_budget_refills_by_the_hour() -> None:
    now = [0.0]
    seen = SeenLines(10, burst=100, clock=lambda: now[0])
    assert seen.allowance(150) == 100
    assert seen.allowance(1) == 0
    now[0] += 3600 / IMPORTS_PER_HOUR * 10  # ten lines' worth of time
    assert seen.allowance(50) == 10
    now[0] += 10 * 3600
    assert seen.allowance(1000) == 100  # never more than the burst


def test_the_memory_of_lines_is_bounded() -> None:
    seen = SeenLines(3, burst=1)
    for key in (b"a", b"b", b"c", b"d"):
        seen.add(key)
    assert b"a" not in seen and b"d" in seen


async def test_a_flood_is_cut_to_the_newest_lines_and_counted(node: RunningNode) -> None:
    importer = node.node.legacy.poller.importer
    seen = importer.seen_lines()
    assert await importer.take("http://flood", body(1200), seen) == 500
    stats = node.node.legacy.stats
    assert stats.events["flood"] == 700 and stats.events["imported"] == 500
    # The same answer again: nothing new, nothing looked up twice.
    assert await importer.take("http://flood", body(1200), seen) == 0
    assert stats.events["known"] == 0


async def test_over_the_budget_lines_wait_and_the_answer_is_looked_at_again(
    node: RunningNode,
) -> None:
    importer = node.node.legacy.poller.importer
    now = [0.0]
    seen = SeenLines(4000, burst=300, clock=lambda: now[0])
    assert await importer.take("http://busy", body(500), seen) == 300
    assert not seen.complete and node.node.legacy.stats.events["rate_limited"] == 200
    now[0] += 3600  # an hour on: the budget is full again
    assert await importer.take("http://busy", body(500), seen) == 200
    assert seen.complete


async def test_a_line_a_little_ahead_is_taken_once_its_time_comes(node: RunningNode) -> None:
    importer = node.node.legacy.poller.importer
    seen = importer.seen_lines()
    ahead = body(1, epoch=int(time.time()) + 3600)  # an hour ahead: ingest refuses it now
    assert await importer.take("http://skewed", ahead, seen) == 0
    assert not seen.complete and node.node.legacy.stats.refused["future"] == 1
    assert await importer.take("http://skewed", ahead, seen) == 0
    assert node.node.legacy.stats.refused["future"] == 2  # looked at again, not forgotten
