"""Files over an emulated radio link: replication throughput, overhead, and chat meanwhile.

    sudo .venv/bin/python bench/bench_files.py [--size 5000000] [--small 200000]
                                               [--chunks 32768,65536] [--messages 20]

Needs root, /dev/net/tun and iproute2. Two ``meshchat serve`` nodes in network namespaces
joined by the netns suite's user-space link emulator (``tests/netns/linkemu.py``) at
300 kbit/s, 200 ms each way, 2 % frame loss. For each chunk size: the link is measured
(ping, TCP goodput with and without loss); chat messages are timed across the idle link;
a file is uploaded on n0 and timed until n1 holds it, verified, while chat messages are
posted both ways and timed; a small file measures the overhead of one transfer. Every
byte on the link is counted by what it carries. Printed and written to
``bench/out/files.md``, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_netns import Classifier

from tests.netns import harness
from tests.netns.harness import AgentProc, eventually, line, measure_link
from tests.netns.linkemu import LinkParams

OUT = Path(__file__).resolve().parent / "out"
RADIO = LinkParams(rate_bps=300_000, delay_s=0.2, loss=0.02)
FILE_AGENT = Path(harness.__file__).with_name("fileagent.py")
SPACING_S = 4.0  # between chat messages
WAIT_S = 1800.0


def tcp_goodput(topo: harness.Line, nbytes: int = 400_000) -> float:
    """Bulk TCP goodput n0 → n1 with the link as configured (loss on), bit/s."""
    host = topo.addr(0, 1)
    topo.agents[1].call("tcp_sink", port=7010, seconds=300)
    topo.agents[0].call("tcp_send", timeout=310, host=host, port=7010, nbytes=nbytes, seconds=300)
    samples = topo.agents[1].call("tcp_sink_result", timeout=310, port=7010, seconds=300)
    start = next((s for s in samples if s[1] >= nbytes // 4), samples[0])
    end = samples[-1]
    return float((end[1] - start[1]) * 8 / max(1e-9, end[0] - start[0]))


def chat_delays(
    topo: harness.Line, posters: list[AgentProc], tag: str, count: int
) -> dict[str, list[tuple[float, float]]]:
    """Post ``count`` messages each way, SPACING_S apart; return (posted at, delay) of each.

    ``posters[i]`` posts on node i while node i's own agent waits for the other's texts.
    """
    texts = {d: [f"{tag} {d} {k}" for k in range(count)] for d in ("n0→n1", "n1→n0")}
    wait_s = count * SPACING_S + 120
    topo.agents[1].send("wait_texts", texts=texts["n0→n1"], seconds=wait_s)
    topo.agents[0].send("wait_texts", texts=texts["n1→n0"], seconds=wait_s)
    posted: dict[str, float] = {}
    for k in range(count):
        for i, direction in ((0, "n0→n1"), (1, "n1→n0")):
            text = texts[direction][k]
            posted[text] = posters[i].call("post", texts=[text], callsign=f"K{i}CHAT")[0]["t0"]
            time.sleep(SPACING_S / 2)
    seen = dict(topo.agents[1].receive(wait_s + 60)["seen"])
    seen.update(topo.agents[0].receive(wait_s + 60)["seen"])
    return {
        direction: [(posted[t], seen.get(t, float("inf")) - posted[t]) for t in wanted]
        for direction, wanted in texts.items()
    }


def by_path(classifier: Classifier) -> dict[str, int]:
    """Bytes on the link so far, blob requests lumped together."""
    with classifier.lock:
        kinds = dict(classifier.bytes)
    merged: dict[str, int] = {}
    for kind, n in kinds.items():
        key = "/sync/v1/blob/…" if kind.startswith("/sync/v1/blob/") else kind
        merged[key] = merged.get(key, 0) + n
    return dict(sorted(merged.items(), key=lambda kv: -kv[1]))


def bench_chunk(base: Path, chunk: int, size: int, small: int, messages: int) -> dict[str, Any]:
    """One chunk size: link check, idle chat, a small file, a large file with chat."""
    classifier = Classifier()
    harness.AGENT = FILE_AGENT  # the agent with upload/wait_file (same protocol)
    extra = f"[files]\nchunk_bytes = {chunk}\nmax_file_bytes = {max(size, small) + 1}"
    result: dict[str, Any] = {"chunk": chunk, "size": size, "small": small}
    with line(base, 2, params=RADIO, tap=classifier) as topo:
        assert topo.emu is not None
        result["check"] = measure_link(topo, 0, pings=300)
        result["tcp_lossy_bps"] = tcp_goodput(topo)
        topo.start_all(extra_config=extra)
        for i in range(2):
            eventually(lambda i=i: topo.live_with_neighbours(i), 120, what=f"n{i} live")
        eventually(topo.converged, 120, what="in sync")
        helpers = [AgentProc(topo.ns(i), base / f"helper{i}.log") for i in (0, 1, 1)]
        posters, watcher = helpers[:2], helpers[2]
        try:
            time.sleep(5)
            print(f"  chunk {chunk}: chat over the idle link…")
            idle = chat_delays(topo, posters, f"idle {chunk}", max(1, messages // 2))
            result["idle"] = {d: [delay for _, delay in v] for d, v in idle.items()}

            print(f"  chunk {chunk}: a {small:,} B file…")
            topo.emu.reset_stats()
            classifier.reset()
            up = topo.agents[0].call("upload", timeout=400, size=small, seed=chunk + 1)
            waited = topo.agents[1].call(
                "wait_file", timeout=WAIT_S + 30, sha256=up["sha256"], seconds=WAIT_S
            )
            got = waited["seen"]
            a, b = topo.links[0].stats()
            result["small_s"] = (got or float("inf")) - up["t1"]
            result["small_link"] = a.delivered_bytes + b.delivered_bytes
            result["small_paths"] = by_path(classifier)
            time.sleep(5)

            print(f"  chunk {chunk}: a {size:,} B file, with chat both ways meanwhile…")
            topo.emu.reset_stats()
            classifier.reset()
            up = topo.agents[0].call("upload", timeout=400, size=size, seed=chunk)
            watcher.send("wait_file", sha256=up["sha256"], seconds=WAIT_S)
            estimate = size * 8 / (0.8 * RADIO.rate_bps)
            count = max(1, min(messages, int(0.8 * estimate / SPACING_S)))
            busy = chat_delays(topo, posters, f"busy {chunk}", count)
            got = watcher.receive(WAIT_S + 30)["seen"] or float("inf")
            a, b = topo.links[0].stats()
            # Only what was posted before n1 held the file counts as "while replicating".
            result["busy"] = {d: [delay for t0, delay in v if t0 < got] for d, v in busy.items()}
            result["large_s"] = got - up["t1"]
            result["large_link"] = a.delivered_bytes + b.delivered_bytes
            result["large_paths"] = by_path(classifier)
            result["lost_frames"] = a.lost_frames + b.lost_frames
            result["fetch"] = topo.agents[1].call("fetch_status")
        finally:
            for helper in helpers:
                helper.close()
    return result


def _stats(values: list[float]) -> str:
    done = sorted(v for v in values if v != float("inf"))
    if not done:
        return "none delivered"
    lost = len(values) - len(done)
    text = f"median {statistics.median(done):.2f} s, max {done[-1]:.2f} s (n={len(values)})"
    return text + (f", {lost} not delivered" if lost else "")


def report(results: list[dict[str, Any]]) -> str:
    """Return the Markdown report."""
    rows = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Emulated link: {RADIO.rate_bps / 1000:.0f} kbit/s, "
        f"{RADIO.delay_s * 1000:.0f} ms each way, {RADIO.loss:.0%} frame loss each way, "
        f"{RADIO.queue_bytes // 1024} KiB queue. Two nodes; n0 uploads, n1 replicates.",
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    for r in results:
        c = r["check"]
        chunk = f"{r['chunk'] // 1024} KiB chunks"
        blob_large = r["large_paths"].get("/sync/v1/blob/…", 0)
        blob_small = r["small_paths"].get("/sync/v1/blob/…", 0)
        rate = r["size"] * 8 / r["large_s"]
        n_chunks = -(-r["size"] // r["chunk"])
        rows += [
            f"| [{chunk}] link check: RTT median, TCP goodput loss off / at "
            f"{RADIO.loss:.0%} loss | {c.rtt_median_s * 1000:.0f} ms, "
            f"{c.goodput_bps / 1000:.0f} / {r['tcp_lossy_bps'] / 1000:.0f} kbit/s |",
            f"| [{chunk}] replication of {r['size'] / 1e6:.1f} MB n0 → n1 (upload done to "
            f"verified on n1) | {r['large_s']:.1f} s = {rate / 1000:.0f} kbit/s: "
            f"{rate / RADIO.rate_bps:.0%} of the 300 kbit/s link, "
            f"{rate / r['tcp_lossy_bps']:.0%} of bulk TCP at {RADIO.loss:.0%} loss |",
            f"| [{chunk}] bytes on the link for it (both ways, Ethernet frames) | "
            f"{r['large_link']:,} B in all; blob requests {blob_large:,} B = file + "
            f"{blob_large - r['size']:,} B ({(blob_large - r['size']) / r['size']:.1%}, "
            f"{(blob_large - r['size']) / n_chunks:,.0f} B per chunk) |",
            f"| [{chunk}] a {r['small'] / 1e3:.0f} KB file: time, overhead | "
            f"{r['small_s']:.1f} s; blob requests {blob_small:,} B = file + "
            f"{blob_small - r['small']:,} B; the file record's push "
            f"{r['small_paths'].get('/sync/v1/put', 0):,} B |",
            f"| [{chunk}] chat n0 → n1, idle link | {_stats(r['idle']['n0→n1'])} |",
            f"| [{chunk}] chat n0 → n1 (the blob's direction) while replicating | "
            f"{_stats(r['busy']['n0→n1'])} |",
            f"| [{chunk}] chat n1 → n0, idle / while replicating | "
            f"{_stats(r['idle']['n1→n0'])} / {_stats(r['busy']['n1→n0'])} |",
        ]
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument("--chunks", default="32768")
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    why = harness.missing_requirements()
    if why:
        sys.exit(f"bench_files: {why}")
    base = Path(tempfile.mkdtemp(prefix="meshchat-files-bench-"))
    results = []
    try:
        for chunk in (int(c) for c in args.chunks.split(",")):
            print(f"chunk size {chunk}…")
            results.append(
                bench_chunk(base / f"c{chunk}", chunk, args.size, args.small, args.messages)
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    text = report(results)
    print()
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "files.md").write_text("# Files over an emulated radio link\n\n" + text)
    print(f"wrote {OUT / 'files.md'}")


if __name__ == "__main__":
    main()
