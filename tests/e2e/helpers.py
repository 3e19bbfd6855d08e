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


def is_phone(tab: Tab) -> bool:
    """Whether the tab is at phone size."""
    viewport = tab.page.viewport_size
    return bool(viewport and viewport["width"] < 760)


async def settings(tab: Tab) -> None:
    """Open the settings panel (under the gear) if it is closed."""
    toggle = tab.page.get_by_role("button", name="Settings")
    if await toggle.get_attribute("aria-expanded") != "true":
        await toggle.click()


async def open_menu(tab: Tab) -> None:
    """On a phone, open the drawer of channels and people (a desktop always shows it)."""
    if is_phone(tab):
        toggle = tab.page.get_by_role("button", name="Channels and people")
        if await toggle.get_attribute("aria-expanded") != "true":
            await toggle.click()


async def pick(tab: Tab, list_id: str, text: str) -> None:
    """Open a channel or conversation from the side panel (the drawer on a phone)."""
    await open_menu(tab)
    await tab.page.locator(f"#{list_id} a", has_text=text).click()


async def show_actions(tab: Tab, message: Any) -> None:
    """Show a row's action bar: hover on a desktop, a tap (focus) on a phone."""
    if is_phone(tab):
        await message.locator(".msg-head .who").click()
    else:
        await message.hover()


async def search(tab: Tab, text: str) -> None:
    """Search for ``text`` from the view's search form (behind a button on a phone)."""
    page = tab.page
    if is_phone(tab) and not await page.get_by_label("Search messages").is_visible():
        await page.get_by_role("button", name="Search and history").click()
    await page.get_by_label("Search messages").fill(text)
    await page.get_by_label("Search messages").press("Enter")


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
