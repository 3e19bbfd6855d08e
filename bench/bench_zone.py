"""A whole zone on loopback: sync bytes per message against the floor, spread time, idle CPU.

    python bench/bench_zone.py [--sizes 10 30] [--shapes mesh ring] [--messages 200]

Starts N real ``meshchat serve`` processes on 127.0.0.1 (ports picked up front, each
node's neighbours given as ``--peer``), joined as a full mesh or a ring, waits until
every peer is live and every node holds every node's announcement, then posts
``--messages`` messages spread round-robin over the nodes (one every 50 ms) and reports:

- zone-wide sync bytes per message (every node's peer counters, request and reply
  bodies as sent, summed), against the floor (N - 1) x record bytes;
- the time from the first post until every node holds every message;
- each node's CPU while idle afterwards (with ``--users`` users, one user by default,
  logged in with a tab open on every node), and the zone's idle sync bytes per minute.

Nothing leaves 127.0.0.1; every process is this script's child and is stopped at the
end. Figures are printed and written to ``bench/out/zone.md``, never asserted.
``PYTHONPATH=/path/to/old/checkout`` runs the same script against older code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

OUT = Path(__file__).resolve().parent / "out"
ZONE = "MeshChat"
POST_GAP_S = 0.05


def free_ports(n: int) -> list[int]:
    """Return ``n`` loopback ports that were free a moment ago."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def neighbours(i: int, n: int, shape: str) -> list[int]:
    """Return node ``i``'s peers in a full mesh or a ring of ``n``."""
    if shape == "mesh":
        return [j for j in range(n) if j != i]
    return sorted({(i - 1) % n, (i + 1) % n})


@dataclass
class Proc:
    """One ``meshchat serve`` child."""

    index: int
    url: str
    data: Path
    proc: subprocess.Popen[bytes]

    def cpu_s(self) -> float:
        """Return the process's user + system CPU seconds so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM this child and wait for it (SIGKILL after 20 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start(base: Path, n: int, shape: str) -> list[Proc]:
    """Start ``n`` nodes linked as ``shape``."""
    ports = free_ports(n)
    procs = []
    for i in range(n):
        data = base / f"n{i}"
        data.mkdir(parents=True)
        config = data / "meshchat.toml"
        # Every peer calls from 127.0.0.1 here, where a mesh gives each its own address:
        # the per-address connection cap (64) would refuse the 4 x (N - 1) pooled ones.
        config.write_text(
            "[store]\nauthor_quota_per_hour = 0\n[web]\nmax_connections_per_address = 1024\n"
        )
        peers = [
            arg
            for j in neighbours(i, n, shape)
            for arg in ("--peer", f"http://127.0.0.1:{ports[j]}")
        ]
        argv = [
            sys.executable, "-m", "meshchat", "serve", "--config", str(config),
            "--listen", f"127.0.0.1:{ports[i]}", "--data-dir", str(data),
            "--node-name", f"n{i}", *peers,
        ]  # fmt: skip
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=(data / "log").open("wb"),
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        procs.append(Proc(i, f"http://127.0.0.1:{ports[i]}", data, proc))
    return procs


async def status(http: aiohttp.ClientSession, proc: Proc) -> dict[str, Any] | None:
    """Return a node's ``/api/v1/status``, or None while it is not up."""
    try:
        async with http.get(proc.url + "/api/v1/status") as resp:
            if resp.status == 200:
                result: dict[str, Any] = await resp.json()
                return result
    except (aiohttp.ClientError, OSError):
        pass
    return None


def held(st: dict[str, Any]) -> int:
    """Return how many records of the zone a status says the node holds."""
    return int(next((z["count"] for z in st["zones"] if z["name"] == ZONE), 0))


def sync_bytes(statuses: list[dict[str, Any]]) -> int:
    """Return the zone's sync bytes so far: every node's calls, both ways."""
    return sum(p["bytes_in"] + p["bytes_out"] for st in statuses for p in st.get("peers", []))


