"""Presence and typing across two nodes: they appear, change and expire."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.helpers import login

pytestmark = pytest.mark.browser

# Remote presence lapses after QUICK.presence_ttl_s (3 s); the hub sends changes every 2 s.
EXPIRE_MS = 15_000


async def test_presence_status_joins_and_typing(mesh: list[RunningNode], open_tab: Any) -> None:
    alice = await open_tab(mesh[0].url)
    bob = await open_tab(mesh[1].url)
    await login(alice, "W1AW")
    people = alice.page.locator("#people li.person")
    await expect(people.filter(has_text="W1AW")).to_contain_text("n0")
    await login(bob, "K1ABC")

    # Bob appears on Alice's node with his node's name, and a join line is shown.
    bob_there = people.filter(has_text="K1ABC")
    await expect(bob_there).to_contain_text("online · n1", timeout=EXPIRE_MS)
    await expect(alice.page.locator("#messages .sys", has_text="K1ABC joined")).to_be_visible()

    # Bob sets himself busy; Alice sees it.
    await bob.page.get_by_role("button", name="Settings").click()
    await bob.page.get_by_label("My status").select_option("busy")
    await expect(bob_there).to_contain_text("busy · n1", timeout=EXPIRE_MS)

    # Bob types: Alice sees "K1ABC is typing…", and it lapses when he stops.
    await bob.page.get_by_label("Message", exact=True).press_sequentially("thinking")
    typing = alice.page.locator("#typing")
    await expect(typing).to_have_text("K1ABC is typing…")
    await expect(typing).to_have_text("", timeout=EXPIRE_MS)

    # Joins and leaves can be turned off.
    await alice.page.get_by_role("button", name="Settings").click()
    await alice.page.get_by_label("Show joins and leaves").uncheck()

    # Bob logs out: he leaves Alice's list (remote presence expires), silently now.
    await bob.page.get_by_role("button", name="Log out").click()
    await expect(bob_there).to_have_count(0, timeout=EXPIRE_MS)
    await expect(alice.page.locator("#messages .sys", has_text="K1ABC left")).to_have_count(0)
    alice.assert_clean()
    bob.assert_clean()
