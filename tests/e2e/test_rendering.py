"""Messages and controls that render anywhere: folds, right-to-left text, labels or icons
on every control (this machine has no emoji font), and reactions beyond the quick six."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.conftest import SIZES
from tests.e2e.helpers import login, open_menu, row, send, settings, show_actions
from tests.nodes import ApiClient

pytestmark = pytest.mark.browser

LONG = "\n".join(f"line {i}: " + "status nominal, " * 30 for i in range(60))  # ~30 KB
ARABIC = "مرحبا بالجميع، الشبكة تعمل"
HEBREW = "שלום לכולם, הרשת פועלת"

# Every visible control with its name and whether it holds an SVG icon. A name made only
# of emoji or symbols shows as empty boxes where no emoji font is installed.
CONTROLS = """() => [...document.querySelectorAll(
    'button, a[href], select, input:not([type=hidden]), textarea, [role=button]')]
  .filter((e) => e.checkVisibility({visibilityProperty: true, opacityProperty: true}))
  .map((e) => {
    const labels = e.labels ? [...e.labels].map((l) => l.innerText).join(' ') : '';
    const name = (e.getAttribute('aria-label') || labels || e.innerText || e.title ||
                  e.placeholder || '').trim();
    const shown = (e.innerText || e.value || e.placeholder || '').trim();
    return {id: e.id || e.className || e.tagName, name, shown, svg: !!e.querySelector('svg'),
            tag: e.tagName};
  })"""


def _readable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


async def _check_controls(tab: Any, where: str) -> None:
    controls = await tab.page.evaluate(CONTROLS)
    assert controls, where
    for c in controls:
        assert _readable(c["name"]), (where, c)
        # What the eye sees is words or an icon (inputs show their label beside them).
        if c["tag"] in ("BUTTON", "A"):
            assert c["svg"] or _readable(c["shown"]), (where, c)


async def test_long_messages_fold_and_rtl_reads_right_to_left(
    mesh: list[RunningNode], open_tab: Any, size: str
) -> None:
    tab = await open_tab(mesh[0].url, **SIZES[size])
    page = tab.page
    await login(tab, "W1AW")
    client = ApiClient(mesh[0].url)
    try:
        await client.login("K1ABC")
        assert (await client.post(LONG)).status == 201
        assert (await client.post(ARABIC)).status == 201
    finally:
        await client.close()
    await send(tab, HEBREW)
    long_row = row(tab, "line 0: status nominal")
    text = long_row.locator(".text")
    await expect(text).to_have_class("text foldable folded")
    height = await text.evaluate("e => e.getBoundingClientRect().height")
    assert height < 250, height  # a few lines, not 4,900 px
    await long_row.get_by_role("button", name="Show more").click()
    await expect(text).not_to_have_class("text foldable folded")
    assert await text.evaluate("e => e.getBoundingClientRect().height") > 2000
    await long_row.get_by_role("button", name="Show less").click()
    await expect(text).to_have_class("text foldable folded")
    # A short message does not fold.
    await expect(row(tab, HEBREW).get_by_role("button", name="Show more")).to_have_count(0)
    # Right-to-left text is laid out right to left.
    for words in (ARABIC, HEBREW):
        body = row(tab, words).locator(".text")
        await expect(body).to_have_attribute("dir", "auto")
        assert await body.evaluate("e => getComputedStyle(e).direction") == "rtl"
    await expect(row(tab, "line 0").locator(".text")).to_have_attribute("dir", "auto")
    assert await page.get_by_label("Message", exact=True).get_attribute("dir") == "auto"
    tab.assert_clean()


async def test_every_control_has_words_or_an_icon_and_reactions_go_beyond_six(
    mesh: list[RunningNode], open_tab: Any, size: str
) -> None:
    tab = await open_tab(mesh[0].url, **SIZES[size])
    page = tab.page
    await expect(page.get_by_label("Callsign", exact=True)).to_be_visible()
    await _check_controls(tab, "login")
    await login(tab, "W1AW")
    # This machine has no emoji font: the page knows, and names emoji in words.
    assert await page.evaluate("document.documentElement.classList.contains('no-emoji')")
    await send(tab, "react to this")
    message = row(tab, "react to this")
    await show_actions(tab, message)
    await message.get_by_role("button", name="React").click()
    picker = message.locator(".emoji-picker")
    await expect(picker.locator(".emoji-btn")).to_have_count(48)
    await _check_controls(tab, "chat with the picker open")
    await picker.get_by_role("button", name="fire engine").click()
    chip = message.locator(".chip")
    await expect(chip).to_contain_text("fire engine")
    await expect(chip.locator(".chip-count")).to_have_text("1")
    # Any emoji typed: one not in the set, named by its code point.
    await show_actions(tab, message)
    await message.get_by_role("button", name="React").click()
    await message.get_by_label("Any other emoji").fill("🦜")
    await message.get_by_role("button", name="Add").click()
    await expect(message.locator(".chip")).to_have_count(2)
    await expect(message.locator(".chip").nth(1)).to_contain_text("U+1F99C")
    await settings(tab)
    await _check_controls(tab, "settings")
    await open_menu(tab)
    await _check_controls(tab, "side panel")
    tab.assert_clean()
