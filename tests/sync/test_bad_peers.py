"""Bad peers are backed off, never take the node down, and are synced again once they heal."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from meshchat import peers as peers_module
from meshchat.app import RunningNode
from meshchat.peers import Peer
from tests.factories import make_record
from tests.mesh import QUICK, eventually, ids, line, start_nodes, stop_all, wait_live

GARBAGE = b"\xc1\xc1 this is not msgpack \xc1"
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class FakePeer:
    """A tiny HTTP server on 127.0.0.1 port 0 whose handler a test chooses (and can swap)."""

    def __init__(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        self.handler = handler
        self.hits: list[tuple[float, str]] = []  # (monotonic time, path) of every request
        self.release = asyncio.Event()  # ends every hanging request at teardown
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits.append((time.monotonic(), request.path))
        return await self.handler(request)

    async def start(self) -> FakePeer:
        """Listen on an ephemeral loopback port."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        """Release hanging handlers and close the server."""
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def info_hits(self) -> list[float]:
        """Return when each sync attempt began (every round starts with ``info``)."""
        return [t for t, path in self.hits if path.endswith("/info")]


async def garbage(request: web.Request) -> web.Response:
    """Answer 200 with bytes that are not msgpack."""
    await request.read()
    return web.Response(body=GARBAGE, content_type="application/msgpack")


def hanging(fake_release: asyncio.Event) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Return a handler that answers only after the test is over (past any timeout)."""

    async def handler(request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fake_release.wait(), 30)
        return web.Response(body=b"", status=204)

    return handler


async def truncating(request: web.Request) -> web.StreamResponse:
    """Promise 1000 bytes, send 10, then drop the connection."""
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "application/msgpack", "Content-Length": "1000"}
    )
    await response.prepare(request)
    await response.write(b"\x82\xa4zone" + b"\x00" * 5)
    assert request.transport is not None
    request.transport.close()
    return response


