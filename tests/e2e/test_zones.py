"""A node serving two zones: the login page names them, a switcher counts unread per zone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.conftest import SIZES
from tests.e2e.helpers import login, row, settings
from tests.nodes import ApiClient, start_node

pytestmark = pytest.mark.browser


@pytest.fixture
async def two_zones(tmp_path: Path) -> AsyncIterator[RunningNode]:
    """One node, ``--zone Alpha --zone Bravo``."""
    node = await start_node(tmp_path / "z", node__zones=("Alpha", "Bravo"), node__name="eoc")
    try:
        yield node
    finally:
        await node.stop()


async def _post(node: RunningNode, zone: str, text: str) -> None:
    client = ApiClient(node.url)
    try:
        await client.login("K1ABC")
        assert (await client.post(text, zone=zone)).status == 201
    finally:
        await client.close()


async def test_switch_zones_and_count_unread_in_each(
    two_zones: RunningNode, open_tab: Any, size: str
) -> None:
    tab = await open_tab(two_zones.url, **SIZES[size])
    page = tab.page
    await expect(page.locator("#login-node")).to_have_text("Node eoc · zones Alpha, Bravo")
    await expect(page.get_by_label("Zone", exact=True)).to_have_value("Alpha")
    await login(tab, "W1AW")
    switch = page.locator("#zone-switch")
    await expect(page.locator("#zone-name")).to_have_text("Alpha")
    await expect(switch).to_be_enabled()

    # Someone writes in Bravo: the switcher counts it, by zone.
    await _post(two_zones, "Bravo", "traffic for bravo")
    await switch.click()
    bravo = page.locator("#zone-menu button", has_text="Bravo")
    await expect(bravo.locator(".badge")).to_contain_text("1")
    await expect(
        page.locator("#zone-menu button", has_text="Alpha").locator(".badge")
    ).to_have_count(0)
    await expect(page.locator("#zone-unread")).to_contain_text("1")
    await bravo.click()
    await expect(page.locator("#zone-name")).to_have_text("Bravo")
    await expect(row(tab, "traffic for bravo")).to_be_visible()
    await expect(page.locator("#zone-unread")).to_be_hidden()

    # Now Alpha has news, and Bravo's message is read.
    await _post(two_zones, "Alpha", "traffic for alpha")
    await switch.click()
    await expect(
        page.locator("#zone-menu button", has_text="Alpha").locator(".badge")
    ).to_contain_text("1")
    await expect(
        page.locator("#zone-menu button", has_text="Bravo").locator(".badge")
    ).to_have_count(0)
    await page.keyboard.press("Escape")

    # A reload stays in the zone; the login page offers the zones.
    await page.reload()
    await expect(page.locator("#conn")).to_have_text("live")
    await expect(page.locator("#zone-name")).to_have_text("Bravo")
    await settings(tab)
    await page.locator("#settings, .topbar").get_by_role("button", name="Log out").click()
    await page.get_by_label("Zone", exact=True).select_option("Alpha")
    await login(tab, "W1AW")
    await expect(page.locator("#zone-name")).to_have_text("Alpha")
    await expect(row(tab, "traffic for alpha")).to_be_visible()
    tab.assert_clean()


async def test_a_node_with_one_zone_shows_it_without_a_switcher(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    tab = await open_tab(mesh[0].url)
    await expect(tab.page.locator("#login-node")).to_have_text("Node n0 · zone MeshChat")
    await expect(tab.page.get_by_label("Zone", exact=True)).to_be_hidden()
    await login(tab, "W1AW")
    await expect(tab.page.locator("#zone-switch")).to_be_disabled()
    await expect(tab.page.locator("#zone-name")).to_have_text("MeshChat")
    tab.assert_clean()
