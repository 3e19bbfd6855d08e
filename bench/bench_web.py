"""Web UI and live-update benchmarks, printed (never asserted).

    python bench/bench_web.py [--quick] [--clients 500] [--skip-browser]

(a) Bytes on the wire: the first load of the UI (page, scripts, style and the API calls
    it makes, gzip accepted) and one idle minute with the UI open, measured in headless
    Chromium through the DevTools network events (HTTP bodies + headers, WebSocket frames).
(b) Live fan-out: N logged-in WebSocket clients on one ``meshchat serve`` process;
    latency from the start of a POST to its delivery at every client (median, p99), and
    the node's CPU and resident memory while it holds them.
(c) Help desk: 50 users in 50 channels posting 600 messages a minute in all, texts up to
    30 KB, for 5 minutes (``--quick``: 30 s); every client must receive every message.

Everything talks to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import platform
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

URL = re.compile(r"open (http://\S+?)/meshchat/")
ZONE = "MeshChat"
# Every client calls from 127.0.0.1: the per-address connection cap (64) is lifted.
CONFIG = """
[web]
login_attempts_per_minute = 100000
max_connections_per_address = 2048
[store]
author_quota_per_hour = 0
"""
CLK_TCK = os.sysconf("SC_CLK_TCK")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class Serve:
    """A ``meshchat serve`` child on 127.0.0.1 with an ephemeral port and a bench config."""

    def __init__(self, base: Path) -> None:
        cfg = base / "bench.toml"
        cfg.write_text(CONFIG)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meshchat",
                "serve",
                "--config",
                str(cfg),
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                str(base / "data"),
                "--node-name",
                "bench",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        assert self.proc.stdout is not None
        for _ in range(40):
            match = URL.search(self.proc.stdout.readline().decode())
            if match:
                self.url = match.group(1)
                return
        self.stop()
        raise RuntimeError("node did not start")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+)", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Client:
    """One logged-in browser session with its WebSocket, recording what it receives."""

    def __init__(self, base: str, callsign: str) -> None:
        self.base = base
        self.callsign = callsign
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.got: dict[str, float] = {}  # message text marker -> monotonic arrival
        self.ids: set[str] = set()
        self.reader: asyncio.Task[None] | None = None
        self.hello = asyncio.Event()
        self.presence_bytes = 0  # presence frames received (the list, then changes)
        self.presence_frames = 0
        self.last_presence = 0.0  # monotonic time of the last one
        self.presence_max = 0  # the largest (a whole list)

    async def login(self) -> None:
        async with self.http.post(
            self.base + "/api/v1/login", json={"callsign": self.callsign}
        ) as resp:
            resp.raise_for_status()
            self.csrf = (await resp.json())["csrf_token"]

    async def connect(self) -> None:
        self.ws = await self.http.ws_connect(
            self.base + "/api/v1/ws", params={"zone": ZONE}, max_msg_size=0
        )
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            now = time.monotonic()
            frame = json.loads(msg.data)
            if frame["type"] in ("presence", "presence_delta"):
                self.presence_bytes += len(msg.data)
                self.presence_frames += 1
                self.last_presence = now
                self.presence_max = max(self.presence_max, len(msg.data))
            if frame["type"] == "hello":
                self.hello.set()
            elif frame["type"] == "message":
                message = frame["message"]
                self.ids.add(message["id"])
                self.got[message["text"].split(" ", 1)[0]] = now

    async def post(self, channel: str, text: str) -> str:
        async with self.http.post(
            self.base + "/api/v1/messages",
            json={"zone": ZONE, "channel": channel, "text": text},
            headers={"X-CSRF-Token": self.csrf},
        ) as resp:
            resp.raise_for_status()
            return str((await resp.json())["id"])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        await self.http.close()


async def gather_bounded(coros: list[Any], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with sem:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


async def open_clients(base: str, n: int, prefix: str) -> list[Client]:
    clients = [Client(base, f"{prefix}{i}") for i in range(n)]
    await gather_bounded([c.login() for c in clients], 50)
    await gather_bounded([c.connect() for c in clients], 50)
    await asyncio.wait_for(asyncio.gather(*(c.hello.wait() for c in clients)), 60)
    return clients


# -- (a) bytes of the first load and of an idle minute ---------------------------------------


async def static_bytes(base: str) -> tuple[int, int, list[str]]:
    """Compressed and raw bytes of the page and every file it loads (no browser)."""
    seen: list[str] = []
    wire = raw = 0
    todo = ["index.html"]
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.append(name)
            url = base + "/meshchat/" + ("" if name == "index.html" else name)
            async with http.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
                body = await resp.read()
                wire += len(body)
                text = (
                    gzip.decompress(body)
                    if resp.headers.get("Content-Encoding") == "gzip"
                    else body
                )
                raw += len(text)
            source = text.decode("utf-8")
            todo += re.findall(r'(?:src|href)="([a-z][\w.-]*\.(?:js|css))"', source)
            todo += re.findall(r'from "\./([\w.-]+\.js)"', source)
    return wire, raw, seen


async def browser_bytes(base: str, idle_s: float) -> None:
    """First load and an idle period in headless Chromium, counted from DevTools events."""
    try:
        from playwright.async_api import async_playwright, expect
    except ImportError:
        print("  (playwright not installed: browser figures skipped)")
        return
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)
            await cdp.send("Network.enable")
            counts = {"http": 0, "ws_in": 0, "ws_out": 0, "requests": 0, "frames": 0}

            def finished(ev: dict[str, Any]) -> None:
                counts["http"] += int(ev.get("encodedDataLength", 0))
                counts["requests"] += 1

            def frame(key: str) -> Any:
                def handler(ev: dict[str, Any]) -> None:
                    counts[key] += len(ev["response"]["payloadData"].encode()) + 2  # + WS header
                    counts["frames"] += 1

                return handler

            cdp.on("Network.loadingFinished", finished)
            cdp.on("Network.webSocketFrameReceived", frame("ws_in"))
            cdp.on("Network.webSocketFrameSent", frame("ws_out"))
            await page.goto(base + "/meshchat/")
            await page.get_by_label("Callsign", exact=True).fill("BENCH")
            await page.get_by_role("button", name="Log in").click()
            await expect(page.locator("#conn")).to_have_text("live", timeout=20000)
            await page.wait_for_timeout(1500)  # the first page of messages and presence
            first = dict(counts)
            first_total = first["http"] + first["ws_in"] + first["ws_out"]
            print(
                f"  first load + login (browser): {first_total:,} B"
                f" ({first['requests']} HTTP responses {first['http']:,} B incl. headers;"
                f" WebSocket {first['ws_in'] + first['ws_out']:,} B)"
            )
            for key in counts:
                counts[key] = 0
            await page.wait_for_timeout(idle_s * 1000)
            idle = counts["http"] + counts["ws_in"] + counts["ws_out"]
            print(
                f"  idle {idle_s:.0f} s with the UI open: {idle:,} B "
                f"({counts['requests']} HTTP, {counts['frames']} WebSocket frames;"
                f" ~{idle * 60 / idle_s:,.0f} B/min; TCP/IP and WS ping/pong control frames"
                " are not visible to DevTools)"
            )
            await context.close()
        finally:
            await browser.close()


# -- (b) fan-out ------------------------------------------------------------------------------


async def fanout(node: Serve, n: int, posts: int) -> None:
    t0 = time.monotonic()
    clients = await open_clients(node.url, n, "FAN")
    print(
        f"  {n} clients logged in and connected in {time.monotonic() - t0:.1f} s;"
        f" node RSS {node.rss_mb():.0f} MB"
    )
    # The join wave: every tab hears of every join. Settled once no tab got a presence
    # frame for 5 s (bounded: 120 s); the idle window starts after it.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        newest = max(c.last_presence for c in clients)
        if time.monotonic() - newest > 5.0:
            break
        await asyncio.sleep(0.5)
    per_tab = [c.presence_bytes for c in clients]
    frames = [c.presence_frames for c in clients]
    print(
        f"  join wave of {n}: {sum(per_tab):,} B of presence frames to all tabs,"
        f" per tab median {statistics.median(per_tab):,.0f} B in"
        f" {statistics.median(frames):.0f} frames = {statistics.median(per_tab) / n:.0f} B"
        f" a join; the largest frame (a whole list) {max(c.presence_max for c in clients):,} B"
    )
    hold_s = 20.0
    cpu0, w0 = node.cpu_s(), time.monotonic()
    await asyncio.sleep(hold_s)
    cpu_idle = (node.cpu_s() - cpu0) / (time.monotonic() - w0) * 100
    poster = clients[0]
    sent: dict[str, float] = {}
    cpu0, w0 = node.cpu_s(), time.monotonic()
    for k in range(posts):
        marker = f"fanout-{k:05d}"
        sent[marker] = time.monotonic()
        await poster.post("bench", marker + " the quick brown fox")
        await asyncio.sleep(0.2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(len([m for m in c.got if m.startswith("fanout-")]) >= posts for c in clients):
            break
        await asyncio.sleep(0.1)
    cpu_busy = (node.cpu_s() - cpu0) / (time.monotonic() - w0) * 100
    latencies = [(c.got[m] - t) * 1000 for c in clients for m, t in sent.items() if m in c.got]
    missing = posts * n - len(latencies)
    print(
        f"  {posts} posts x {n} clients: latency POST->delivery median "
        f"{statistics.median(latencies):.1f} ms, p99 {pct(latencies, 99):.1f} ms,"
        f" max {max(latencies):.1f} ms; undelivered {missing}"
    )
    print(
        f"  node CPU holding {n} idle sockets ({hold_s:.0f} s after the join wave):"
        f" {cpu_idle:.1f} %; while posting 5/s: "
        f"{cpu_busy:.1f} % of one core; RSS {node.rss_mb():.0f} MB"
    )
    await gather_bounded([c.close() for c in clients], 100)


# -- (c) help desk ---------------------------------------------------------------------------


def desk_text(rng: random.Random, marker: str) -> str:
    """A text of 30 B to 30 KB (log-uniform: most are short, some are long)."""
    size = int(10 ** rng.uniform(1.5, 4.48))
    words = ["radio", "shelter", "supplies", "generator", "water", "medical", "antenna"]
    body = []
    while sum(len(w) + 1 for w in body) < size:
        body.append(rng.choice(words))
    return (marker + " " + " ".join(body))[: 30 * 1024]


async def helpdesk(node: Serve, duration_s: float) -> None:
    users = await open_clients(node.url, 50, "DESK")
    rng = random.Random(5)
    rate = 600 / 60  # messages per second, in all
    total = int(duration_s * rate)
    posted: dict[str, float] = {}
    sizes: list[int] = []
    failures = 0
    cpu0, w0 = node.cpu_s(), time.monotonic()
    peak_rss = node.rss_mb()
    pending: set[asyncio.Task[str]] = set()

    async def one(k: int) -> str:
        user = users[k % 50]
        marker = f"desk-{k:06d}"
        text = desk_text(rng, marker)
        sizes.append(len(text.encode()))
        posted[marker] = time.monotonic()
        return await user.post(f"desk-{k % 50}", text)

    start = time.monotonic()
    for k in range(total):
        await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        task = asyncio.get_running_loop().create_task(one(k))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if k % 50 == 0:
            peak_rss = max(peak_rss, node.rss_mb())
    results = await asyncio.gather(*pending, return_exceptions=True)
    failures = sum(isinstance(r, Exception) for r in results)
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(len([m for m in u.got if m.startswith("desk-")]) >= len(posted) for u in users):
            break
        await asyncio.sleep(0.2)
    cpu = (node.cpu_s() - cpu0) / (time.monotonic() - w0) * 100
    lost = sum(len(posted) - len([m for m in u.got if m.startswith("desk-")]) for u in users)
    complete = sum(all(m in u.got for m in posted) for u in users)
    latencies = [(u.got[m] - t) * 1000 for u in users for m, t in posted.items() if m in u.got]
    print(
        f"  {len(posted)} messages in {elapsed:.0f} s ({len(posted) / elapsed * 60:.0f}/min),"
        f" {sum(sizes) / 1e6:.1f} MB of text, largest {max(sizes):,} B; POST failures {failures}"
    )
    print(f"  clients that got every message: {complete}/50; deliveries missing: {lost}")
    print(
        f"  latency POST->delivery median {statistics.median(latencies):.1f} ms,"
        f" p99 {pct(latencies, 99):.1f} ms"
    )
    print(f"  node CPU {cpu:.1f} % of one core; RSS peak {peak_rss:.0f} MB")
    await gather_bounded([u.close() for u in users], 50)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        node = Serve(Path(tmp))
        try:
            print(f"node: {node.url} (pid {node.proc.pid}), RSS at start {node.rss_mb():.0f} MB")
            print("(a) bytes on the wire")
            wire, raw, files = await static_bytes(node.url)
            print(
                f"  UI files ({len(files)}: {', '.join(files)}): {wire:,} B gzip"
                f" ({raw:,} B uncompressed)"
            )
            if not args.skip_browser:
                await browser_bytes(node.url, 15.0 if args.quick else 60.0)
            print(f"(b) live fan-out to {args.clients} WebSocket clients")
            await fanout(node, args.clients, 20 if args.quick else 50)
            print(f"(c) help desk: 50 users, 50 channels, 600 msg/min, {args.desk_s:.0f} s")
            await helpdesk(node, args.desk_s)
        finally:
            node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (30 s help desk)")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    args.desk_s = 30.0 if args.quick else 300.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.clients + 256)), hard))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
