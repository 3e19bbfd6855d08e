"""Steps the browser tests share: log in, send, find a message row."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import Tab


async def login(tab: Tab, callsign: str, passphrase: str = "") -> None:
    """Log in through the form and wait for the live socket."""
    page = tab.page
    await page.get_by_label("Callsign", exact=True).fill(callsign)
    if passphrase:
        await page.get_by_label("Passphrase", exact=True).fill(passphrase)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#conn")).to_have_text("live")


async def send(tab: Tab, text: str) -> None:
    """Type ``text`` in the composer and press Enter."""
    box = tab.page.get_by_label("Message", exact=True)
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


def row(tab: Tab, text: str) -> Any:
    """The message row whose own text (not a quote of it) contains ``text``."""
    page = tab.page
    return page.locator("#messages article.msg").filter(has=page.locator(".text", has_text=text))
