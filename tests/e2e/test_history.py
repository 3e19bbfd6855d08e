"""History in the browser: scroll-back, the 1d/1w/1m/3m jumps, search, missed messages."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests import factories
from tests.e2e.helpers import login, row
from tests.nodes import ApiClient

pytestmark = pytest.mark.browser

DAY_MS = 86_400_000
FILLER = 120  # more than two pages of 50, so old messages are not on the first page


async def _seed(node: RunningNode) -> None:
    """Old messages at 2, 20 and 80 days back, then a page-filling run of recent ones."""
    now = int(time.time() * 1000)
    made = [
        factories.make_record(
            ts=now - 2 * DAY_MS,
            callsign="KD0OLD",
            channel="ops",
            text="two days back: antenna mast repaired",
            node="n0",
        ),
        factories.make_record(
            ts=now - 20 * DAY_MS,
            callsign="KD0OLD",
            channel="ops",
            text="twenty days back: net schedule",
            node="n0",
        ),
        factories.make_record(
            ts=now - 80 * DAY_MS,
            callsign="KD0OLD",
            channel="logistics",
            text="eighty days back: generator fuel",
            node="n0",
        ),
    ]
    made += [
        factories.make_record(
            ts=now - 3_600_000 + i * 1000,
            callsign="KD0OLD",
            channel="ops",
            text=f"filler {i:03d}",
            node="n0",
        )
        for i in range(FILLER)
    ]
    results = await node.node.ingestor.submit([r.envelope for r in made], "local")
    assert set(results) == {"ok"}


async def test_jumps_scrollback_and_search(mesh: list[RunningNode], open_tab: Any) -> None:
    await _seed(mesh[0])
    tab = await open_tab(mesh[0].url)
    page = tab.page
    await login(tab, "W1AW")
    await page.locator("#channel-list a", has_text="ops").click()
    await expect(row(tab, f"filler {FILLER - 1:03d}")).to_be_visible()
    await expect(row(tab, "two days back")).to_have_count(0)

    await page.get_by_role("button", name="Jump to 1 day ago").click()
    await expect(row(tab, "filler 000")).to_be_visible()
    await expect(row(tab, "two days back")).to_have_count(0)
    await page.get_by_role("button", name="Jump to 1 week ago").click()
    await expect(row(tab, "two days back")).to_be_visible()
    await expect(row(tab, "twenty days back")).to_have_count(0)
    await page.get_by_role("button", name="Jump to 1 month ago").click()
    await expect(row(tab, "twenty days back")).to_be_visible()
    # 3 months, in Everything: every channel.
    await page.locator("#channel-list a", has_text="Everything").click()
    await page.get_by_role("button", name="Jump to 3 months ago").click()
    await expect(row(tab, "eighty days back")).to_be_visible()

    # Scrolling back from the newest page reaches the oldest message of the channel.
    await page.locator("#channel-list a", has_text="ops").click()
    await expect(row(tab, f"filler {FILLER - 1:03d}")).to_be_visible()
    for _ in range(10):
        if await row(tab, "twenty days back").count():
            break
        await page.locator("#messages").evaluate("el => { el.scrollTop = 0; }")
        await page.wait_for_timeout(300)
    await expect(row(tab, "twenty days back")).to_be_visible()
    await expect(page.locator("#messages .sys", has_text="beginning")).to_be_visible()

    # Search finds text in any channel and opens it in its context.
    await page.get_by_label("Search messages").fill("generator")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#view-title")).to_have_text("Search")
    hit = row(tab, "eighty days back")
    await expect(hit.locator(".chan-tag")).to_have_text("#logistics")
    await hit.click()
    await expect(page.locator("#view-title")).to_have_text("#logistics")
    await expect(page.locator("#messages article.msg.hit")).to_contain_text("generator fuel")
    tab.assert_clean()


async def test_messages_missed_since_last_visit_are_marked(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    # K1ABC visits once (through the API), leaves, and others talk meanwhile.
    client = ApiClient(mesh[0].url)
    try:
        assert (await client.login("K1ABC")).status == 200
        await client.post("my own earlier word")
        await client.request("POST", "/api/v1/logout")
        other = ApiClient(mesh[1].url)
        try:
            await other.login("W1AW")
            await other.post("said while K1ABC was away")
        finally:
            await other.close()
    finally:
        await client.close()
    tab = await open_tab(mesh[0].url)
    await login(tab, "K1ABC")
    missed = row(tab, "said while K1ABC was away")
    await expect(missed).to_have_class("msg unseen")
    await expect(tab.page.locator(".new-divider")).to_have_count(1)
    await expect(row(tab, "my own earlier word")).not_to_have_class("msg unseen")
    tab.assert_clean()


async def test_a_message_that_arrives_while_the_first_page_loads_stays_shown(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    """The page, read before the message, must not wipe it out when it is shown.

    Found by a CI run: two messages posted right after a login were missing from the list
    (the live socket had them; the history page, answered later, emptied the list).
    """
    tab = await open_tab(mesh[0].url)
    page = tab.page
    read, release = asyncio.Event(), asyncio.Event()
    pushed: list[str] = []

    async def late_page(route: Any) -> None:
        response = await route.fetch()  # the node reads the page now...
        read.set()
        await release.wait()  # ...and the tab gets it after the live message
        await route.fulfill(response=response)

    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: pushed.append(str(f))))
    await page.route("**/api/v1/messages?*", late_page)
    await login(tab, "W1AW")
    await asyncio.wait_for(read.wait(), 15)
    client = ApiClient(mesh[0].url)
    try:
        await client.login("K1ABC")
        assert (await client.post("posted while the page was on its way")).status == 201
    finally:
        await client.close()
    for _ in range(150):  # bounded: 15 s
        if any("posted while the page" in str(f) for f in pushed):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the live socket never carried the message")
    release.set()
    await expect(row(tab, "posted while the page was on its way")).to_be_visible()
    await page.unroute("**/api/v1/messages?*")
    assert tab.errors == []
