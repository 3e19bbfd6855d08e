"""Files across the bridge: files held here in ``local_files_raw``, a legacy node's in the view."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from meshchat.app import RunningNode
from tests.legacy.fakepeer import FakeLegacyNode
from tests.legacy.helpers import cgi, legacy_peer, start_legacy_node
from tests.mesh import eventually
from tests.nodes import ApiClient


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    running = await start_legacy_node(tmp_path, "gw", files__max_file_bytes=200_000)
    yield running
    await running.stop()


async def upload(node: RunningNode, data: bytes, name: str) -> None:
    api = ApiClient(node.url)
    try:
        assert (await api.login("W1AW")).status == 200
        body = aiohttp.FormData(quote_fields=False)
        body.add_field("channel", "")
        body.add_field("file", data, filename=name, content_type="text/plain")
        reply = await api.request("POST", "/api/v1/files", data=body)
        assert reply.status == 201, reply.body
    finally:
        await api.close()


async def test_a_legacy_node_lists_and_downloads_the_files_held_here(node: RunningNode) -> None:
    data = os.urandom(50_000)
    await upload(node, data, "field report.txt")
    listed = await cgi(node, "local_files_raw")
    (line,) = listed.body.decode().splitlines()
    name, owner, size, mtime, platform = line.split("\t")
    assert (name, size, platform) == ("field report.txt", str(len(data)), "pi")
    assert owner.startswith("gw") and abs(int(mtime) - time.time()) < 60
    got = await cgi(node, "file_download", file="field report.txt")
    assert got.body == data
    for other in ("field", "../field report.txt", "FIELD REPORT.TXT", ""):
        assert (await cgi(node, "file_download", file=other)).body == b"no file"


async def test_a_legacy_nodes_files_appear_in_the_files_view(node: RunningNode) -> None:
    fake = FakeLegacyNode("kd0leg", files=[("net-plan.pdf", 12_345, int(time.time()) - 60)])
    try:
        legacy_peer(node, await fake.start())
        api = ApiClient(node.url)
        try:
            assert (await api.login("W1AW")).status == 200

            async def listed() -> list[dict[str, object]]:
                reply = await api.request("GET", "/api/v1/files")
                return [f for f in reply.body["files"] if f["legacy"]]

            async def shown() -> bool:
                return bool(await listed())

            await eventually(shown, what="the legacy file in the files view")
            (entry,) = await listed()
            assert (entry["name"], entry["size"], entry["node"]) == (
                "net-plan.pdf",
                12_345,
                "kd0leg:8080",
            )
            assert entry["url"] == (
                "http://kd0leg:8080/cgi-bin/meshchat?action=file_download&file=net-plan.pdf"
            )
            assert entry["available"] is False
            fake.files = []  # the file is gone from the legacy node: gone from the view

            async def emptied() -> bool:
                return not await listed()

            await eventually(emptied, what="the legacy file gone from the view")
        finally:
            await api.close()
    finally:
        await fake.stop()
