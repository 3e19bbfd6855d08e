"""The legacy bridge: what a meshchat node costs a legacy zone, and how fast a message crosses.

    python bench/bench_legacy.py [--lines 500] [--rounds 120] [--poll 10] [--samples 4]

1. Bytes a minute on the link between a legacy node L and a newcomer X that joins its
   zone, with both polling each other on the legacy schedule (every 10 s): X another
   legacy node (the fake of tests/legacy, Perl- and Lua-like) or a meshchat node. Counted
   on the wire at L (its CGI served to X, and its own polls of X), headers included, in
   two regimes: idle, and one new message on L a minute. Rounds run back to back; a round
   is one poll each way, so bytes a minute = 6 x bytes a round.
2. The time for a message to cross legacy L1 → meshchat A → meshchat B → legacy L2 and
   back, with every legacy poll on the real schedule (``--poll``, 10 s) and again with a
   50 ms one (what is left is the bridge's own latency).

Everything runs on 127.0.0.1; the figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meshchat import app, config
from meshchat.app import RunningNode
from meshchat.timing import Timing
from tests.legacy.fakepeer import FakeLegacyNode
from tests.legacy.rawhttp import Traffic

ZONE = "MeshChat"


def reset(*traffic: Traffic) -> None:
    for t in traffic:
        t.sent = t.received = t.exchanges = 0


async def start_node(base: Path, name: str, poll_s: float) -> RunningNode:
    cfg = config.with_overrides(
        config.Config(),
        node__data_dir=base / name,
        node__listen="127.0.0.1:0",
        node__name=name,
        legacy__poll_interval_s=max(1.0, poll_s),
    )
    return await app.start(cfg, Timing.from_config(cfg, legacy_poll_s=poll_s))


def seed(node: FakeLegacyNode, lines: int) -> None:
    start = int(time.time()) - lines * 60
    for i in range(lines):
        node.post(
            f"message {i} " + "about the net control schedule " * 2,
            f"K{i % 9}ABC",
            epoch=start + i * 60,
        )


# -- 1. bytes a minute -----------------------------------------------------------------------


async def legacy_pair(flavour: str, lines: int, rounds: int, active: bool) -> int:
    """Bytes on the wire at L for ``rounds`` rounds between two legacy nodes."""
    l_node, x_node = FakeLegacyNode("leg-l", flavour), FakeLegacyNode("leg-x", flavour)
    seed(l_node, lines)
    url_l, url_x = await l_node.start(), await x_node.start()
    try:
        l_node.peers, x_node.peers = [url_x], [url_l]
        for _ in range(3):  # converge first
            await x_node.poll_once()
            await l_node.poll_once()
        reset(l_node.server_traffic, l_node.client_traffic)
        rng = random.Random(5)
        for r in range(rounds):
            if active and r % 6 == 0:
                l_node.post(f"new message {r}", "K1NEW")
            # Random phases: after a post, either node may poll the other first.
            first, second = (x_node, l_node) if rng.random() < 0.5 else (l_node, x_node)
            await first.poll_once()
            await second.poll_once()
        return l_node.server_traffic.total + l_node.client_traffic.total
    finally:
        await l_node.stop()
        await x_node.stop()


async def meshchat_pair(flavour: str, lines: int, rounds: int, active: bool, base: Path) -> int:
    """Bytes on the wire at L for ``rounds`` rounds between a legacy node and meshchat.

    The meshchat node's own timer is set to an hour: the bench runs its poll rounds, in the
    same random order as between two legacy nodes.
    """
    l_node = FakeLegacyNode("leg-l", flavour)
    seed(l_node, lines)
    url_l = await l_node.start()
    node = await start_node(base, f"mesh-{flavour}-{int(active)}", 3600.0)
    try:
        l_node.peers = [node.url]
        node.node.scheduler.add_peer(url_l, "static", "legacy")
        poller, http = node.node.legacy.poller, node.node.http
        assert http is not None
        for _ in range(3):  # converge first
            await poller.round(http)
            await l_node.poll_once()
        reset(l_node.server_traffic, l_node.client_traffic)
        rng = random.Random(5)
        for r in range(rounds):
            if active and r % 6 == 0:
                l_node.post(f"new message {r}", "K1NEW")
            if rng.random() < 0.5:
                await poller.round(http)
                await l_node.poll_once()
            else:
                await l_node.poll_once()
                await poller.round(http)
        return l_node.server_traffic.total + l_node.client_traffic.total
    finally:
        await node.stop()
        await l_node.stop()


# -- 2. crossing time ------------------------------------------------------------------------


async def poll_forever(node: FakeLegacyNode, poll_s: float) -> None:
    await asyncio.sleep(random.uniform(0, poll_s))
    while True:
        await node.poll_once()
        await asyncio.sleep(poll_s)


async def crossing(poll_s: float, samples: int, base: Path) -> tuple[list[float], list[float]]:
    """Seconds from a post on one legacy node until the other legacy node holds it."""
    l1, l2 = FakeLegacyNode("leg-one", "perl"), FakeLegacyNode("leg-two", "lua")
    url1, url2 = await l1.start(), await l2.start()
    a = await start_node(base, f"a-{poll_s}", poll_s)
    b = await start_node(base, f"b-{poll_s}", poll_s)
    tasks: list[asyncio.Task[None]] = []
    try:
        a.node.scheduler.add_peer(b.url, "static")
        b.node.scheduler.add_peer(a.url, "static")
        l1.peers, l2.peers = [a.url], [b.url]
        a.node.scheduler.add_peer(url1, "static", "legacy")
        b.node.scheduler.add_peer(url2, "static", "legacy")
        tasks = [asyncio.create_task(poll_forever(n, poll_s)) for n in (l1, l2)]
        await asyncio.sleep(2 * poll_s + 1)
        forward, back = [], []
        for i in range(samples):
            for source, sink, out in ((l1, l2, forward), (l2, l1, back)):
                text = f"crossing {poll_s} {i} from {source.name}"
                start = time.monotonic()
                source.post(text, "K1X")
                out.append(await arrival(sink, text, start))
                await asyncio.sleep(random.uniform(0, poll_s))  # a fresh phase
        return forward, back
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await a.stop()
        await b.stop()
        await l1.stop()
        await l2.stop()


async def arrival(sink: FakeLegacyNode, text: str, start: float, within: float = 120.0) -> float:
    """Return the seconds from ``start`` until ``sink`` holds ``text`` (checked every 5 ms)."""
    while time.monotonic() - start < within:
        if text in sink.messages():
            return time.monotonic() - start
        await asyncio.sleep(0.005)
    raise TimeoutError(f"{sink.name} never got {text!r}")


def fmt(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s (n={len(seconds)})"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=500, help="messages in the legacy zone")
    parser.add_argument("--rounds", type=int, default=120, help="poll rounds measured")
    parser.add_argument("--poll", type=float, default=10.0, help="legacy poll interval (s)")
    parser.add_argument("--samples", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        print(f"1. bytes a minute, legacy node <-> newcomer, {args.lines} lines, polls every 10 s")
        head = f"{'legacy node':<12} {'regime':<22} {'newcomer: legacy':>18}"
        print(f"{head} {'newcomer: meshchat':>20}")
        for flavour in ("perl", "lua"):
            for active in (False, True):
                legacy = await legacy_pair(flavour, args.lines, args.rounds, active)
                mesh = await meshchat_pair(flavour, args.lines, args.rounds, active, base)
                per_min = 6 / args.rounds
                regime = "one message a minute" if active else "idle"
                print(
                    f"{flavour:<12} {regime:<22} {legacy * per_min:>14,.0f} B/min "
                    f"{mesh * per_min:>16,.0f} B/min"
                )
        print("\n2. a message crossing L1 -> A -> B -> L2 and back (perl L1, lua L2)")
        for poll in (args.poll, 0.05):
            samples = args.samples if poll >= 1 else 20
            forward, back = await crossing(poll, samples, base)
            print(f"legacy polls every {poll:g} s: L1 -> L2 {fmt(forward)}; L2 -> L1 {fmt(back)}")


if __name__ == "__main__":
    asyncio.run(main())
