"""A phone layout that leaves room for the messages (390 x 844, touch)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.conftest import SIZES
from tests.e2e.helpers import login, row, send

pytestmark = pytest.mark.browser

HEIGHT = SIZES["phone"]["viewport"]["height"]
ON_TOP = """(id) => { const b = document.getElementById(id).getBoundingClientRect();
  const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
  return !!hit && !!hit.closest('#' + id); }"""


async def _box(page: Any, selector: str) -> dict[str, float]:
    box = await page.locator(selector).bounding_box()
    assert box is not None, selector
    return dict(box)


async def test_the_messages_get_the_screen(mesh: list[RunningNode], open_tab: Any) -> None:
    tab = await open_tab(mesh[0].url, **SIZES["phone"])
    page = tab.page
    await login(tab, "W1AW")
    await send(tab, "from the phone")
    await expect(row(tab, "from the phone")).to_be_visible()
    messages = await _box(page, "#messages")
    assert messages["height"] >= 0.7 * HEIGHT, messages  # it was ~580 of 844 before
    assert messages["y"] <= 110, messages  # the top bar and the view's title, one line each
    # Search and the history jumps wait behind a button.
    await expect(page.get_by_label("Search messages")).to_be_hidden()
    await expect(page.get_by_role("button", name="Jump to 1 day ago")).to_be_hidden()
    await page.get_by_role("button", name="Search and history").click()
    await expect(page.get_by_label("Search messages")).to_be_visible()
    await expect(page.get_by_role("button", name="Jump to 1 day ago")).to_be_visible()
    await page.get_by_role("button", name="Search and history").click()
    await expect(page.get_by_label("Search messages")).to_be_hidden()

    # One's own callsign and Log out are under the gear.
    await expect(page.locator("#me")).to_be_hidden()
    await expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    await page.get_by_role("button", name="Settings").click()
    await expect(page.locator("#me-info")).to_contain_text("Logged in as W1AW")
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    await expect(page.get_by_role("link", name="Node status")).to_be_visible()
    await page.get_by_role("button", name="Settings").click()

    # The open drawer leaves its own button uncovered, and that button closes it.
    menu = page.get_by_role("button", name="Channels and people")
    await menu.click()
    await expect(page.locator("#sidebar")).to_be_visible()
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await page.wait_for_timeout(300)  # the slide-in
    assert await page.evaluate(ON_TOP, "menu-toggle")
    await menu.click()
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(page.locator("#sidebar")).to_be_hidden()
    tab.assert_clean()
