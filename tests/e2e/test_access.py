"""Members-only channels in Chromium, on two synced nodes: who sees them, members, hiding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat import app, identity
from meshchat.app import RunningNode
from tests.e2e.helpers import login, open_menu, pick, row, send, show_actions
from tests.mesh import QUICK, for_config, link, wait_live
from tests.nodes import node_config

pytestmark = pytest.mark.browser

PASS = "correct horse battery staple"


@pytest.fixture
async def trusting(tmp_path: Path) -> AsyncIterator[list[RunningNode]]:
    """n0 - n1; both trust W1AW as a zone operator."""
    key = bytes(identity.derive_user_key("W1AW", PASS).verify_key).hex()
    cfgs = [
        node_config(tmp_path / f"n{i}", node__name=f"n{i}", zone__operators=(key,))
        for i in range(2)
    ]
    nodes = [await app.start(cfg, for_config(QUICK, cfg)) for cfg in cfgs]
    link(*nodes)
    await wait_live(nodes)
    yield nodes
    for node in nodes:
        await node.stop()


def channel_link(tab: Any, name: str) -> Any:
    return tab.page.locator("#channel-list a", has_text=name)


async def test_a_member_and_a_non_member_on_two_nodes(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    alice = await open_tab(mesh[0].url)  # W1AW, the net manager, on n0
    bob = await open_tab(mesh[1].url)  # K1ABC, on the team, on n1
    carol = await open_tab(mesh[1].url)  # N0CALL, not on the team, on n1
    await login(bob, "K1ABC", PASS)
    await login(carol, "N0CALL", PASS)
    await login(alice, "W1AW", PASS)
    await send(bob, "K1ABC checking in")  # a key and a callsign: bound, so invitable
    await send(carol, "N0CALL checking in")
    await expect(row(alice, "N0CALL checking in")).to_be_visible()

    page = alice.page
    await open_menu(alice)
    await page.get_by_role("button", name="New channel").click()
    await page.get_by_label("Channel name").fill("team")
    await page.get_by_label("Topic", exact=True).fill("Search team 2")
    await page.get_by_label("Members only").check()
    await expect(page.locator("#channel-help")).to_contain_text("not a secret")
    await page.get_by_label("Invite (callsigns)").fill("k1abc")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#view-title")).to_have_text("#team")
    await expect(page.locator("#view-lock")).to_be_visible()
    await expect(page.locator("#view-topic")).to_have_text("Members only · Search team 2")

    # The member, on the other node, gets it live, marked, and talks in it.
    await expect(channel_link(bob, "team").locator(".lock-icon")).to_be_visible()
    await pick(bob, "channel-list", "team")
    await expect(bob.page.locator("#view-lock")).to_be_visible()
    await send(bob, "on my way to sector 4")
    await expect(row(alice, "on my way to sector 4")).to_be_visible()

    # The non-member on the same node sees no such channel, and a link to it says why.
    await expect(channel_link(carol, "Everything")).to_be_visible()
    await expect(channel_link(carol, "team")).to_have_count(0)
    await carol.page.goto(mesh[1].url + "/meshchat/#/c/team")
    await expect(carol.page.locator("#view-topic")).to_contain_text("restricted to its members")
    await expect(carol.page.locator("#composer")).to_be_hidden()
    await pick(carol, "channel-list", "Everything")
    await expect(row(carol, "N0CALL checking in")).to_be_visible()
    await expect(row(carol, "sector 4")).to_have_count(0)

    # The owner sees the members and roles, invites carol, removes bob.
    await page.get_by_role("button", name="Members").click()
    members = page.locator("#members-list")
    await expect(members.locator("li", has_text="W1AW")).to_contain_text("owner")
    await expect(members.locator("li", has_text="K1ABC")).to_contain_text("member")
    await page.get_by_label("Callsign to invite").fill("N0CALL")
    await page.get_by_role("button", name="Invite").click()
    await expect(members.locator("li", has_text="N0CALL")).to_be_visible()
    await expect(carol.page.locator("#messages .sys", has_text="invited to #team")).to_be_visible()
    await expect(channel_link(carol, "team")).to_be_visible()
    await page.get_by_role("button", name="Remove K1ABC").click()
    await expect(members.locator("li", has_text="K1ABC")).to_have_count(0)
    await expect(channel_link(bob, "team")).to_have_count(0)
    await expect(bob.page.locator("#view-topic")).to_contain_text("no longer a member")
    for tab in (alice, bob, carol):
        tab.assert_clean()


async def test_a_callsign_only_login_is_told_why_it_cannot(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    tab = await open_tab(mesh[0].url)
    await login(tab, "KD0VIA")
    page = tab.page
    await open_menu(tab)
    await page.get_by_role("button", name="New channel").click()
    await page.get_by_label("Channel name").fill("secret")
    await page.get_by_label("Members only").check()
    await expect(page.locator("#channel-error")).to_contain_text("passphrase")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator("#channel-error")).to_contain_text("passphrase")
    await expect(channel_link(tab, "secret")).to_have_count(0)
    tab.assert_clean()


async def test_a_zone_operator_hides_a_message_everywhere(
    trusting: list[RunningNode], open_tab: Any
) -> None:
    mod = await open_tab(trusting[0].url)
    troll = await open_tab(trusting[1].url)
    reader = await open_tab(trusting[1].url)
    await login(mod, "W1AW", PASS)
    await login(troll, "K9TRL", PASS)
    await login(reader, "N0CALL")
    await send(troll, "buy my antenna now")
    await expect(row(reader, "buy my antenna")).to_be_visible()
    message = row(mod, "buy my antenna")
    await show_actions(mod, message)
    await message.get_by_role("button", name="Hide", exact=True).click()
    await expect(row(mod, "buy my antenna")).to_have_count(0)
    await expect(row(reader, "buy my antenna")).to_have_count(0)  # on the other node too
    await expect(row(troll, "buy my antenna").locator(".hidden-note")).to_contain_text(
        "only you see"
    )
    await reader.page.reload()
    await expect(reader.page.locator("#conn")).to_have_text("live")
    await expect(row(reader, "buy my antenna")).to_have_count(0)
    for tab in (mod, troll, reader):
        tab.assert_clean()
