"""Unread that means unread: history from before the last visit does not count."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests import factories
from tests.e2e.conftest import SIZES
from tests.e2e.helpers import login, settings
from tests.nodes import ApiClient

pytestmark = pytest.mark.browser

DAY_MS = 86_400_000


def _old(count: int, start: int) -> list[tuple[bytes, bytes]]:
    """Three-month-old records, as an import or a new node's bootstrap brings them."""
    ts = int(time.time() * 1000) - 90 * DAY_MS
    return [
        factories.make_record(
            ts=ts + start + i, callsign="N0OLD", channel="ops", text=f"archive {start + i}"
        ).envelope
        for i in range(count)
    ]


async def test_imported_history_is_not_unread(
    mesh: list[RunningNode], open_tab: Any, size: str
) -> None:
    node = mesh[0]
    tab = await open_tab(node.url, **SIZES[size])
    page = tab.page
    await login(tab, "W1AW")
    await settings(tab)
    await page.locator("#settings, .topbar").get_by_role("button", name="Log out").click()
    # While W1AW is away: 78 old records are imported, and one new message is written.
    assert set(await node.node.ingestor.submit(_old(78, 0), "local")) == {"ok"}
    client = ApiClient(node.url)
    try:
        await client.login("K1ABC")
        await client.post("news while you were away", channel="ops")
        await client.request("POST", "/api/v1/channels", json={"name": "weather", "topic": ""})
    finally:
        await client.close()

    await page.evaluate("location.hash = '#/c/weather'")
    await login(tab, "W1AW")
    ops = page.locator("#channel-list a", has_text="ops")
    await expect(ops.locator(".badge")).to_have_text("1 unread")
    await expect(page).to_have_title("(1) #weather · MeshChat")
    # More old history arriving live (a bootstrap while the tab is open) is not news either.
    assert set(await node.node.ingestor.submit(_old(5, 100), "local")) == {"ok"}
    await page.wait_for_timeout(500)
    await expect(ops.locator(".badge")).to_have_text("1 unread")
    await expect(page).to_have_title("(1) #weather · MeshChat")
    tab.assert_clean()