def summed(statuses: list[dict[str, Any]], key: str) -> dict[str, int]:
    """Return a per-peer counter map (``route_bytes``, ``link_changes``) summed over the zone."""
    out: dict[str, int] = {}
    for st in statuses:
        for peer in st.get("peers", []):
            for name, value in (peer.get(key) or {}).items():
                out[name] = out.get(name, 0) + value
    return out


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """Return ``after - before`` per key, leaving out the keys that did not move."""
    moved = {k: v - before.get(k, 0) for k, v in after.items()}
    return {k: v for k, v in sorted(moved.items()) if v}


async def all_status(http: aiohttp.ClientSession, procs: list[Proc]) -> list[dict[str, Any]]:
    """Return every node's status (waiting for the ones that are not up yet)."""
    out = []
    for proc in procs:
        for _ in range(3000):
            if proc.proc.poll() is not None:
                tail = (proc.data / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"n{proc.index} exited: {tail}")
            st = await status(http, proc)
            if st is not None:
                out.append(st)
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"n{proc.index} did not answer")
    return out


async def wait_until(check: Any, within: float, what: str) -> float:
    """Poll ``check()`` until true; return the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        if await check():
            return time.monotonic() - t0
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} not reached within {within} s")


async def login(proc: Proc, callsign: str) -> tuple[aiohttp.ClientSession, str]:
    """Log ``callsign`` in on ``proc``; return the session and its CSRF token."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(proc.url + "/api/v1/login", json={"callsign": callsign}) as resp:
        token = (await resp.json())["csrf_token"]
    return http, token


async def run(
    n: int, shape: str, messages: int, idle_s: float, per_node: int = 1
) -> dict[str, Any]:
    """Run one zone; return its figures."""
    base = Path(tempfile.mkdtemp(prefix="meshchat-zone-"))
    procs = start(base, n, shape)
    users: list[tuple[aiohttp.ClientSession, str]] = []
    others: list[tuple[aiohttp.ClientSession, str]] = []  # --users: more, idle only
    tabs: list[aiohttp.ClientWebSocketResponse] = []
    http = aiohttp.ClientSession()
    try:
        await all_status(http, procs)

        async def ready() -> bool:
            sts = await all_status(http, procs)
            return all(
                held(st) >= n
                and len(st["peers"]) == len(neighbours(i, n, shape))
                and all(p["kind"] == "native" and not p["failures"] for p in st["peers"])
                for i, st in enumerate(sts)
            )

        await wait_until(ready, 300, "every peer live, every announcement everywhere")
        for proc in procs:
            users.append(await login(proc, f"K{proc.index}ZN"))
            tabs.append(await users[-1][0].ws_connect(proc.url + "/api/v1/ws"))
            for j in range(1, per_node):
                others.append(await login(proc, f"K{proc.index}Z{chr(ord('A') + j)}"))
                tabs.append(await others[-1][0].ws_connect(proc.url + "/api/v1/ws"))
        await asyncio.sleep(5)  # the first rounds and the logins' presence settle
        start_sts = await all_status(http, procs)
        before = sync_bytes(start_sts)
        cpu_busy0 = [p.cpu_s() for p in procs]
        t0 = time.monotonic()
        for k in range(messages):
            session, token = users[k % n]
            async with session.post(
                procs[k % n].url + "/api/v1/messages",
                json={"channel": "", "text": f"zone bench message {k}: all stations copy"},
                headers={"X-CSRF-Token": token},
            ) as resp:
                assert resp.status == 201, resp.status
            await asyncio.sleep(POST_GAP_S)
        posted = time.monotonic() - t0

        async def converged() -> bool:
            return all(held(st) >= n + messages for st in await all_status(http, procs))

        spread = posted + await wait_until(converged, 600, "every message everywhere")
        await asyncio.sleep(3)  # pushes and announcements still in flight
        busy_s = time.monotonic() - t0
        cpu_busy = [p.cpu_s() - c for p, c in zip(procs, cpu_busy0, strict=True)]
        end_sts = await all_status(http, procs)
        after = sync_bytes(end_sts)
        routes = delta(summed(end_sts, "route_bytes"), summed(start_sts, "route_bytes"))
        changes = delta(summed(end_sts, "link_changes"), summed(start_sts, "link_changes"))
        with contextlib.closing(
            sqlite3.connect(f"file:{procs[0].data}/meshchat.db?mode=ro", uri=True)
        ) as db:
            (record_bytes,) = db.execute(
                "SELECT avg(length(S) + length(sig)) FROM records WHERE kind = 'msg'"
            ).fetchone()
        await asyncio.sleep(5)
        cpu0 = [p.cpu_s() for p in procs]
        idle0 = sync_bytes(await all_status(http, procs))
        t_idle = time.monotonic()
        await asyncio.sleep(idle_s)
        elapsed = time.monotonic() - t_idle
        idle1 = sync_bytes(await all_status(http, procs))
        cpu = [(p.cpu_s() - c) / elapsed * 100 for p, c in zip(procs, cpu0, strict=True)]
        floor = (n - 1) * record_bytes
        per_message = (after - before) / messages
        return {
            "n": n,
            "shape": shape,
            "messages": messages,
            "record_bytes": record_bytes,
            "per_message": per_message,
            "floor": floor,
            "ratio": per_message / floor,
            "spread_s": spread,
            "posting_s": posted,
            "idle_cpu_mean": sum(cpu) / len(cpu),
            "idle_cpu_max": max(cpu),
            "idle_bytes_per_min": (idle1 - idle0) * 60 / elapsed,
            "routes": {k: v / messages for k, v in routes.items()},
            "changes": changes,
            # The whole machine's CPU while the messages spread, as a share of its cores.
            "busy_cpu": sum(cpu_busy) / busy_s / (os.cpu_count() or 1) * 100,
            "busy_cpu_node_s": max(cpu_busy),
        }
    finally:
        for tab in tabs:
            await tab.close()
        for session, _ in others:
            await session.close()
        for session, _ in users:
            await session.close()
        await http.close()
        for proc in procs:
            proc.stop()
        shutil.rmtree(base, ignore_errors=True)


