"""Meshchat over emulated radio links: propagation, idle cost and catch-up (issue 6).

    sudo .venv/bin/python bench/bench_netns.py [--trials 20] [--idle-minutes 3] [--catchup 1000]

Needs root, /dev/net/tun and iproute2. Nodes run as ``meshchat serve`` processes in
their own network namespaces, joined in a line by the user-space link emulator of the
netns suite (``tests/netns/linkemu.py``: 300 kbit/s, 200 ms each way, 5 % frame loss).
The emulated link is measured first (ping RTT, loss, TCP goodput), so the figures can be
trusted. Everything the bench creates is removed at the end, failure or not; the figures
are printed and written to ``bench/out/netns.md`` (and ``netns.svg``), never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from svgplot import Series, line_chart

from tests.netns import harness
from tests.netns.harness import eventually, line, measure_link
from tests.netns.linkemu import LinkParams

OUT = Path(__file__).resolve().parent / "out"
RADIO = LinkParams(rate_bps=300_000, delay_s=0.2, loss=0.05)
NO_QUOTA = "[store]\nauthor_quota_per_hour = 0"  # thousands of posts in minutes, all via one node
LEGACY_HOP_POLL_S = 10


class Classifier:
    """Counts the bytes of delivered frames by what they carry (relay-thread callback).

    TCP frames of a connection to port 8080 are charged to the sync or API path of the
    last request seen on that connection (its response and ACKs included); frames before
    a connection's first request are its handshake.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bytes: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.connections = 0
        self._flows: dict[tuple[bytes, int], str] = {}

    def reset(self) -> None:
        """Zero the counters (the flows' last paths are kept)."""
        with self.lock:
            self.bytes.clear()
            self.requests.clear()
            self.connections = 0

    def __call__(self, link: int, direction: int, t: float, frame: bytes) -> None:
        del link, direction, t
        kind = self._kind(frame)
        with self.lock:
            self.bytes[kind] += len(frame)

    def _kind(self, frame: bytes) -> str:
        ethertype = frame[12:14]
        if ethertype == b"\x08\x06":
            return "ARP"
        if ethertype != b"\x08\x00" or len(frame) < 34:
            return "other"
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] == 17:
            return "UDP"
        if ip[9] != 6:
            return "other IP"
        tcp = ip[ihl:]
        sport, dport = struct.unpack("!HH", tcp[:4])
        if harness.PORT not in (sport, dport):
            return "other TCP"
        key = (ip[12:16], sport) if dport == harness.PORT else (ip[16:20], dport)
        payload = tcp[(tcp[12] >> 4) * 4 :]
        if dport == harness.PORT and payload[:4] in (b"GET ", b"POST"):
            path = payload.split(b" ", 2)[1].split(b"?")[0].decode(errors="replace")
            with self.lock:
                self._flows[key] = path
                self.requests[path] += 1
        if dport == harness.PORT and tcp[13] & 0x12 == 0x02:  # SYN without ACK
            with self.lock:
                self.connections += 1
            self._flows.pop(key, None)
        return self._flows.get(key, "TCP handshake")


def wait_in_sync(topo: harness.Line, timeout: float) -> None:
    """Wait until every node has live neighbours and all hold the same records."""
    for i in range(topo.n):
        eventually(lambda i=i: topo.live_with_neighbours(i), timeout, what=f"n{i} live")
    eventually(topo.converged, timeout, what="convergence")


def post_many(topo: harness.Line, i: int, n: int, tag: str) -> None:
    """Post ``n`` messages on node ``i`` from ten callsigns."""
    batch = 100
    for start in range(0, n, batch):
        texts = [f"{tag} message {k}: status report, all stations copy" for k in range(start,
                 min(n, start + batch))]  # fmt: skip
        topo.post(i, *texts, callsign=f"K{(start // batch) % 10}AW")


def bench_propagation(base: Path, trials: int) -> tuple[harness.LinkCheck, list[float]]:
    """Post on n0 of a 5-node line, time the arrival on n4; default sync settings."""
    with line(base, 5, params=RADIO) as topo:
        check = measure_link(topo, 0, pings=500)
        topo.start_all()
        wait_in_sync(topo, 180)
        took = []
        for k in range(trials):
            text = f"propagation probe {k}"
            topo.agents[4].send("wait_texts", texts=[text], seconds=60)
            posted = topo.post(0, text)[0]
            seen = topo.agents[4].receive(90)
            if seen["missing"]:
                took.append(float("inf"))
                print(f"  trial {k}: not delivered within 60 s")
            else:
                took.append(seen["seen"][text] - posted["t0"])
                print(f"  trial {k}: {took[-1]:.2f} s")
            time.sleep(2)  # let the link drain; trials are independent
    return check, took


