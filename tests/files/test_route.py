"""``GET /sync/v1/blob/{sha256}`` on a real node: ranges, refusals, the zone secret."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from meshchat import records
from meshchat.app import RunningNode
from meshchat.sync import zoneauth
from tests.files.helpers import upload
from tests.mesh import eventually
from tests.nodes import start_node

DATA = os.urandom(100_000)
SHA = hashlib.sha256(DATA).hexdigest()
PATH = f"/sync/v1/blob/{SHA}"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    running = await start_node(tmp_path / "data")
    await upload(running.node.blobs, DATA)
    yield running
    await running.stop()


async def get(
    node: RunningNode, path: str = PATH, **headers: str
) -> tuple[int, bytes, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(node.url + path, headers=headers) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


async def test_ranges_are_206_with_content_range(node: RunningNode) -> None:
    status, body, headers = await get(node, Range="bytes=1000-33767")
    assert status == 206 and body == DATA[1000:33768]
    assert headers["Content-Range"] == f"bytes 1000-33767/{len(DATA)}"
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Server"] == "meshchat"
    status, body, _ = await get(node, Range="bytes=-10")
    assert status == 206 and body == DATA[-10:]
    status, body, headers = await get(node)
    assert status == 200 and body == DATA and headers["Accept-Ranges"] == "bytes"


async def test_refusals_are_counted_msgpack_errors(node: RunningNode) -> None:
    status, body, headers = await get(node, Range=f"bytes={len(DATA)}-")
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(DATA)}"
    assert records.unpack(body, 8)["error"] == "range_not_satisfiable"
    for path, expected in (
        (f"/sync/v1/blob/{'0' * 64}", 404),
        ("/sync/v1/blob/" + SHA.upper(), 400),
        ("/sync/v1/blob/..%2F..%2Fmeshchat.db", 400),
        (PATH + "?x=1", 400),
    ):
        status, body, _ = await get(node, path)
        assert status == expected, path
        assert "error" in records.unpack(body, 8)
    status, _, _ = await get(node, Range="bytes=0-1,5-9")
    assert status == 400
    errors = node.node.sync.errors
    assert errors["no_blob"] == 1 and errors["range_not_satisfiable"] == 1


async def test_with_a_zone_secret_blob_requests_are_authenticated(tmp_path: Path) -> None:
    node = await start_node(tmp_path / "data", sync__zone_secret="club secret")
    try:
        await upload(node.node.blobs, DATA)
        status, _, _ = await get(node, Range="bytes=0-9")
        assert status == 401
        signed = zoneauth.sign("club secret", "GET", PATH, b"", time.time())
        status, body, _ = await get(node, Range="bytes=0-9", **signed)
        assert status == 206 and body == DATA[:10]
        wrong = zoneauth.sign("another secret", "GET", PATH, b"", time.time())
        status, _, _ = await get(node, Range="bytes=0-9", **wrong)
        assert status == 401
    finally:
        await node.stop()


async def test_a_peer_that_hangs_up_mid_reply_is_counted(tmp_path: Path) -> None:
    big = os.urandom(24 * 1024 * 1024)  # more than loopback socket buffers take
    node = await start_node(tmp_path / "data", files__max_file_bytes=len(big))
    try:
        await upload(node.node.blobs, big, piece=1024 * 1024)
        host, port = node.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        path = f"/sync/v1/blob/{hashlib.sha256(big).hexdigest()}"
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        assert (await reader.read(100)).startswith(b"HTTP/1.1 200")
        writer.close()
        await writer.wait_closed()

        async def counted() -> bool:
            return node.node.sync.errors["blob_cut"] == 1

        await eventually(counted, 10, "the cut counted")
        # The node still serves (nothing was left half-open that matters).
        status, body, _ = await get(node, path, Range="bytes=0-9")
        assert status == 206 and body == big[:10]
    finally:
        await node.stop()
