"""The location hash in the browser: a malformed one falls back to the default view."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.helpers import login, row, send

pytestmark = pytest.mark.browser

# A truncated UTF-8 escape: decodeURIComponent throws URIError on it.
MALFORMED = "#/c/%E0%A4%A"


async def test_malformed_hash_shows_everything_and_the_ui_still_works(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    tab = await open_tab(mesh[0].url)
    page = tab.page
    await login(tab, "W1AW")
    await page.locator("#channel-list a", has_text="Everything").click()
    await send(tab, "before the bad link")

    # Followed while the page is open (a hashchange), from another view...
    await page.goto(mesh[0].url + "/meshchat/#/dm/K1ABC")
    await expect(page.locator("#view-title")).to_have_text("Direct: K1ABC")
    await page.goto(mesh[0].url + "/meshchat/" + MALFORMED)
    await expect(page.locator("#view-title")).to_have_text("Everything")
    # ...and opened from scratch (the first view after login).
    await page.reload()
    await expect(page.locator("#conn")).to_have_text("live")
    await expect(page.locator("#view-title")).to_have_text("Everything")
    await expect(row(tab, "before the bad link")).to_be_visible()

    # Routing still works afterwards, and so does sending.
    await send(tab, "after the bad link")
    await expect(row(tab, "after the bad link")).to_be_visible()
    await page.get_by_role("link", name="Status").click()
    await expect(page.locator("#status-title")).to_be_visible()
    await page.get_by_role("link", name="Back to chat").click()
    await expect(page.locator("#view-title")).to_have_text("Everything")
    tab.assert_clean()
