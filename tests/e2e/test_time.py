"""Time as operators keep it: 24-hour and UTC settings, day separators, the full stamp."""

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
from tests.e2e.helpers import login, row, send, settings

pytestmark = pytest.mark.browser

DAY_MS = 86_400_000
UTC_CLOCK = re.compile(r"^\d\d:\d\d UTC$")
LOCAL_12H = re.compile(r"^\d\d:\d\d [AP]M$")


async def test_utc_and_24_hour_change_every_time_and_survive_a_reload(
    mesh: list[RunningNode], open_tab: Any, size: str
) -> None:
    now = int(time.time() * 1000)
    old = factories.make_record(
        ts=now - 3 * DAY_MS, callsign="KD0OLD", text="three days back", node="n0"
    )
    await mesh[0].node.ingestor.submit([old.envelope], "local")
    # A clock the operator did not choose: 12-hour, New York (UTC-5 or -4).
    tab = await open_tab(mesh[0].url, **SIZES[size], locale="en-US", timezone_id="America/New_York")
    page = tab.page
    await login(tab, "W1AW")
    await send(tab, "check-in")
    stamps = page.locator("#messages .stamp time")
    await expect(stamps).to_have_count(2)
    for text in await stamps.all_inner_texts():
        assert LOCAL_12H.match(text), text
    # One separator a day: three days back, and today.
    await expect(page.locator("#messages .day-sep")).to_have_count(2)
    await expect(page.locator("#messages .day-sep").last).to_have_text("Today")

    await settings(tab)
    await page.get_by_label("Times in UTC").check()
    await page.get_by_label("24-hour clock").check()
    for text in await stamps.all_inner_texts():
        assert UTC_CLOCK.match(text), text
    people = page.locator("#people .where time")
    for text in await people.all_text_contents():  # in the closed drawer on a phone
        assert UTC_CLOCK.match(text), text
    # The full date and time, UTC first now, and local too, on hover (title) and on a tap.
    stamp = row(tab, "check-in").locator(".stamp")
    await expect(stamp).to_have_attribute(
        "title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · .* local \(UTC")
    )
    await stamp.click()
    await expect(row(tab, "check-in").locator(".stamp-full")).to_contain_text("UTC")
    await expect(row(tab, "check-in").locator(".stamp-full")).to_contain_text("local")

    await page.reload()
    await expect(page.locator("#conn")).to_have_text("live")
    await expect(stamps).to_have_count(2)
    for text in await stamps.all_inner_texts():
        assert UTC_CLOCK.match(text), text
    await settings(tab)
    await expect(page.get_by_label("Times in UTC")).to_be_checked()
    await page.get_by_label("Times in UTC").uncheck()
    for text in await stamps.all_inner_texts():
        assert re.match(r"^\d\d:\d\d$", text), text  # local, still 24-hour
    tab.assert_clean()
