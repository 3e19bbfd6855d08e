"""The composer survives a slow link (issue 10): pending rows, order, retries, no duplicates."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.conftest import SIZES
from tests.e2e.helpers import login, row

pytestmark = pytest.mark.browser

SLOW_S = 1.5


class SlowLink:
    """POSTs to /api/v1/messages take SLOW_S; ``mode`` fails the next one on request."""

    def __init__(self) -> None:
        self.mode = "slow"  # slow | refuse (never reaches the node) | lose (reply lost)
        self.keys: list[str] = []

    async def handle(self, route: Any) -> None:
        request = route.request
        if request.method != "POST":
            await route.continue_()
            return
        self.keys.append(request.headers.get("idempotency-key", ""))
        await asyncio.sleep(SLOW_S)
        mode, self.mode = self.mode, "slow"
        if mode == "refuse":
            await route.abort("connectionreset")
        elif mode == "lose":
            await route.fetch()  # the node commits the message...
            await route.abort("connectionreset")  # ...and its answer never arrives
        else:
            await route.continue_()


class HeldFrames:
    """The tab's live socket, holding back the frames that name ``text`` while ``hold``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.hold = False
        self.held: list[tuple[Any, Any]] = []

    def route(self, ws: Any) -> None:
        server = ws.connect_to_server()

        def from_server(message: Any) -> None:
            if self.hold and self.text in str(message):
                self.held.append((ws, message))
            else:
                ws.send(message)

        server.on_message(from_server)

    def release(self) -> None:
        self.hold = False
        for ws, message in self.held:
            ws.send(message)
        self.held.clear()


async def _texts(node: RunningNode) -> list[str]:
    from meshchat.store.models import MessageQuery

    return [m.text for m in await node.node.store.messages(MessageQuery(zone="MeshChat"))]


async def test_quick_sends_on_a_slow_link_keep_text_order_and_drafts(
    mesh: list[RunningNode], open_tab: Any, size: str
) -> None:
    tab = await open_tab(mesh[0].url, **SIZES[size])
    page = tab.page
    await login(tab, "W1AW")
    link = SlowLink()
    await page.route("**/api/v1/messages", link.handle)
    box = page.get_by_label("Message", exact=True)
    for text in ("first", "second", "third"):
        await box.fill(text)
        await box.press("Enter")
        assert await box.input_value() == ""  # taken at once, not after the POST returns
    pending = page.locator("#messages article.pending")
    await expect(pending).to_have_count(3)
    await expect(pending.locator(".text")).to_have_text(["first", "second", "third"])
    await expect(pending.first).to_contain_text("sending…")
    await expect(pending.nth(2)).to_contain_text("waiting to send…")
    # The next draft is the user's: nothing wipes it when the sends complete.
    await box.fill("my next draft")
    shown = page.locator("#messages article.msg:not(.pending) .text")
    await expect(shown).to_have_text(["first", "second", "third"], timeout=4 * SLOW_S * 1000 + 5000)
    await expect(pending).to_have_count(0)
    await expect(box).to_have_value("my next draft")
    assert await _texts(mesh[0]) == ["first", "second", "third"]
    assert len(set(link.keys)) == 3 and all(link.keys), link.keys
    tab.assert_clean()


async def test_a_failed_send_stays_with_retry_and_a_retry_never_duplicates(
    mesh: list[RunningNode], open_tab: Any, size: str
) -> None:
    tab = await open_tab(mesh[0].url, **SIZES[size])
    page = tab.page
    frames = HeldFrames("fuel is low")
    await page.route_web_socket("**/api/v1/ws*", frames.route)
    await login(tab, "W1AW")
    link = SlowLink()
    await page.route("**/api/v1/messages", link.handle)
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: (
            statuses.append(r.status)
            if r.request.method == "POST" and r.url.endswith("/messages")
            else None
        ),
    )
    box = page.get_by_label("Message", exact=True)

    # The POST never reaches the node: the row stays, with its text and Retry.
    link.mode = "refuse"
    await box.fill("generator is down")
    await box.press("Enter")
    failed = page.locator("#messages article.pending.failed")
    await expect(failed).to_have_count(1)
    await expect(failed.locator(".text")).to_have_text("generator is down")
    await expect(failed).to_contain_text("Not sent")
    await failed.get_by_role("button", name="Retry").click()
    await expect(row(tab, "generator is down")).to_have_count(1)
    await expect(page.locator("#messages article.pending")).to_have_count(0)

    # The node commits but the answer is lost (and the live frame is slow to come): the
    # retry gets the first record back from the node instead of making a second one.
    frames.hold = True
    link.mode = "lose"
    await box.fill("fuel is low")
    await box.press("Enter")
    await expect(failed).to_have_count(1)
    await failed.get_by_role("button", name="Retry").click()
    await expect(page.locator("#messages article.pending.sent")).to_have_count(1)
    assert statuses[-1] == 200  # a repeat: the first record's id, not a new one
    frames.release()
    await expect(page.locator("#messages article.pending")).to_have_count(0)
    await expect(row(tab, "fuel is low")).to_have_count(1)
    await page.wait_for_timeout(500)
    await expect(row(tab, "fuel is low")).to_have_count(1)
    assert await _texts(mesh[0]) == ["generator is down", "fuel is low"]
    assert link.keys[-1] == link.keys[-2]  # the retry carried the same Idempotency-Key

    # A failed one can go back to the composer instead.
    link.mode = "refuse"
    await box.fill("try this later")
    await box.press("Enter")
    await expect(failed).to_have_count(1)
    await failed.get_by_role("button", name="Edit").click()
    await expect(failed).to_have_count(0)
    await expect(box).to_have_value("try this later")
    tab.assert_clean()
