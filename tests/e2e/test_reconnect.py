"""Reconnect on demand: a capped back-off, and "Reconnect now" after a long outage."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.conftest import SIZES
from tests.e2e.helpers import login, row
from tests.nodes import ApiClient

pytestmark = pytest.mark.browser

CAP_S = 5.0  # live.js MAX_BACKOFF_MS


class Link:
    """The tab's link through a switch: while it is down, every socket and request fails."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.down = False
        self.open: list[Any] = []

    async def http(self, route: Any) -> None:
        await (route.abort("internetdisconnected") if self.down else route.continue_())

    async def route(self, ws: Any) -> None:
        if self.down:
            await ws.close(code=1011, reason="link down")
            return
        ws.connect_to_server()
        self.open.append(ws)

    async def cut(self) -> None:
        self.down = True
        for ws in self.open:
            await ws.close(code=1011, reason="link down")
        self.open.clear()

    def restore(self) -> None:
        self.down = False


async def test_a_restored_link_is_used_within_seconds(
    mesh: list[RunningNode], open_tab: Any, size: str
) -> None:
    tab = await open_tab(mesh[0].url, **SIZES[size])
    page = tab.page
    link = Link(page)
    await page.route_web_socket("**/api/v1/ws*", link.route)
    await page.route("**/api/v1/**", link.http)
    await login(tab, "W1AW")
    conn = page.locator("#conn")
    reconnect = page.get_by_role("button", name="Reconnect now")
    await expect(reconnect).to_be_hidden()

    # A long outage: many failed tries, the back-off at its cap.
    await link.cut()
    await expect(conn).to_contain_text("offline")
    await expect(reconnect).to_be_visible()
    await page.wait_for_timeout(10_000)  # tries after 0.5, 1, 2, 4 s, then every 5 s
    client = ApiClient(mesh[1].url)
    try:
        await client.login("K1ABC")
        await client.post("said during the outage")
    finally:
        await client.close()
    link.restore()
    started = time.monotonic()
    await expect(conn).to_have_text("live", timeout=int((CAP_S + 2) * 1000))
    assert time.monotonic() - started <= CAP_S + 1.5
    await expect(row(tab, "said during the outage")).to_be_visible()  # resumed by cursor
    await expect(reconnect).to_be_hidden()

    # Again, and this time the operator does not wait.
    await link.cut()
    await expect(reconnect).to_be_visible()
    await page.wait_for_timeout(4_500)  # tries after 0.5, 1.5 and 3.5 s; the next at 7.5 s
    link.restore()
    started = time.monotonic()
    await reconnect.click()
    await expect(conn).to_have_text("live", timeout=2_000)
    assert time.monotonic() - started < 2.0
    tab.assert_clean()