def table(results: list[dict[str, Any]]) -> str:
    """Return the Markdown table of the runs."""
    rows = [
        "| N | shape | record (B) | sync bytes / message | floor (N-1) x record | ratio "
        "| every node has every message | idle CPU per node, mean (max) | idle sync bytes / min |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        rows.append(
            f"| {r['n']} | {'full mesh' if r['shape'] == 'mesh' else 'ring'} "
            f"| {r['record_bytes']:.0f} | {r['per_message']:,.0f} | {r['floor']:,.0f} "
            f"| {r['ratio']:.2f} | {r['spread_s']:.1f} s (posting took {r['posting_s']:.1f} s) "
            f"| {r['idle_cpu_mean']:.2f} % ({r['idle_cpu_max']:.2f} %) "
            f"| {r['idle_bytes_per_min']:,.0f} |"
        )
    rows.append("")
    for r in results:
        routes = ", ".join(f"{k} {v:,.0f}" for k, v in r["routes"].items())
        changes = ", ".join(f"{k} {v}" for k, v in r["changes"].items()) or "none"
        rows.append(
            f"- N = {r['n']} {r['shape']}: bytes / message by route: {routes}; link changes: "
            f"{changes}; CPU while spreading {r['busy_cpu']:.0f} % of the machine "
            f"(busiest node {r['busy_cpu_node_s']:.1f} s)"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--shapes", nargs="+", default=["mesh", "ring"])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--idle", type=float, default=30.0, help="idle window, seconds")
    parser.add_argument("--users", type=int, default=1, help="users (with a tab) per node")
    parser.add_argument("--out", default="zone.md")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        for shape in args.shapes:
            print(f"N = {size}, {shape}…", flush=True)
            results.append(asyncio.run(run(size, shape, args.messages, args.idle, args.users)))
            print(table(results[-1:]), flush=True)
    text = (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; every node a process on 127.0.0.1.\n\n" + table(results)
    )
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / args.out).write_text("# A zone on loopback\n\n" + text)


if __name__ == "__main__":
    main()
