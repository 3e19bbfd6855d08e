"""A peer link's lifecycle: probing, the info cache, and the tasks it owns."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from meshchat.sync.server import SyncServer
from tests.mesh import QUICK, eventually, link, start_nodes, stop_all, sync_rounds, wait_live


def sync_tasks() -> set[str]:
    """Return the names of the running tasks that work for a peer link or gossip."""
    names = {t.get_name() for t in asyncio.all_tasks() if not t.done()}
    return {n for n in names if n.split(" ")[0] in ("sync", "push", "typing")}


@pytest.mark.parametrize("info_every_s", [600.0, 0.0])
async def test_a_healthy_peers_info_is_read_once_per_info_every_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, info_every_s: float
) -> None:
    asked: list[str] = []
    original = SyncServer.info

    async def counting_info(self: SyncServer, request: Any) -> Any:
        asked.append(self.config.node.name)
        return await original(self, request)

    monkeypatch.setattr(SyncServer, "info", counting_info)
    timing = dataclasses.replace(QUICK, info_every_s=info_every_s)
    caller, callee = await start_nodes(tmp_path, 2, timing)
    try:
        caller.node.scheduler.add_peer(callee.url, "static")  # one way: only n1 is asked
        await wait_live([caller])
        await sync_rounds(caller, 3)
        if info_every_s:
            # The first round probed the unknown peer with the one info call it needs.
            assert asked == ["n1"]
        else:
            # Every round reads it again (the probe's round may be among the three).
            assert len(asked) >= 3
    finally:
        await stop_all([caller, callee])


async def test_remove_peer_and_stop_cancel_and_await_every_task(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 3, QUICK)
    hub, a, b = nodes
    try:
        link(hub, a)
        link(hub, b)
        await wait_live(nodes)
        assert {f"sync {a.url}", f"push {a.url}", f"sync {b.url}"} <= sync_tasks()

        await hub.node.scheduler.remove_peer(a.url)
        # Gone at once, not just asked to stop: remove_peer awaited them.
        assert a.url not in hub.node.scheduler.links
        assert not {f"sync {a.url}", f"push {a.url}", f"typing {a.url}"} & sync_tasks()
        assert {f"sync {b.url}", f"push {b.url}"} <= sync_tasks()  # the other link runs on

        await hub.node.scheduler.stop()
        assert not hub.node.scheduler.links
        own = {f"sync {b.url}", f"push {b.url}", f"typing {b.url}"}
        assert not own & sync_tasks()
    finally:
        await stop_all(nodes)


async def test_a_link_is_idle_between_rounds(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 2, dataclasses.replace(QUICK, sync_interval_s=3600.0))
    try:
        link(*nodes)
        await wait_live(nodes)

        async def idle() -> bool:
            return all(lk.idle for n in nodes for lk in n.node.scheduler.links.values())

        await eventually(idle, what="both links idle after their first rounds")
        (one,) = nodes[0].node.scheduler.links.values()
        one.trigger()
        assert not one.idle  # a round is due at once
        await eventually(idle, what="the triggered round done")
    finally:
        await stop_all(nodes)
