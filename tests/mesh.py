"""Several full nodes in one test process, linked as a line or a ring (STYLE.md 11)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshchat import app, config
from meshchat.app import RunningNode
from meshchat.records import load_trusted
from meshchat.timing import Timing
from tests.nodes import node_config

ZONE = "MeshChat"

# Anti-entropy so slow that only eager push can deliver within a test.
PUSH_ONLY = Timing(
    sync_interval_s=3600.0,
    presence_interval_s=3600.0,
    push_delay_s=0.01,
    settle_s=3600.0,  # settle checks are anti-entropy too
    settle_max_s=3600.0,
)
QUICK = Timing(
    sync_interval_s=0.5,
    presence_interval_s=0.3,
    push_delay_s=0.01,
    presence_ttl_s=3.0,
    backoff_base_s=0.2,
)


def for_config(timing: Timing, cfg: config.Config) -> Timing:
    """Return the node's timing from its config, with what ``timing`` shrinks on top."""
    base = Timing()
    shrunk = {
        f.name: getattr(timing, f.name)
        for f in dataclasses.fields(Timing)
        if getattr(timing, f.name) != getattr(base, f.name)
    }
    return Timing.from_config(cfg, **shrunk)


async def start_nodes(
    base: Path, count: int, timing: Timing = PUSH_ONLY, **overrides: Any
) -> list[RunningNode]:
    """Start ``count`` nodes named n0, n1, … with their own data dirs."""
    nodes = []
    for i in range(count):
        cfg = node_config(base / f"n{i}", node__name=f"n{i}", **overrides)
        nodes.append(await app.start(cfg, for_config(timing, cfg)))
    return nodes


def link(a: RunningNode, b: RunningNode) -> None:
    """Make ``a`` and ``b`` static peers of each other."""
    a.node.scheduler.add_peer(b.url, "static")
    b.node.scheduler.add_peer(a.url, "static")


def line(nodes: list[RunningNode]) -> None:
    """Link n0 - n1 - … - nk."""
    for a, b in itertools.pairwise(nodes):
        link(a, b)


def ring(nodes: list[RunningNode]) -> None:
    """Link n0 - n1 - … - nk - n0."""
    line(nodes)
    link(nodes[-1], nodes[0])


async def restart(node: RunningNode, timing: Timing = PUSH_ONLY) -> RunningNode:
    """Start a stopped node again on its data dir (it listens on a new port)."""
    return await app.start(node.node.config, for_config(timing, node.node.config))


async def wait_live(nodes: Sequence[RunningNode], within: float = 10.0) -> None:
    """Wait until every node has probed every peer it was given and found it live."""

    async def all_live() -> bool:
        return all(p.live for n in nodes for p in n.node.peers.all())

    await eventually(all_live, within, "every peer probed and live")


async def quiet(nodes: Sequence[RunningNode], within: float = 10.0) -> None:
    """Wait until no node has a sync round running or due, nor a push queued or in flight."""

    async def idle() -> bool:
        return all(link.idle for n in nodes for link in n.node.scheduler.links.values())

    await eventually(idle, within, "every peer link idle")


async def stop_all(nodes: list[RunningNode]) -> None:
    """Stop every node."""
    for node in nodes:
        await node.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 15.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {within} s")


async def count(node: RunningNode, zone: str = ZONE) -> int:
    """Return how many records ``node`` holds in ``zone``."""
    return (await node.node.store.counts()).get(zone, 0)


async def ids(node: RunningNode, zone: str = ZONE) -> list[bytes]:
    """Return the ids ``node`` holds in ``zone``, in (ts, id) order (duplicates kept)."""
    return [item_id for _, item_id in await node.node.store.items(zone, 0)]


async def same_ids(nodes: Sequence[RunningNode], expected: int, zone: str = ZONE) -> bool:
    """Tell whether every node holds the same ``expected`` ids, each once."""
    held = [await ids(n, zone) for n in nodes]
    return all(len(h) == len(set(h)) == expected and set(h) == set(held[0]) for h in held)


@dataclass
class Delivery:
    """One record handed to a node's ingest by a peer (pushed or fetched)."""

    sender: str
    receiver: str
    record_id: bytes
    result: str


@dataclass
class Deliveries:
    """Every record the watched nodes took in from peers, by node name."""

    log: list[Delivery] = field(default_factory=list)

    def of(self, record_id: bytes) -> list[Delivery]:
        """Return the deliveries of one record, in arrival order."""
        return [d for d in self.log if d.record_id == record_id]


def watch_deliveries(nodes: Sequence[RunningNode]) -> Deliveries:
    """Record who handed which record to whom, by wrapping each node's ingest."""
    names = {n.node.key_hex: n.node.config.node.name for n in nodes}
    seen = Deliveries()
    for running in nodes:
        ingestor = running.node.ingestor
        receiver = running.node.config.node.name
        submit = ingestor.submit

        async def wrapped(
            envelopes: Sequence[tuple[bytes, bytes]],
            origin: str,
            *,
            _submit: Any = submit,
            _receiver: str = receiver,
        ) -> list[str]:
            results: list[str] = await _submit(envelopes, origin)
            if origin.startswith("peer:"):
                sender = names.get(origin.removeprefix("peer:"), origin)
                for env, result in zip(envelopes, results, strict=True):
                    if result not in ("ok", "dup"):
                        continue  # a rejected envelope may not even decode
                    record_id = load_trusted(*env).id
                    seen.log.append(Delivery(sender, _receiver, record_id, result))
            return results

        ingestor.submit = wrapped  # type: ignore[method-assign]
    return seen


async def sync_rounds(node: RunningNode, rounds: int = 2, within: float = 10.0) -> None:
    """Wait until ``node`` has finished ``rounds`` more anti-entropy rounds with every peer."""
    start = {p.url: p.last_sync for p in node.node.peers.all()}
    done = dict.fromkeys(start, 0)

    async def enough() -> bool:
        for peer in node.node.peers.all():
            if peer.last_sync != start.get(peer.url):
                start[peer.url] = peer.last_sync
                done[peer.url] = done.get(peer.url, 0) + 1
        return all(n >= rounds for n in done.values())

    await eventually(enough, within, f"{rounds} sync rounds")
