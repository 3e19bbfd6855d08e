"""Threads in the browser: nested replies, reply counts, the thread panel and live quotes."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.helpers import login, row, send

pytestmark = pytest.mark.browser


async def _reply(tab: Any, to: str, text: str) -> None:
    """Answer the row showing ``to`` through its Reply button."""
    parent = row(tab, to)
    await parent.hover()
    await parent.get_by_role("button", name="Reply").click()
    await send(tab, text)


async def _thread_button(tab: Any, text: str) -> Any:
    """The Thread button of the row showing ``text`` (shown on hover)."""
    message = row(tab, text)
    await message.hover()
    return message.locator(".actions button", has_text="Thread")


async def test_nested_replies_counts_thread_panel_and_quotes(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    alice = await open_tab(mesh[0].url)
    bob = await open_tab(mesh[1].url)
    await login(alice, "W1AW")
    await login(bob, "K1ABC")
    await send(alice, "net check-in at 19:00")
    await expect(row(bob, "net check-in at 19:00")).to_be_visible()
    await _reply(bob, "net check-in at 19:00", "copy, I will relay")
    await expect(row(alice, "copy, I will relay")).to_be_visible()
    await _reply(alice, "copy, I will relay", "thanks, relay confirmed")
    await expect(row(bob, "thanks, relay confirmed")).to_be_visible()

    # Each message counts its direct replies; a reply with none still opens its thread.
    for tab in (alice, bob):
        await expect(await _thread_button(tab, "net check-in")).to_have_text("Thread (1)")
        await expect(await _thread_button(tab, "copy, I will relay")).to_have_text("Thread (1)")
        await expect(await _thread_button(tab, "relay confirmed")).to_have_text("Thread")

    # Opened from the deepest reply, the thread starts at its root, in time order.
    await (await _thread_button(bob, "relay confirmed")).click()
    panel = bob.page.locator("#thread-messages article.msg .text")
    await expect(panel).to_have_text(
        ["net check-in at 19:00", "copy, I will relay", "thanks, relay confirmed"]
    )

    # A reply made in the panel joins it and the count of what it answers.
    await bob.page.get_by_label("Reply in thread").fill("see you on the air")
    await bob.page.get_by_label("Reply in thread").press("Enter")
    await expect(panel).to_have_count(4)
    await expect(await _thread_button(alice, "net check-in")).to_have_text("Thread (2)")

    # An edit of the root redraws the quotes that show it, and the open thread.
    mine = row(alice, "net check-in at 19:00")
    await mine.hover()
    await mine.get_by_role("button", name="Edit").click()
    editor = alice.page.get_by_label("Edit message")
    await editor.fill("net check-in at 19:30")
    await editor.press("Enter")
    await expect(row(bob, "copy, I will relay").locator(".quote")).to_contain_text("19:30")
    await expect(panel.first).to_have_text("net check-in at 19:30")
    alice.assert_clean()
    bob.assert_clean()
