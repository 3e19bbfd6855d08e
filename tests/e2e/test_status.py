"""The status page in the browser: peers and their sync state, judged by the node's timing."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.conftest import SIZES
from tests.e2e.helpers import login
from tests.nodes import ApiClient

pytestmark = pytest.mark.browser


async def _peer_stale_after(tab: Any, seconds: float) -> None:
    """Answer the page's status requests with the node's own, peer_stale_s replaced."""

    async def handle(route: Any) -> None:
        response = await route.fetch()
        body = await response.json()
        body["timing"]["peer_stale_s"] = seconds
        await route.fulfill(response=response, body=json.dumps(body))

    await tab.page.route("**/api/v1/status", handle)


async def test_peer_staleness_follows_the_node_timing(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    tab = await open_tab(mesh[0].url)
    page = tab.page
    await login(tab, "W1AW")
    status = await page.request.get(mesh[0].url + "/api/v1/status")
    timing = (await status.json())["timing"]
    assert set(timing) >= {"peer_stale_s", "sync_interval_s", "presence_ttl_s", "idle_s"}

    # A peer that synced a moment ago is stale when the node says so at once...
    await _peer_stale_after(tab, 0)
    await page.get_by_role("link", name="Status").click()
    peer = page.locator("table.peers tbody tr").first
    await expect(peer.locator("td").first).to_have_text(" stale")
    await expect(page.locator(".peer-map .peer.stale")).to_have_count(1)

    # ...and synced when the node allows a day.
    await page.unroute("**/api/v1/status")
    await _peer_stale_after(tab, 86_400)
    await page.reload()
    await expect(page.locator("#conn")).to_have_text("live")
    await expect(peer.locator("td").first).to_have_text(" synced")
    await expect(page.locator(".peer-map .peer.synced")).to_have_count(1)
    tab.assert_clean()


async def test_the_status_page_draws_a_node_two_hops_away(
    line3: list[RunningNode], open_tab: Any, size: str
) -> None:
    far = ApiClient(line3[2].url)
    far_tab = None
    try:
        await far.login("K1ABC")  # a user on n2, two hops from n0, with a tab open there
        far_tab = await far.http.ws_connect(far.base + "/api/v1/ws")
        await far.post("hello from the far end")
        tab = await open_tab(line3[0].url, **SIZES[size])
        page = tab.page
        await login(tab, "W1AW")
        await page.evaluate("location.hash = '#/status'")
        nodes = page.locator("table.nodes tbody tr")
        n2 = nodes.filter(has=page.locator("th", has_text="n2"))
        await expect(n2).to_be_visible()
        cells = n2.locator("td")
        await expect(cells.nth(0)).to_have_text("meshchat")
        await expect(cells.nth(1)).to_have_text("through the mesh")
        await expect(cells.nth(2)).to_have_text("1: K1ABC", timeout=15_000)  # presence, gossiped
        await expect(cells.nth(3)).to_contain_text("ago")
        n1 = nodes.filter(has=page.locator("th", has_text="n1"))
        await expect(n1.locator("td").nth(1)).to_have_text("direct peer")
        await expect(nodes.first.locator("td").nth(1)).to_have_text("this node")
        # The picture has all three; the peer table's columns say what they count.
        await expect(page.locator(".peer-map .peer")).to_have_count(3)
        await expect(page.locator(".peer-map .peer.far")).to_have_count(1)
        heads = page.locator("table.peers thead th")
        await expect(heads.nth(2)).to_have_text("Last synced")
        await expect(heads.nth(3)).to_have_text("Our last call answered")
        await expect(page.locator("#peers-note")).to_contain_text("either node started")
        tab.assert_clean()
    finally:
        if far_tab is not None and not far_tab.closed:
            await far_tab.close()
        await far.close()


async def test_refusals_and_clock_warnings_are_on_the_status_page(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    tab = await open_tab(mesh[0].url)
    page = tab.page
    await login(tab, "W1AW")
    peer_url = (await (await page.request.get(mesh[0].url + "/api/v1/status")).json())["peers"][0][
        "url"
    ]

    async def handle(route: Any) -> None:
        # The counters and the warning come from the node (tests/sync cover how); here
        # the page is shown two of each, as a node an hour off and under attack has them.
        response = await route.fetch()
        body = await response.json()
        body["sync_refused"] = {"bad_request": 12, "too_large": 3}
        body["clock_warnings"] = [{"url": peer_url, "name": "<b>fast</b>", "skew_s": 3600}]
        await route.fulfill(response=response, body=json.dumps(body))

    await page.route("**/api/v1/status", handle)
    await page.get_by_role("link", name="Status").click()
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("Sync requests refused")
    await expect(facts).to_contain_text("bad_request: 12, too_large: 3")
    warning = page.locator(".clock-warning")
    await expect(warning).to_have_count(1)
    await expect(warning).to_contain_text("<b>fast</b>'s clock is 1.0 h ahead of this node's")
    await expect(page.locator(".clock-warning b")).to_have_count(0)  # a name is only text
    tab.assert_clean()