def proxy_to(target: str, http: aiohttp.ClientSession) -> Callable[..., Awaitable[web.Response]]:
    """Return a handler forwarding every request to the node at ``target``."""

    async def handler(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        async with http.request(
            request.method, target + request.path_qs, data=body or None, headers=headers
        ) as reply:
            data = await reply.read()
            # A compressed reply (mc-zlib, asked for by the caller) stays labelled as such.
            coding = {k: v for k, v in reply.headers.items() if k.lower() == "content-encoding"}
            return web.Response(
                body=data, status=reply.status, content_type=reply.content_type, headers=coding
            )

    return handler


def peer_of(node: RunningNode, url: str) -> Peer:
    """Return ``node``'s entry for the peer at ``url``."""
    peer = node.node.peers.get(url)
    assert peer is not None
    return peer


async def test_bad_peers_are_backed_off_while_good_ones_sync(tmp_path: Path) -> None:
    fakes: list[FakePeer] = []
    nodes: list[RunningNode] = []
    try:
        fakes.append(await FakePeer(garbage).start())
        slow = FakePeer(garbage)
        slow.handler = hanging(slow.release)
        fakes.append(await slow.start())
        fakes.append(await FakePeer(truncating).start())
        nodes = await start_nodes(
            tmp_path, 3, QUICK, sync__request_timeout_s=0.5, sync__backoff_max_s=2.0
        )
        hub = nodes[1]
        line(nodes)  # n0 - n1 - n2, and n1 also has the three bad peers
        for fake in fakes:
            hub.node.scheduler.add_peer(fake.url, "static")

        async def all_backed_off() -> bool:
            return all(peer_of(hub, f.url).failures >= 2 for f in fakes)

        await eventually(all_backed_off, what="every bad peer failed twice")
        for fake in fakes:
            peer = peer_of(hub, fake.url)
            assert peer.kind == "unknown" and not peer.live
            assert 0 < peer.backoff_s <= 2.0
            assert peer.last_error.startswith("info: ")
        good = [p for p in hub.node.peers.all() if p.url in (nodes[0].url, nodes[2].url)]
        assert all(p.live for p in good)

        # The good nodes keep syncing through the hub while the bad ones are failing.
        record = make_record(text="through a node with bad neighbours")
        assert await nodes[0].node.ingestor.submit([record.envelope], "local") == ["ok"]

        async def arrived() -> bool:
            return record.id in await ids(nodes[2])

        await eventually(arrived, within=5.0, what="propagation past the hub")
        assert all(peer_of(hub, f.url).failures >= 2 for f in fakes)
        assert hub.node.scheduler is not None  # the hub is still up and answering
    finally:
        await stop_all(nodes)
        for fake in fakes:
            await fake.stop()


async def test_back_off_doubles_up_to_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cap = 0.05, 0.4
    # Without jitter the sequence is exact: base, 2 base, 4 base … capped.
    monkeypatch.setattr(peers_module.random, "uniform", lambda lo, hi: 1.0)
    peer = Peer("http://x", "static")
    delays = [peer.failed(0.0, "down", cap_s=cap, base_s=base) for _ in range(6)]
    assert delays == [0.05, 0.1, 0.2, 0.4, 0.4, 0.4]
    monkeypatch.undo()
    for _ in range(50):  # with jitter it never passes the cap either
        assert 0 < peer.failed(0.0, "down", cap_s=cap, base_s=base) <= cap

    # The real loop waits those delays between attempts.
    fake = await FakePeer(garbage).start()
    timing = dataclasses.replace(QUICK, backoff_base_s=base)
    nodes = await start_nodes(tmp_path, 1, timing, sync__backoff_max_s=cap)
    try:
        nodes[0].node.scheduler.add_peer(fake.url, "static")

        async def seven_attempts() -> bool:
            return len(fake.info_hits()) >= 7

        await eventually(seven_attempts, within=8.0, what="seven attempts")
        hits = fake.info_hits()
        gaps = [b - a for a, b in itertools.pairwise(hits)][:6]
        # Each wait is at least the jittered (±20 %) doubling delay, up to the cap. Only
        # lower bounds: on a loaded machine an attempt itself can take longer.
        floors = [min(cap, base * 2**i) * 0.8 for i in range(len(gaps))]
        assert all(g >= f for g, f in zip(gaps, floors, strict=True)), (gaps, floors)
        assert all(g >= cap * 0.8 for g in gaps[3:]), gaps
        assert peer_of(nodes[0], fake.url).backoff_s <= cap
    finally:
        await stop_all(nodes)
        await fake.stop()


async def test_a_peer_that_comes_back_is_synced_promptly(tmp_path: Path) -> None:
    http = aiohttp.ClientSession()
    fake = await FakePeer(garbage).start()
    nodes: list[RunningNode] = []
    try:
        nodes = await start_nodes(tmp_path, 2, QUICK, sync__backoff_max_s=1.0)
        node, behind = nodes  # ``behind`` is reachable only through the fake's URL
        record = make_record(text="waiting behind a broken link")
        assert await behind.node.ingestor.submit([record.envelope], "local") == ["ok"]
        node.node.scheduler.add_peer(fake.url, "static")

        async def failing() -> bool:
            return peer_of(node, fake.url).failures >= 3

        await eventually(failing, what="the broken peer failed three times")
        assert not peer_of(node, fake.url).live

        fake.handler = proxy_to(behind.url, http)  # the peer comes back

        async def synced() -> bool:
            return record.id in await ids(node)

        # One capped back-off (1 s) and a round, with room for a loaded machine.
        await eventually(synced, within=5.0, what="sync with the healed peer")
        peer = peer_of(node, fake.url)

        async def round_done() -> bool:
            # The record comes in mid-round (its get); the back-off clears when the round
            # has completed (a Debian-floor run asserted in between).
            return peer.live

        await eventually(round_done, within=5.0, what="the round with the healed peer")
        assert peer.live and peer.kind == "native"
        assert (peer.failures, peer.backoff_s) == (0, 0.0)
        await wait_live([node])
    finally:
        await stop_all(nodes)
        await fake.stop()
        await http.close()
