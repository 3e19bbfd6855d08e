"""Search that finds everything: a count, pages past 50, marks, from:/in:, one's own DMs."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests import factories
from tests.e2e.conftest import SIZES
from tests.e2e.helpers import login, pick, row, search

pytestmark = pytest.mark.browser

HITS = 114


async def _seed(node: RunningNode) -> None:
    now = int(time.time() * 1000) - 3_600_000
    made = [
        factories.make_record(
            ts=now + i * 1000,
            callsign="KD0XYZ" if i % 2 else "N0CALL",
            channel="ops" if i % 3 else "logistics",
            text=f"water report {i:03d}",
            node="n0",
        )
        for i in range(HITS)
    ]
    made += [
        factories.make_record(
            ts=now + i * 1000 + 500, callsign="N0CALL", text=f"noise {i}", node="n0"
        )
        for i in range(60)
    ]
    made.append(
        factories.make_record(
            ts=now + 200_000, callsign="K1ABC", text="water for W1AW only", to="W1AW", node="n0"
        )
    )
    made.append(
        factories.make_record(
            ts=now + 200_001,
            callsign="K1ABC",
            text="water for someone else",
            to="N0CALL",
            node="n0",
        )
    )
    assert set(await node.node.ingestor.submit([r.envelope for r in made], "local")) == {"ok"}


async def test_search_counts_pages_marks_and_filters(
    mesh: list[RunningNode], open_tab: Any, size: str
) -> None:
    await _seed(mesh[0])
    tab = await open_tab(mesh[0].url, **SIZES[size])
    page = tab.page
    await login(tab, "W1AW")
    await search(tab, "water")
    summary = page.locator(".search-summary")
    await expect(summary).to_have_text("115 results for “water”")  # 114 + W1AW's own DM
    results = page.locator("#messages article.msg")
    await expect(results).to_have_count(50)
    # Newest first; the words found are marked.
    await expect(results.first.locator(".text")).to_have_text("water for W1AW only")
    await expect(results.first.locator("mark")).to_have_text("water")
    await expect(row(tab, "someone else")).to_have_count(0)  # another's DM stays theirs
    more = page.get_by_role("button", name="Show more results")
    await more.click()
    await expect(results).to_have_count(100)
    await more.click()
    await expect(results).to_have_count(115)
    await expect(more).to_have_count(0)
    await expect(row(tab, "water report 000")).to_have_count(1)

    # Past a thousand the node stops counting, and the page says so.
    async def capped(route: Any) -> None:
        response = await route.fetch()
        body = await response.json()
        if body.get("total") is not None:
            body["total"], body["total_exact"] = 1000, False
        await route.fulfill(response=response, json=body)

    await page.route("**/api/v1/messages?*", capped)
    await search(tab, "water")
    await expect(summary).to_have_text("1,000+ results for “water”")
    await page.unroute("**/api/v1/messages?*")

    # from: and in: narrow it, typed in the search box.
    await search(tab, "water from:kd0xyz in:#ops")
    hits = HITS // 2 - len([i for i in range(1, HITS, 2) if i % 3 == 0])
    await expect(summary).to_have_text(f"{hits} results for “water” from KD0XYZ in #ops")
    texts = await results.locator(".text").all_inner_texts()
    assert all(re.match(r"water report \d{3}$", t) for t in texts)
    numbers = [int(t[-3:]) for t in texts]
    assert all(n % 2 == 1 and n % 3 for n in numbers), numbers
    await expect(results.first.locator(".chan-tag")).to_have_text("#ops")

    # "Only here": the search form adds the channel being read.
    await pick(tab, "channel-list", "logistics")
    await expect(page.locator("#view-title")).to_have_text("#logistics")
    if size == "phone":
        await page.get_by_role("button", name="Search and history").click()
    await page.get_by_label("Search where").select_option(label="In #logistics")
    await search(tab, "report")
    await expect(page.get_by_label("Search messages")).to_have_value("in:#logistics report")
    await expect(summary).to_have_text(
        f"{len(range(0, HITS, 3))} results for “report” in #logistics"
    )
    # A result opens in its channel, among its neighbours.
    await results.first.locator(".text").click()
    await expect(page.locator("#view-title")).to_have_text("#logistics")
    await expect(page.locator("#messages article.msg.hit")).to_have_count(1)
    tab.assert_clean()