def bench_idle(base: Path, minutes: float) -> dict[str, object]:
    """Two nodes in sync with default settings; bytes on the link while nothing is posted."""
    classifier = Classifier()
    with line(base, 2, params=RADIO, tap=classifier) as topo:
        topo.start_all()
        wait_in_sync(topo, 180)
        time.sleep(15)  # the first rounds and pushes are over
        assert topo.emu is not None
        topo.emu.reset_stats()
        classifier.reset()
        t0 = time.monotonic()
        time.sleep(minutes * 60)
        elapsed = time.monotonic() - t0
        link = topo.links[0]
        a, b = link.stats()
        with classifier.lock:
            by_kind = dict(classifier.bytes)
            requests = dict(classifier.requests)
            connections = classifier.connections
    per_min = 60 / elapsed
    return {
        "minutes": elapsed / 60,
        "bytes_per_min": (a.delivered_bytes + b.delivered_bytes) * per_min,
        "offered_per_min": (a.offered_bytes + b.offered_bytes) * per_min,
        "by_kind": {k: v * per_min for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        "requests_per_min": {k: v * per_min for k, v in sorted(requests.items())},
        "connections_per_min": connections * per_min,
    }


def bench_catchup(base: Path, n: int, history: int) -> dict[str, object]:
    """n1 is away while ``n`` messages are posted on n0; time and bytes for it to catch up."""
    with line(base, 2, params=RADIO) as topo:
        topo.start_all(extra_config=NO_QUOTA)
        wait_in_sync(topo, 180)
        if history:
            post_many(topo, 0, history, "history")
            eventually(topo.converged, 600, interval=2, what="history replicated")
        topo.nodes[1].stop()
        before = topo.agents[0].call("ids", timeout=60)
        post_many(topo, 0, n, "while away")
        after = topo.agents[0].call("ids", timeout=60)
        floor = after["bytes"] - before["bytes"]
        assert topo.emu is not None
        topo.emu.reset_stats()
        t0 = time.monotonic()
        topo.start_node(1, extra_config=NO_QUOTA)
        ready = time.monotonic() - t0
        target = topo.count(0)
        eventually(lambda: topo.count(1) >= target, 900, interval=0.25, what="catch-up")
        took = time.monotonic() - t0
        a, b = topo.links[0].stats()
        peers = topo.peer_status(1)
    return {
        "n": n,
        "history": history,
        "seconds": took,
        "ready_s": ready,
        "floor": floor,
        "to_newcomer": a.delivered_bytes,
        "from_newcomer": b.delivered_bytes,
        "total": a.delivered_bytes + b.delivered_bytes,
        "lost_frames": a.lost_frames + b.lost_frames,
        "records_in": sum(p["records_in"] for p in peers),
    }


def report(
    check: harness.LinkCheck | None,
    prop: list[float],
    idle: dict[str, object] | None,
    catch: dict[str, object] | None,
) -> str:
    """Return the Markdown report."""
    rows = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}. Emulated link: "
        f"{RADIO.rate_bps / 1000:.0f} kbit/s, {RADIO.delay_s * 1000:.0f} ms each way, "
        f"{RADIO.loss:.0%} frame loss each way, {RADIO.queue_bytes // 1024} KiB queue.",
        "",
        "| figure | value | target / reference |",
        "| --- | --- | --- |",
    ]
    if check is not None:
        rows += [
            f"| link check: ping RTT median (p90) | {check.rtt_median_s * 1000:.0f} ms "
            f"({check.rtt_p90_s * 1000:.0f} ms) | {check.expected_rtt_s * 1000:.0f} ms |",
            f"| link check: ping loss | {check.ping_lost}/{check.ping_sent} "
            f"({check.ping_lost / check.ping_sent:.1%}); frames {check.frame_loss:.1%} | "
            f"9.75 % of round trips; 5 % of frames |",
            f"| link check: TCP goodput (loss off) | {check.goodput_bps / 1000:.0f} kbit/s | "
            f"{check.expected_goodput_bps / 1000:.0f} kbit/s |",
        ]
    if prop:
        done = sorted(t for t in prop if t != float("inf"))
        lost = len(prop) - len(done)
        median = statistics.median(prop)
        rows += [
            f"| propagation n0 → n4 (4 hops), median of {len(prop)} | {median:.2f} s | "
            f"< 2 s (legacy: {LEGACY_HOP_POLL_S} s poll per hop, up to "
            f"{4 * LEGACY_HOP_POLL_S} s) |",
            f"| propagation, worst | {max(prop):.2f} s{f' ({lost} not delivered)' if lost else ''}"
            f" | |",
            f"| propagation, best | {done[0]:.2f} s | 4 x (200 ms + serialization) |"
            if done
            else "| propagation, best | - | |",
        ]
    if idle is not None:
        kinds = idle["by_kind"]
        assert isinstance(kinds, dict)
        top = ", ".join(f"{k} {v:,.0f}" for k, v in list(kinds.items())[:6])
        reqs = idle["requests_per_min"]
        assert isinstance(reqs, dict)
        per_req = ", ".join(
            f"{k} {v:.1f} (~{kinds.get(k, 0) / v:,.0f} B each)" for k, v in reqs.items() if v
        )
        rows += [
            f"| idle cost, two nodes in sync (default settings), {idle['minutes']:.1f} min | "
            f"{idle['bytes_per_min']:,.0f} B/min on the link | < 2 KB/min |",
            f"| idle cost by what the bytes carry (B/min) | {top} | |",
            f"| idle exchanges per minute (both nodes; bytes both ways, TCP/IP included) | "
            f"{per_req}; "
            f"{idle['connections_per_min']:.1f} new TCP connections | |",
        ]
    if catch is not None:
        floor = int(str(catch["floor"]))
        total = int(str(catch["total"]))
        rows += [
            f"| catch-up: {catch['n']} messages posted while away "
            f"(common history {catch['history']}) | {float(str(catch['seconds'])):.1f} s "
            f"(node up after {float(str(catch['ready_s'])):.1f} s) | floor at 300 kbit/s: "
            f"{floor * 8 / RADIO.rate_bps:.1f} s |",
            f"| catch-up bytes on the link (to / from the node) | {total:,} B "
            f"({catch['to_newcomer']:,} / {catch['from_newcomer']:,}); "
            f"{total / max(1, floor):.2f} x the floor | floor: {floor:,} B of records |",
        ]
    return "\n".join(rows) + "\n"


