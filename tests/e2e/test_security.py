"""Hostile text stays text and state changes need the CSRF token (DESIGN §3, §6)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("playwright.async_api")  # the Debian-floor venv has no Playwright

from playwright.async_api import expect

from meshchat.app import RunningNode
from tests.e2e.helpers import login, row, send

pytestmark = pytest.mark.browser

HOSTILE = (
    "<img src=x onerror=alert(1)> <script>alert(2)</script> "
    "[x](javascript:alert(3)) **<b onmouseover=alert(4)>bold</b>** "
    "`<svg onload=alert(5)>` javascript:alert(6)"
)


async def test_hostile_message_shows_as_text_and_runs_nothing(
    mesh: list[RunningNode], open_tab: Any
) -> None:
    alice = await open_tab(mesh[0].url)
    bob = await open_tab(mesh[1].url)
    await login(alice, "W1AW")
    await login(bob, "K1ABC")
    await send(bob, HOSTILE)
    for tab in (alice, bob):
        hostile = row(tab, "<script>alert(2)</script>")
        await expect(hostile).to_be_visible()
        await expect(hostile.locator(".text")).to_contain_text("<img src=x onerror=alert(1)>")
        await hostile.hover()
        for tag in ("img", "script", "svg", "b"):
            assert await hostile.locator(tag).count() == 0, tag
        # Formatting still works around it, and no link other than http(s) is made.
        await expect(hostile.locator("strong")).to_have_text("<b onmouseover=alert(4)>bold</b>")
        await expect(hostile.locator("a")).to_have_count(0)
        assert await tab.page.locator("img").count() == 0
        scripts = await tab.page.locator("script").evaluate_all("s => s.map(x => x.src)")
        assert [s.rsplit("/", 1)[-1] for s in scripts] == ["app.js"]
    await alice.page.wait_for_timeout(500)
    alice.assert_clean()
    bob.assert_clean()


async def test_post_without_csrf_token_is_refused(mesh: list[RunningNode], open_tab: Any) -> None:
    tab = await open_tab(mesh[0].url)
    await login(tab, "W1AW")
    status = await tab.page.evaluate(
        """() => fetch('/api/v1/messages', {method: 'POST', credentials: 'same-origin',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({channel: '', text: 'forged'})}).then(r => r.status)"""
    )
    assert status == 403
    response = await tab.page.request.get(mesh[0].url + "/meshchat/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    await expect(row(tab, "forged")).to_have_count(0)
