"""Whole-node benchmarks: resident memory of an idle node, and bootstrap of a new node.

    python bench/bench_node.py [--n 100000]

Builds a data dir holding N signed records (once, cached under bench/out/), then:
- starts ``meshchat serve`` on it and reads the process's resident memory (VmRSS) when
  idle (its CPU below 3 % for 2 s: a store opened for the first time catches up its
  derived tables first); sends it one ``reconcile`` (an empty initiator's first message),
  which loads the zone's sync index, while another thread asks ``GET /meshchat`` (answered
  by the loop alone) every 5 ms: its slowest answer bounds how long the loop stalled; and
  reads VmRSS again;
- unless ``--no-bootstrap``: starts an empty second node with the first as its only peer
  and times how long it takes to hold every record (bootstrap through ``range`` paging,
  then reconcile), the CPU time each node used meanwhile (from /proc), and reads the
  source's VmRSS after serving it.
Everything runs on 127.0.0.1; the figures are printed, never asserted. To measure older
code in the same run: ``PYTHONPATH=OLD_CHECKOUT BENCH_OUT=OLD_CHECKOUT/bench/out python
bench/bench_node.py`` from a directory holding no ``meshchat`` package.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import msgpack
from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meshchat import records
from meshchat.app import DB_FILE
from meshchat.store.db import Store

# BENCH_OUT: another place for the data dirs (a store an older checkout can open).
OUT = Path(os.environ.get("BENCH_OUT") or Path(__file__).resolve().parent / "out")
ZONE = "MeshChat"
URL = re.compile(r"open (http://\S+?)/meshchat/")


def make_records(n: int) -> list[records.Record]:
    """Sign ``n`` chat messages by 20 users over the last 30 days."""
    rng = random.Random(7)
    keys = [SigningKey(bytes([i]) * 32) for i in range(1, 21)]
    now = time.time_ns() // 1_000_000
    start = now - 30 * 86_400_000
    step = (now - start - 60_000) // n
    out = []
    for i in range(n):
        key = keys[i % len(keys)]
        body = {
            "callsign": f"W{i % 20}AW",
            "channel": rng.choice(["", "ops", "logistics", "medical"]),
            "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))),
            "node": "bench-node",
        }
        out.append(records.sign(key, ZONE, "msg", start + i * step, body))
    return out


WORDS = [
    "shelter",
    "water",
    "fuel",
    "generator",
    "radio",
    "net",
    "check",
    "relay",
    "antenna",
    "battery",
    "medical",
    "team",
    "route",
    "bridge",
    "closed",
    "open",
    "supplies",
    "food",
    "volunteers",
    "report",
    "status",
    "copy",
    "roger",
    "over",
]


async def populate(data_dir: Path, n: int) -> None:
    """Create ``data_dir`` with ``n`` records (records are trusted: built just above)."""
    store = await Store.open(data_dir / DB_FILE)
    try:
        batch = make_records(n)
        for i in range(0, n, 2000):
            await store.insert(batch[i : i + 2000], origin="bench", received_at_ms=0)
    finally:
        await store.close()


def dataset(n: int) -> Path:
    """Return a data dir with ``n`` records, building it once."""
    path = OUT / f"node-{n}"
    marker = path / "complete"
    if not marker.exists():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        t0 = time.perf_counter()
        asyncio.run(populate(path, n))
        marker.write_text("ok")
        print(f"built a {n}-record data dir in {time.perf_counter() - t0:.1f} s")
    return path


class Serve:
    """A ``meshchat serve`` child on 127.0.0.1 with an ephemeral port."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meshchat",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        assert self.proc.stdout is not None
        for _ in range(20):
            match = URL.search(self.proc.stdout.readline().decode())
            if match:
                self.url = match.group(1)
                return
        raise RuntimeError("node did not start")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return kb / 1024

    def status(self) -> dict:
        with urllib.request.urlopen(self.url + "/api/v1/status", timeout=10) as resp:
            return json.load(resp)

    def reconcile_once(self) -> tuple[float, float, int]:
        """POST one empty initiator's message; return (seconds, slowest info ms, info calls).

        An empty set's first message is one IdList range up to infinity (PROTOCOL.md §7).
        """
        body = msgpack.packb({"zone": ZONE, "neg": bytes([0x61, 0x00, 0x00, 0x02, 0x00])})
        request = urllib.request.Request(
            self.url + "/sync/v1/reconcile",
            data=body,
            headers={"Content-Type": "application/msgpack"},
        )
        stop = threading.Event()
        slowest: list[float] = []

        def poll() -> None:
            for _ in range(20_000):  # bounded: at most 100 s of polls
                if stop.is_set():
                    return
                t0 = time.perf_counter()
                with urllib.request.urlopen(self.url + "/meshchat", timeout=10) as resp:
                    resp.read()
                slowest.append(time.perf_counter() - t0)
                time.sleep(0.005)

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.2)
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as resp:
            resp.read()
        took = time.perf_counter() - t0
        time.sleep(0.2)
        stop.set()
        poller.join()
        return took, max(slowest) * 1000, len(slowest)

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, limit_s: float = 300) -> float:
        """Wait until the node uses under 3 % of a core for 2 s; return how long it took."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit_s:
            before = self.cpu_s()
            time.sleep(2)
            if self.cpu_s() - before < 0.06:
                break
        return time.monotonic() - t0

    def count(self) -> int:
        return next(z["count"] for z in self.status()["zones"] if z["name"] == ZONE)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        if self.proc.stdout:
            self.proc.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--no-bootstrap", action="store_true")
    args = parser.parse_args()
    source = dataset(args.n)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    node = Serve(source)
    took = got = 0.0
    cpu = (0.0, 0.0)
    peers: list[dict] = []
    loaded = 0.0
    try:
        settle = node.wait_idle()
        idle = node.rss_mb()
        total = node.count()
        # One reconcile loads the zone's Negentropy index (ts + id + prefix sums).
        first, stall, polls = node.reconcile_once()
        time.sleep(1)
        indexed = node.rss_mb()
        again, _, _ = node.reconcile_once()
        if not args.no_bootstrap:
            fresh = OUT / "empty-probe"
            shutil.rmtree(fresh, ignore_errors=True)
            t0 = time.perf_counter()
            source_cpu = node.cpu_s()
            newcomer = Serve(fresh, "--peer", node.url)
            try:
                deadline = time.monotonic() + 900
                # The newcomer also holds its own `node` announcement.
                while newcomer.count() < total + 1 and time.monotonic() < deadline:
                    time.sleep(0.2)
                took = time.perf_counter() - t0
                cpu = (newcomer.cpu_s(), node.cpu_s() - source_cpu)
                got = newcomer.count()
                peers = newcomer.status()["peers"]
            finally:
                newcomer.stop()
            time.sleep(1)
            loaded = node.rss_mb()
    finally:
        node.stop()
        shutil.rmtree(OUT / "empty-probe", ignore_errors=True)

    peer = peers[0] if peers else {}
    print()
    print("| figure | value | target |")
    print("| --- | --- | --- |")
    print(f"| records held | {total} | |")
    print(f"| idle node RSS ({settle:.0f} s after start) | {idle:.1f} MB | < 60 MB |")
    print(f"| first reconcile (loads the sync index) | {first * 1000:.0f} ms | |")
    print(f"| slowest `/meshchat` reply meanwhile (of {polls}) | {stall:.1f} ms | < 50 ms |")
    print(f"| RSS after the first reconcile | {indexed:.1f} MB | |")
    print(f"| the next reconcile (index loaded) | {again * 1000:.0f} ms | |")
    if args.no_bootstrap:
        return
    print(f"| RSS after serving a bootstrap | {loaded:.1f} MB | |")
    print(
        f"| bootstrap of an empty node from one peer | {took:.1f} s for {got:.0f} records "
        f"({got / took:.0f} records/s) | |"
    )
    print(
        f"| CPU during the bootstrap: newcomer / source | {cpu[0]:.1f} s / {cpu[1]:.1f} s "
        f"({cpu[0] / took:.2f} / {cpu[1] / took:.2f} cores) | |"
    )
    print(
        f"| bootstrap bytes in / out (newcomer) | {peer.get('bytes_in', 0):,} / "
        f"{peer.get('bytes_out', 0):,} | |"
    )


if __name__ == "__main__":
    main()
