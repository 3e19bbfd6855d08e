"""Two users on two synced nodes, in headless Chromium: chat, sessions, message actions."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.helpers import login, row, send

pytestmark = pytest.mark.browser


async def test_two_users_chat_live_both_ways(mesh: list[RunningNode], open_tab: Any) -> None:
    alice = await open_tab(mesh[0].url)
    bob = await open_tab(mesh[1].url)
    await login(alice, "w1aw")
    await login(bob, "K1ABC")
    await expect(alice.page.locator("#me")).to_have_text("W1AW")  # normalised
    await expect(alice.page.locator("#zone-name")).to_have_text("MeshChat")
    await send(alice, "hello from n0")
    await expect(row(bob, "hello from n0")).to_be_visible()
    await send(bob, "hello back from n1")
    await expect(row(alice, "hello back from n1")).to_be_visible()
    await expect(row(alice, "hello back from n1").locator(".trust")).to_have_text("via n1")
    # Shift+Enter is a new line, not a send.
    box = alice.page.get_by_label("Message", exact=True)
    await box.fill("line one")
    await box.press("Shift+Enter")
    await box.press_sequentially("line two")
    await expect(box).to_have_value("line one\nline two")
    await alice.page.get_by_role("button", name="Send").click()
    await expect(row(bob, "line two").locator(".text")).to_have_text("line one\nline two")
    # Every message once, however it arrived.
    await expect(row(bob, "hello from n0")).to_have_count(1)
    alice.assert_clean()
    bob.assert_clean()


async def test_login_errors_reload_and_logout(mesh: list[RunningNode], open_tab: Any) -> None:
    tab = await open_tab(mesh[0].url)
    page = tab.page
    await page.get_by_label("Callsign", exact=True).fill("not a call!")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#login-error")).to_contain_text("not a valid callsign")
    await expect(page.locator("#app")).to_be_hidden()
    await login(tab, "  ve3/w1aw/p ")
    await expect(page.locator("#me")).to_have_text("VE3/W1AW/P")
    await send(tab, "before the reload")
    await page.reload()
    await expect(page.locator("#conn")).to_have_text("live")
    await expect(page.locator("#me")).to_have_text("VE3/W1AW/P")
    await expect(row(tab, "before the reload")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_label("Callsign", exact=True)).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Callsign", exact=True)).to_be_visible()
    tab.assert_clean()


async def test_reply_edit_delete_and_reaction_reach_the_other_node(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    alice = await open_tab(mesh[0].url)
    bob = await open_tab(mesh[1].url)
    await login(alice, "W1AW", "correct horse battery staple")
    await login(bob, "K1ABC")
    await send(alice, "where is the generator?")
    question = row(bob, "where is the generator?")
    await expect(question).to_be_visible()
    await expect(row(alice, "where is the generator?").locator(".trust")).to_have_text("✓ signed")

    # Bob replies; Alice sees what it answers and can open the thread.
    await question.hover()
    await question.get_by_role("button", name="Reply").click()
    await expect(bob.page.locator("#reply-text")).to_contain_text("W1AW")
    await send(bob, "in the north shed")
    answer = row(alice, "in the north shed")
    await expect(answer.locator(".quote")).to_contain_text("where is the generator?")
    await answer.locator(".quote").click()
    thread = alice.page.locator("#thread-messages")
    await expect(thread.locator("article.msg")).to_have_count(2)
    await alice.page.get_by_role("button", name="Close thread").click()

    # Bob reacts; Alice sees the count and who reacted.
    await question.hover()
    await question.get_by_role("button", name="React").click()
    await question.get_by_role("button", name="React with 👍").click()
    chip = row(alice, "where is the generator?").locator(".chip")
    await expect(chip.locator(".chip-count")).to_have_text("1")
    await expect(chip).to_have_attribute("aria-label", "thumbs up 👍 1: K1ABC")
    await expect(chip).to_have_attribute("title", "thumbs up: K1ABC")

    # Alice edits and then deletes her message; Bob sees both.
    mine = row(alice, "where is the generator?")
    await mine.hover()
    await mine.get_by_role("button", name="Edit").click()
    editor = alice.page.get_by_label("Edit message")
    await editor.fill("where is the spare generator?")
    await editor.press("Enter")
    edited = row(bob, "where is the spare generator?")
    await expect(edited.locator(".edited")).to_have_text("(edited)")
    mine = row(alice, "where is the spare generator?")
    await mine.hover()
    await mine.get_by_role("button", name="Delete").click()
    await mine.get_by_role("button", name="Confirm delete").click()
    await expect(bob.page.locator("#messages article.msg.deleted")).to_have_count(1)
    await expect(row(bob, "spare generator")).to_have_count(0)
    # Only one's own messages offer Edit and Delete.
    other = row(alice, "in the north shed")
    await other.hover()
    await expect(other.get_by_role("button", name="Edit")).to_have_count(0)
    alice.assert_clean()
    bob.assert_clean()


async def test_direct_messages_and_mentions_notify(mesh: list[RunningNode], open_tab: Any) -> None:
    alice = await open_tab(mesh[0].url)
    bob = await open_tab(mesh[1].url)
    await login(alice, "W1AW")
    await login(bob, "K1ABC")
    # A mention from the other node: highlighted, and the title counts it when unseen.
    await alice.page.get_by_role("link", name="Everything").click()
    await send(alice, "W1AW is on")  # a callsign is known to the zone once it posts
    await expect(row(bob, "W1AW is on")).to_be_visible()
    box = bob.page.get_by_label("Message", exact=True)
    await box.fill("ping @W1")
    await expect(bob.page.get_by_role("option", name="@W1AW")).to_be_visible()
    await box.press("Enter")
    await expect(box).to_have_value("ping @W1AW ")
    await box.press("Enter")
    await expect(row(alice, "ping @W1AW")).to_have_class(re.compile(r"\bmentioned\b"))
    # A direct message shows in its own conversation and is counted in the side panel.
    await bob.page.get_by_role("button", name="New direct message").click()
    await bob.page.get_by_label("Callsign to message").fill("w1aw")
    await bob.page.get_by_role("button", name="Open").click()
    await expect(bob.page.locator("#view-title")).to_have_text("Direct: W1AW")
    await send(bob, "private word")
    dm_link = alice.page.locator("#dm-list a", has_text="K1ABC")
    await expect(dm_link.locator(".badge")).to_contain_text("1")
    await expect(alice.page).to_have_title(re.compile(r"^\(1\) "))
    await expect(row(alice, "private word")).to_have_count(0)  # not in Everything
    await dm_link.click()
    await expect(row(alice, "private word")).to_be_visible()
    await expect(alice.page).to_have_title(re.compile(r"^Direct: K1ABC"))
    alice.assert_clean()
    bob.assert_clean()


async def test_channels_topics_and_unread_counts(mesh: list[RunningNode], open_tab: Any) -> None:
    alice = await open_tab(mesh[0].url)
    bob = await open_tab(mesh[1].url)
    await login(alice, "W1AW")
    await login(bob, "K1ABC")
    page = alice.page
    await page.get_by_role("button", name="New channel").click()
    await page.get_by_label("Channel name").fill("shelters")
    await page.get_by_label("Topic", exact=True).fill("Shelter status")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#view-title")).to_have_text("#shelters")
    await expect(page.locator("#view-topic")).to_have_text("Shelter status")
    await page.get_by_role("button", name="Edit topic").click()
    await page.get_by_label("Channel topic").fill("Shelter status and supplies")
    await page.get_by_role("button", name="Save topic").click()
    await expect(page.locator("#view-topic")).to_have_text("Shelter status and supplies")
    # The other node learns the channel and its topic live.
    link = bob.page.locator("#channel-list a", has_text="shelters")
    await expect(link).to_have_attribute("title", "Shelter status and supplies")
    # Bob, looking elsewhere, gets an unread count and a mention badge.
    await bob.page.get_by_role("link", name="Status").click()
    await expect(bob.page.locator("#status-title")).to_be_visible()
    await send(alice, "cots arrived, @K1ABC please confirm")
    await expect(link.locator(".badge").last).to_contain_text("1")
    await expect(link.locator(".mention-badge")).to_be_visible()
    await link.click()
    await expect(row(bob, "cots arrived")).to_be_visible()
    await expect(link.locator(".badge")).to_have_count(0)
    alice.assert_clean()
    bob.assert_clean()
