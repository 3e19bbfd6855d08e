"""Fixtures for the browser suite: two linked nodes and headless Debian Chromium.

Everything runs in the test's event loop: the nodes serve on 127.0.0.1 port 0, and the
async Playwright driver talks to Chromium from the same loop (STYLE.md 7, 11).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from meshchat.app import RunningNode
from tests.mesh import QUICK, line, start_nodes, stop_all, wait_live

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Playwright's own waits (expect, locators): long enough for a loaded CI machine.
EXPECT_MS = 10_000
# The two sizes every operator feature is tried at: a desktop and a phone (390 x 844).
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


async def _line_of(tmp_path: Path, n: int) -> AsyncIterator[list[RunningNode]]:
    """Start ``n`` nodes in a line, live with their neighbours; stop them afterwards."""
    nodes = await start_nodes(tmp_path, n, QUICK)
    try:
        line(nodes)
        await wait_live(nodes)
        yield nodes
    finally:
        await stop_all(nodes)


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[list[RunningNode]]:
    """Two nodes, n0 - n1, that push to each other at once."""
    async for nodes in _line_of(tmp_path, 2):
        yield nodes


@pytest.fixture(params=sorted(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    """Run the test at desktop and at phone size (``open_tab(url, **SIZES[size])``)."""
    return str(request.param)


@pytest.fixture
async def line3(tmp_path: Path) -> AsyncIterator[list[RunningNode]]:
    """Three nodes in a line, n0 - n1 - n2: n2 is two hops from n0."""
    async for nodes in _line_of(tmp_path, 3):
        yield nodes


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium (no browser download: DESIGN §6 machines are offline)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def _expected_console(text: str) -> bool:
    """Network noise the browser logs on its own: a 401 before login, a socket cut."""
    return text.startswith("Failed to load resource") or "WebSocket" in text


@dataclass
class Tab:
    """A page plus what it reported: script errors, dialogs, console errors."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """Fail on any uncaught script error or dialog the page produced."""
        assert not self.dialogs, f"dialogs opened: {self.dialogs}"
        assert not self.errors, f"page errors: {self.errors}"


@pytest.fixture
async def open_tab(browser: Any) -> AsyncIterator[Any]:
    """``await open_tab(url, **context_options)`` → a Tab in its own browser context."""
    contexts: list[Any] = []
    tabs: list[Tab] = []

    async def opener(url: str, **options: Any) -> Tab:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = await browser.new_context(**options)
        context.set_default_timeout(EXPECT_MS)
        contexts.append(context)
        page = await context.new_page()
        tab = Tab(page)

        async def on_dialog(dialog: Any) -> None:
            tab.dialogs.append(f"{dialog.type}: {dialog.message}")
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                tab.errors.append(f"console: {msg.text}")
                if msg.type == "error" and not _expected_console(msg.text)
                else None
            ),
        )
        await page.goto(url + "/meshchat/")
        tabs.append(tab)
        return tab

    yield opener
    for context in contexts:
        await context.close()
