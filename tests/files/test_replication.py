"""Files across a line of real nodes on loopback (tests/mesh.py): replication, hops, quota."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import aiohttp

from meshchat import app
from meshchat.app import RunningNode
from tests.files.helpers import read_all
from tests.mesh import PUSH_ONLY, eventually, line, link, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient, node_config

FILES = dataclasses.replace(PUSH_ONLY, blob_retry_s=0.1, blob_retry_max_s=0.5, download_wait_s=10)
CHUNK = {"files__chunk_bytes": 16384}


async def upload_via_api(node: RunningNode, data: bytes, name: str = "map.bin") -> dict[str, Any]:
    """Upload ``data`` on ``node`` as W1AW; return the 201 reply's body."""
    api = ApiClient(node.url)
    try:
        await api.login("W1AW")
        body = aiohttp.FormData()
        body.add_field("channel", "ops")
        body.add_field("file", data, filename=name, content_type="application/octet-stream")
        reply = await api.request("POST", "/api/v1/files", data=body)
    finally:
        await api.close()
    assert reply.status == 201, reply.body
    result: dict[str, Any] = reply.body
    return result


async def holds(node: RunningNode, sha: bytes) -> bool:
    return await node.node.blobs.info(sha) is not None


async def files_of(node: RunningNode) -> list[dict[str, Any]]:
    api = ApiClient(node.url)
    try:
        reply = await api.request("GET", "/api/v1/files")
    finally:
        await api.close()
    assert reply.status == 200
    files: list[dict[str, Any]] = reply.body["files"]
    return files


async def test_a_file_uploaded_on_a_reaches_c_two_hops_away(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 3, FILES, **CHUNK)
    try:
        line(nodes)
        await wait_live(nodes)
        data = os.urandom(200_000)
        sha = hashlib.sha256(data).digest()
        await upload_via_api(nodes[0], data)
        await eventually(lambda: holds(nodes[2], sha), 20, "the blob on C")
        assert await read_all(nodes[2].node.blobs, sha) == data
        assert await holds(nodes[1], sha)  # B holds it too: C had it from B
        (entry,) = await files_of(nodes[2])
        assert entry["available"] and entry["node"] == "n0" and entry["sha256"] == sha.hex()
        # C verified every byte before showing it; nothing is left half-written.
        partial = nodes[2].node.config.node.data_dir / "blobs" / "partial"
        assert list(partial.iterdir()) == []
        assert nodes[2].node.fetcher.stats["mismatch"] == 0
    finally:
        await stop_all(nodes)


async def test_c_gets_the_file_from_b_after_a_has_gone(tmp_path: Path) -> None:
    a, b = await start_nodes(tmp_path, 2, FILES, **CHUNK)
    c: RunningNode | None = None
    try:
        link(a, b)
        await wait_live([a, b])
        data = os.urandom(100_000)
        sha = hashlib.sha256(data).digest()
        await upload_via_api(a, data)
        await eventually(lambda: holds(b, sha), 20, "the blob on B")
        await a.stop()
        cfg = node_config(tmp_path / "n2", node__name="n2", **CHUNK)
        c = await app.start(cfg, dataclasses.replace(FILES, download_wait_s=10.0))
        link(b, c)
        await eventually(lambda: holds(c, sha), 20, "the blob on C, from B alone")
        assert await read_all(c.node.blobs, sha) == data
    finally:
        await stop_all([n for n in (b, c) if n is not None])


async def test_without_replication_a_download_fetches_on_demand(tmp_path: Path) -> None:
    a, b = await start_nodes(tmp_path, 2, FILES, **CHUNK)
    cfg = node_config(tmp_path / "n2", node__name="n2", files__replicate=False, **CHUNK)
    c = await app.start(cfg, FILES)
    nodes = [a, b, c]
    try:
        line(nodes)
        await wait_live(nodes)
        data = os.urandom(60_000)
        sha = hashlib.sha256(data).digest()
        reply = await upload_via_api(a, data, "report.pdf")
        await eventually(lambda: holds(b, sha), 20, "the blob on B")

        async def listed() -> bool:
            return len(await files_of(c)) == 1

        await eventually(listed, 10, "the file record on C")
        assert not await holds(c, sha)
        assert (await files_of(c))[0]["available"] is False
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{c.url}/api/v1/files/{sha.hex()}?id={reply['id']}") as resp,
        ):
            assert resp.status == 200
            assert await resp.read() == data
        assert (await files_of(c))[0]["available"] is True
    finally:
        await stop_all(nodes)


async def test_a_full_quota_keeps_the_newest_files(tmp_path: Path) -> None:
    a, b = await start_nodes(tmp_path, 2, FILES, **CHUNK)
    cfg = node_config(
        tmp_path / "n2",
        node__name="n2",
        files__quota_bytes=250_000,
        files__max_file_bytes=100_000,
        **CHUNK,
    )
    c = await app.start(cfg, dataclasses.replace(FILES, blob_rescan_s=0.2))
    nodes = [a, b, c]
    try:
        line(nodes)
        await wait_live(nodes)
        shas = []
        for i in range(3):
            data = os.urandom(100_000)
            shas.append(hashlib.sha256(data).digest())
            await upload_via_api(a, data, f"photo-{i}.jpg")
            await eventually(lambda sha=shas[-1]: holds(c, sha), 20, f"photo {i} on C")
        assert await c.node.blobs.held(shas) == set(shas[1:])  # the oldest went
        listed = {f["name"]: f["available"] for f in await files_of(c)}
        assert listed == {"photo-0.jpg": False, "photo-1.jpg": True, "photo-2.jpg": True}
        # The evicted file is not fetched back (it would push a newer one out), though
        # every rescan (each 0.2 s here) finds it missing.
        fetcher = c.node.fetcher
        refused = fetcher.stats["quota_full"]
        await eventually(lambda: _true(fetcher.stats["quota_full"] >= refused + 2), 10, "rescans")
        assert await c.node.blobs.held(shas) == set(shas[1:])
        assert (await c.node.blobs.usage())["bytes"] <= 250_000
    finally:
        await stop_all(nodes)


async def _true(value: bool) -> bool:
    return value
