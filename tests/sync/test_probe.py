"""Probe: native meshchat, legacy MeshChat or unreachable (DESIGN §5.3), all on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from meshchat import app
from meshchat.sync.probe import probe
from tests.nodes import node_config
from tests.sync.fake_http import Handler, closed_port, serve

TIMEOUT_S = 5.0


def legacy_node(version: bytes) -> dict[str, Handler]:
    """Routes of a fake legacy node whose ``messages_version`` answers ``version``."""

    async def cgi(request: web.Request) -> web.Response:
        if request.query.get("action") != "messages_version":
            return web.Response(status=404)
        return web.Response(body=version, content_type="text/plain")

    return {"/cgi-bin/meshchat": cgi}


async def test_a_meshchat_node_is_native(tmp_path: Path) -> None:
    node = await app.start(node_config(tmp_path / "n"))
    try:
        async with aiohttp.ClientSession() as http:
            assert await probe(http, node.url, TIMEOUT_S) == "native"
            assert await probe(http, node.url + "/", TIMEOUT_S) == "native"
    finally:
        await node.stop()


async def test_a_node_with_a_zone_secret_is_native_only_with_the_secret(tmp_path: Path) -> None:
    node = await app.start(node_config(tmp_path / "n", sync__zone_secret="s3cret"))
    try:
        async with aiohttp.ClientSession() as http:
            assert await probe(http, node.url, TIMEOUT_S, zone_secret="s3cret") == "native"
            assert await probe(http, node.url, TIMEOUT_S, zone_secret="wrong") != "native"
    finally:
        await node.stop()


@pytest.mark.parametrize("version", [b"123456789", b"0", b"3735928559\n"])
async def test_a_legacy_node_answers_digits(version: bytes) -> None:
    async with serve(legacy_node(version)) as url, aiohttp.ClientSession() as http:
        assert await probe(http, url, TIMEOUT_S) == "legacy"


@pytest.mark.parametrize(
    "version", [b"", b"12a", b"12\n\n", b"<html>12</html>", b"1" * 100, b" 12", b"12\r\n"]
)
async def test_anything_else_at_the_legacy_path_is_unreachable(version: bytes) -> None:
    async with serve(legacy_node(version)) as url, aiohttp.ClientSession() as http:
        assert await probe(http, url, TIMEOUT_S) == "unreachable"


@pytest.mark.parametrize("failure", ["reset", "503"])
async def test_a_busy_meshchat_node_is_never_taken_for_a_legacy_one(failure: str) -> None:
    """A meshchat node also answers the legacy path: an info that got no answer or a 5xx
    says nothing of the kind (a 30-node bench on one host saw this make native peers legacy)."""

    async def busy(request: web.Request) -> web.Response:
        if failure == "503":
            return web.Response(status=503, body=b"\x80", content_type="application/msgpack")
        assert request.transport is not None
        request.transport.close()  # the connection is dropped without a reply
        return web.Response()

    routes = {"/sync/v1/info": busy, **legacy_node(b"123456789")}
    async with serve(routes) as url, aiohttp.ClientSession() as http:
        assert await probe(http, url, TIMEOUT_S) == "unreachable"


async def test_a_closed_port_is_unreachable() -> None:
    async with aiohttp.ClientSession() as http:
        assert await probe(http, f"http://127.0.0.1:{closed_port()}", TIMEOUT_S) == "unreachable"


async def test_garbage_is_unreachable() -> None:
    async def garbage(request: web.Request) -> web.Response:
        del request
        return web.Response(body=b"\xc1\xff not msgpack", content_type="application/msgpack")

    async def not_a_map(request: web.Request) -> web.Response:
        del request
        return web.Response(body=b"\x93\x01\x02\x03", content_type="application/msgpack")

    routes = {"/sync/v1/info": garbage, "/cgi-bin/meshchat": garbage}
    async with serve(routes) as url, aiohttp.ClientSession() as http:
        assert await probe(http, url, TIMEOUT_S) == "unreachable"
    async with serve({"/sync/v1/info": not_a_map}) as url, aiohttp.ClientSession() as http:
        assert await probe(http, url, TIMEOUT_S) == "unreachable"


async def test_a_malformed_url_is_unreachable() -> None:
    async with aiohttp.ClientSession() as http:
        assert await probe(http, "http://127.0.0.1:notaport", TIMEOUT_S) == "unreachable"


async def test_a_slow_host_times_out_as_unreachable() -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        del request
        await release.wait()
        return web.Response(text="1")

    routes = {"/sync/v1/info": slow, "/cgi-bin/meshchat": slow}
    async with serve(routes) as url, aiohttp.ClientSession() as http:
        try:
            assert await probe(http, url, 0.2) == "unreachable"
        finally:
            release.set()


async def test_a_legacy_peer_is_listed_as_legacy_and_not_synced(tmp_path: Path) -> None:
    from tests.mesh import QUICK, eventually, start_nodes, stop_all

    async with serve(legacy_node(b"123456789")) as url:
        [node] = await start_nodes(tmp_path, 1, QUICK)
        try:
            node.node.scheduler.add_peer(url, "static")

            async def recognised() -> bool:
                peer = node.node.peers.get(url)
                return peer is not None and peer.kind == "legacy"

            await eventually(recognised, what="the legacy peer recognised")
            peer = node.node.peers.get(url)
            assert peer is not None
            assert not peer.live  # never pushed to
            assert peer.failures == 0
            [shown] = [p for p in node.node.peers.status() if p["url"] == url]
            assert (shown["kind"], shown["source"]) == ("legacy", "static")
        finally:
            await stop_all([node])
