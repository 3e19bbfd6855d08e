"""The status page in the browser: peers and their sync state, judged by the node's timing."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.helpers import login

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
