"""Files in headless Chromium: upload with progress, an inline preview, download, the view."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.helpers import login
from tests.mesh import QUICK, eventually, line, start_nodes, stop_all, wait_live

pytestmark = pytest.mark.browser
LIMIT = 100_000


def png(width: int = 6, height: int = 4) -> bytes:
    """A real RGB PNG (so the browser decodes it), built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([200, 40, 40]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def files_mesh(tmp_path: Path) -> AsyncIterator[list[RunningNode]]:
    """Two linked nodes that take files up to 100 KB."""
    nodes = await start_nodes(tmp_path, 2, QUICK, files__max_file_bytes=LIMIT)
    try:
        line(nodes)
        await wait_live(nodes)
        yield nodes
    finally:
        await stop_all(nodes)


async def attach(tab: Any, name: str, data: bytes, mime: str, caption: str = "") -> None:
    """Pick a file in the composer and send it with ``caption``."""
    page = tab.page
    await page.locator("#upload-input").set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
    )
    await expect(page.locator("#upload-send")).to_be_visible()
    if caption:
        await page.get_by_label("Caption").fill(caption)
    await page.get_by_role("button", name="Send file").click()
    await expect(page.locator("#upload-bar")).to_be_hidden()


async def test_upload_preview_download_and_the_files_view(
    files_mesh: list[RunningNode], open_tab: Any, tmp_path: Path
) -> None:
    n0, n1 = files_mesh
    alice = await open_tab(n0.url)
    await login(alice, "W1AW")
    page = alice.page
    image = png()
    await attach(alice, "map.png", image, "image/png", "the map of the area")
    row = page.locator("#messages article.msg").filter(has_text="the map of the area")
    preview = row.locator("img.file-preview")
    await expect(preview).to_be_visible()
    assert await preview.evaluate("img => img.naturalWidth") == 6  # decoded, not a broken icon
    await expect(row.locator(".file-link")).to_contain_text("map.png")
    await expect(row.locator(".file-link")).to_contain_text("image/png")

    async with page.expect_download() as waiting:
        await row.locator(".file-link a").click()
    download = await waiting.value
    saved = tmp_path / "got.png"
    await download.save_as(saved)
    assert saved.read_bytes() == image
    assert download.suggested_filename == "map.png"

    # A name with path parts, quotes and semicolons: stored as typed, saved harmlessly.
    hostile = '../../etc/pass"wd;x=1.txt'
    await attach(alice, hostile, b"not a password file", "text/plain", "odd name")
    odd = page.locator("#messages article.msg").filter(has_text="odd name")
    await expect(odd.locator(".file-link a")).to_have_text(hostile)
    async with page.expect_download() as waiting:
        await odd.locator(".file-link a").click()
    download = await waiting.value
    assert "/" not in download.suggested_filename and "\\" not in download.suggested_filename
    await download.save_as(tmp_path / "odd.txt")
    assert (tmp_path / "odd.txt").read_bytes() == b"not a password file"

    # The other node shows the image once its bytes have replicated there.
    sha = hashlib.sha256(image).digest()

    async def replicated() -> bool:
        return await n1.node.blobs.info(sha) is not None

    await eventually(replicated, 15, "the image on n1")
    bob = await open_tab(n1.url)
    await login(bob, "K1ABC")
    bob_row = bob.page.locator("#messages article.msg").filter(has_text="the map of the area")
    await expect(bob_row.locator("img.file-preview")).to_be_visible()
    await expect(bob_row.locator(".trust")).to_have_text("via n0")

    # The files view: every file of the zone, where it is, searchable by name.
    await page.get_by_role("link", name="Files").click()
    await expect(page.locator("#files-page")).to_be_visible()
    table = page.locator("#files-body tr")
    await expect(table).to_have_count(2)
    await expect(table.filter(has_text="map.png")).to_contain_text("on this node")
    await page.get_by_label("Search files by name").fill("MAP")
    await expect(table).to_have_count(1)
    await expect(table).to_contain_text("map.png")
    alice.assert_clean()
    bob.assert_clean()


async def test_a_file_over_the_limit_is_refused_before_sending(
    files_mesh: list[RunningNode], open_tab: Any
) -> None:
    tab = await open_tab(files_mesh[0].url)
    await login(tab, "W1AW")
    page = tab.page
    await page.locator("#upload-input").set_input_files(
        {"name": "big.bin", "mimeType": "application/octet-stream", "buffer": b"x" * (LIMIT + 1)}
    )
    await expect(page.locator("#upload-error")).to_contain_text("up to 100 KB")
    await expect(page.locator("#upload-name")).to_contain_text("big.bin (100 KB)")
    await expect(page.locator("#upload-send")).to_be_hidden()
    assert (await files_mesh[0].node.blobs.usage())["count"] == 0
    await page.get_by_role("button", name="Cancel the file").click()
    await expect(page.locator("#upload-bar")).to_be_hidden()
    tab.assert_clean()