def plot(prop: list[float]) -> str:
    """Return an SVG of the propagation times, sorted, against the targets."""
    done = sorted(t for t in prop if t != float("inf"))
    points = [(float(i + 1), t) for i, t in enumerate(done)]
    legacy = [(1.0, 4.0 * LEGACY_HOP_POLL_S), (float(len(done)), 4.0 * LEGACY_HOP_POLL_S)]
    return line_chart(
        [
            Series("meshchat (push)", points, "#1f77b4"),
            Series("legacy worst (4 x 10 s)", legacy, "#888", "6 4"),
        ],
        title="Propagation over a 5-node radio line (300 kbit/s, 200 ms, 5 % loss)",
        x_label="trial (sorted)",
        y_label="seconds from post on n0 to arrival on n4",
        hline=(2.0, "target 2 s"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--idle-minutes", type=float, default=3.0)
    parser.add_argument("--catchup", type=int, default=1000)
    parser.add_argument("--history", type=int, default=1000, help="messages both held before")
    parser.add_argument("--only", choices=["propagation", "idle", "catchup"], action="append")
    args = parser.parse_args()
    why = harness.missing_requirements()
    if why:
        sys.exit(f"bench_netns: {why}")
    wanted = set(args.only or ["propagation", "idle", "catchup"])
    base = Path(tempfile.mkdtemp(prefix="meshchat-netns-bench-"))
    check, prop, idle, catch = None, [], None, None
    try:
        if "propagation" in wanted:
            print("propagation over a 5-node line…")
            check, prop = bench_propagation(base / "prop", args.trials)
        if "idle" in wanted:
            print(f"idle cost over {args.idle_minutes} min…")
            idle = bench_idle(base / "idle", args.idle_minutes)
        if "catchup" in wanted:
            print(f"catch-up of {args.catchup} messages…")
            catch = bench_catchup(base / "catchup", args.catchup, args.history)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    text = report(check, prop, idle, catch)
    print()
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "netns.md").write_text("# Meshchat over emulated radio links\n\n" + text)
    if len([t for t in prop if t != float("inf")]) >= 2:
        (OUT / "netns.svg").write_text(plot(prop))
    print(f"wrote {OUT / 'netns.md'}")


if __name__ == "__main__":
    main()
