"""What the screen says is true (issue 10): impostors marked everywhere, edits only where right,
a logout ends every tab."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.conftest import Tab
from tests.e2e.helpers import login, row, search, send, show_actions

pytestmark = pytest.mark.browser

PASS = "correct horse battery staple"


async def test_an_impostor_is_marked_in_messages_online_list_search_and_mentions(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    # The impostor logs in on n1 before the callsign is bound to anyone's key.
    impostor = await open_tab(mesh[1].url)
    await login(impostor, "K2ABC")
    real = await open_tab(mesh[0].url)
    await login(real, "K2ABC", PASS)
    await send(real, "the real K2ABC here")
    observer = await open_tab(mesh[0].url)
    await login(observer, "W1AW")
    await expect(row(impostor, "the real K2ABC here")).to_be_visible()  # the binding is there

    await send(impostor, "trust me, I am K2ABC @W1AW")
    fake = row(observer, "trust me")
    await expect(fake.locator(".trust")).to_have_text("⚠ unverified")
    await expect(fake).to_have_class("msg mentioned")  # a mention, marked for what it is
    await expect(row(observer, "the real K2ABC here").locator(".trust")).to_have_text("✓ signed")

    # The online list: the real one on n0, the impostor on n1 marked; "(you)" only once.
    people = observer.page.locator("#people li.person")
    entries = people.filter(has_text="K2ABC")
    await expect(entries).to_have_count(2, timeout=15_000)
    await expect(entries.filter(has_text="n1").locator(".t-conflict")).to_have_count(1)
    await expect(entries.filter(has_text="n0").locator(".t-conflict")).to_have_count(0)
    mine = real.page.locator("#people li.person", has_text="K2ABC")
    await expect(mine).to_have_count(2)
    await expect(mine.filter(has_text="(you)")).to_have_count(1)
    await expect(mine.filter(has_text="n1").locator(".t-conflict")).to_have_count(1)

    await search(observer, "trust")
    hit = observer.page.locator("#messages article.msg", has_text="trust me")
    await expect(hit.locator(".trust")).to_have_text("⚠ unverified")
    for tab in (impostor, real, observer):
        tab.assert_clean()


async def test_a_callsign_only_post_offers_edit_only_in_the_browser_that_sent_it(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    poster = await open_tab(mesh[0].url)
    other = await open_tab(mesh[0].url)  # another browser typing the same callsign
    await login(poster, "W1VIA")
    await login(other, "W1VIA")
    await send(poster, "sent from the first browser")
    for tab, offered in ((poster, 1), (other, 0)):
        message = row(tab, "sent from the first browser")
        await expect(message).to_be_visible()
        await show_actions(tab, message)
        await expect(message.get_by_role("button", name="Edit")).to_have_count(offered)
        await expect(message.get_by_role("button", name="Delete")).to_have_count(offered)
    await poster.page.reload()  # the node says which are its own: still offered
    await expect(poster.page.locator("#conn")).to_have_text("live")
    message = row(poster, "sent from the first browser")
    await show_actions(poster, message)
    await expect(message.get_by_role("button", name="Edit")).to_have_count(1)
    poster.assert_clean()
    other.assert_clean()


async def test_a_logout_ends_every_tab_of_the_session(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    first = await open_tab(mesh[0].url)
    await login(first, "W1AW")
    page = await first.page.context.new_page()  # a second tab of the same browser
    second = Tab(page)
    page.on("pageerror", lambda exc: second.errors.append(str(exc)))
    await page.goto(mesh[0].url + "/meshchat/")
    await expect(page.locator("#conn")).to_have_text("live")
    await first.page.locator("#settings, .topbar").get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=10_000)
    await expect(page.locator("#login-error")).to_contain_text("log in again")
    first.assert_clean()
    second.assert_clean()
