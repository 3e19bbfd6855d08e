"""Screenshots of the main screens for the README: login, chat and status, at desktop
and phone size, light and dark; and, light only, search, the settings, the zone menu,
the reaction picker and messages being sent over a slow, failing link.

    .venv/bin/python -m tests.e2e.screenshots [OUT_DIR]     # default: docs/screenshots

Three nodes in a line on 127.0.0.1, serving two zones, with a little history; nothing
leaves the machine. Debian's chromium without an emoji font draws no emoji: the UI then
names them in words, as the pictures show.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright, expect

from meshchat.app import RunningNode
from tests import factories
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.mesh import QUICK, line, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")
DAY_MS = 86_400_000
ZONES = ("MeshChat", "Training")
PASSPHRASE = "correct horse battery staple"


async def populate(nodes: list[RunningNode]) -> None:
    """A small, plausible net: channels with topics, a reply, reactions, a location."""
    n0, n1, n2 = nodes
    now = int(time.time() * 1000)
    old = [
        factories.make_record(
            ts=now - 3 * DAY_MS,
            callsign="KD0XYZ",
            channel="ops",
            text="Net control check-in starts at 19:00 local.",
            node="n1",
        ),
        factories.make_record(
            "legacy",
            epoch=(now - 2 * DAY_MS) // 1000,
            channel="ops",
            text="Legacy node still online at the fire station",
            callsign="N0OLD",
            node="FIRESTN",
        ),
    ]
    alice = ApiClient(n0.url)
    bob = ApiClient(n1.url)
    try:
        await alice.login("W1AW", PASSPHRASE)
        await bob.login("K1ABC")
        # W1AW's own key must be the first seen for the callsign: post before the impostor.
        first = await alice.post("Good evening all, W1AW on the EOC node.", channel="ops")
        impostor = factories.make_record(
            key=factories.user_key(),
            callsign="W1AW",
            channel="ops",
            text="(someone else claiming to be W1AW)",
            node="n1",
        )
        await n0.node.ingestor.submit([r.envelope for r in [*old, impostor]], "local")
        await alice.request(
            "POST",
            "/api/v1/channels",
            json={"name": "ops", "topic": "Tactical traffic for the exercise"},
        )
        await alice.request(
            "POST",
            "/api/v1/channels",
            json={"name": "shelters", "topic": "Shelter status and supplies"},
        )
        await bob.request("POST", "/api/v1/channels", json={"name": "weather", "topic": ""})
        q = await bob.post(
            "Shelter 3 needs **20 cots** and _water_. Who can run it?", channel="ops"
        )
        for _ in range(200):  # n0 must hold the question before it takes a reply to it
            if any(m["id"] == q.body["id"] for m in await alice.messages(channel="ops")):
                break
            await asyncio.sleep(0.05)
        await alice.post(
            "On it, leaving in 10 min. Route: `I-35 N` then 5th St.",
            channel="ops",
            reply_to=q.body["id"],
        )
        await bob.request(
            "POST", f"/api/v1/messages/{q.body['id']}/reactions", json={"emoji": "👍"}
        )
        await alice.request(
            "POST", f"/api/v1/messages/{first.body['id']}/reactions", json={"emoji": "✅"}
        )
        await bob.post("Staging here, @W1AW", channel="ops", geo=[39.0997, -94.5786])
        await bob.post("Forecast: https://weather.example/ks — storms after 22:00", channel="ops")
        await bob.post("Exercise debrief on Sunday", zone="Training")
        await bob.post("Shelter 3: cots arrived, thanks", to="W1AW")
        far = ApiClient(n2.url)
        try:
            await far.login("N0CALL")
            await far.post("Relay up at the water tower, shelter 5 reachable", channel="shelters")
        finally:
            await far.close()
        for _ in range(200):
            if len(await alice.messages(channel="ops")) >= 8 and await alice.messages(
                channel="shelters"
            ):
                break
            await asyncio.sleep(0.05)
    finally:
        await alice.close()
        await bob.close()


async def snap(page: Any, out: Path, name: str, taken: list[Path]) -> None:
    """Write one screenshot, with the pointer out of the way (no hover toolbar)."""
    await page.mouse.move(1, 1)
    await page.wait_for_timeout(300)
    path = out / f"{name}.png"
    await page.screenshot(path=str(path))
    taken.append(path)


async def shoot(browser: Any, url: str, out: Path, size: str, scheme: str) -> list[Path]:
    """Log in as W1AW on n0 and take the login, chat and status screens (and, light, more)."""
    context = await browser.new_context(
        viewport=SIZES[size], color_scheme=scheme, device_scale_factor=1
    )
    taken: list[Path] = []
    extras = scheme == "light"
    try:
        page = await context.new_page()
        await page.goto(url + "/meshchat/")
        await expect(page.locator("#login-node")).not_to_be_empty()
        await page.get_by_label("Callsign", exact=True).fill("w1aw")
        await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
        await snap(page, out, f"login-{size}-{scheme}", taken)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.locator("#conn")).to_have_text("live", timeout=20_000)
        await page.evaluate("location.hash = '#/c/ops'")
        await expect(page.locator("#messages article.msg").first).to_be_visible()
        await expect(page.locator("#people li.person").first).to_be_attached()
        await snap(page, out, f"chat-{size}-{scheme}", taken)
        if size == "phone":
            await page.get_by_role("button", name="Channels and people").click()
            await snap(page, out, f"menu-{size}-{scheme}", taken)
            await page.get_by_role("button", name="Channels and people").click()
        if extras:
            await extra_screens(page, out, size, taken)
        await page.evaluate("location.hash = '#/status'")
        await expect(page.locator("table.peers tbody tr").first).to_be_visible()
        await expect(page.locator(".peer-map .peer.far")).not_to_have_count(0)
        await snap(page, out, f"status-{size}-{scheme}", taken)
    finally:
        await context.close()
    return taken


async def extra_screens(page: Any, out: Path, size: str, taken: list[Path]) -> None:
    """Search, and at one size each: settings, zones, reactions, sending on a bad link."""
    if size == "phone":
        await page.get_by_role("button", name="Search and history").click()
    await page.get_by_label("Search messages").fill("shelter")
    await page.get_by_label("Search messages").press("Enter")
    await expect(page.locator(".search-summary")).to_contain_text("results")
    await snap(page, out, f"search-{size}-light", taken)
    await page.evaluate("location.hash = '#/c/ops'")
    await expect(page.locator("#messages article.msg").first).to_be_visible()
    if size == "phone":
        await page.get_by_role("button", name="Settings").click()
        await snap(page, out, "settings-phone-light", taken)
        await page.get_by_role("button", name="Settings").click()
        return
    await page.locator("#zone-switch").click()
    await expect(page.locator("#zone-menu .badge").last).to_be_visible()
    await snap(page, out, "zones-desktop-light", taken)
    await page.keyboard.press("Escape")
    message = page.locator("#messages article.msg").filter(
        has=page.locator(".text", has_text="Who can run it?")
    )
    await message.hover()
    await message.get_by_role("button", name="React").click()
    await message.locator(".emoji-picker").scroll_into_view_if_needed()
    await page.wait_for_timeout(200)
    path = out / "react-desktop-light.png"
    await page.screenshot(path=str(path))
    taken.append(path)
    await page.keyboard.press("Escape")
    # A slow link: two sends on their way, one that failed.
    state = {"n": 0}

    async def slow(route: Any) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        state["n"] += 1
        if state["n"] == 1:
            await route.abort("connectionreset")
        else:
            await asyncio.sleep(30)
            await route.abort("connectionreset")

    await page.route("**/api/v1/messages", slow)
    box = page.get_by_label("Message", exact=True)
    sends = ("Shelter 3 has power again", "Need 2 more radios at the EOC", "Net closes at 22:00")
    for text in sends:
        await box.fill(text)
        await box.press("Enter")
    await expect(page.locator("#messages article.pending.failed")).to_have_count(1)
    await snap(page, out, "sending-desktop-light", taken)
    await page.unroute("**/api/v1/messages")


async def take(out: Path) -> list[Path]:
    """Start three nodes, fill them and write every screenshot to ``out`` (an existing folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        nodes = await start_nodes(Path(tmp), 3, QUICK, node__zones=ZONES)
        try:
            line(nodes)
            await wait_live(nodes)
            await populate(nodes)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    taken = []
                    for size in SIZES:
                        for scheme in SCHEMES:
                            taken += await shoot(browser, nodes[0].url, out, size, scheme)
                    return taken
                finally:
                    await browser.close()
        finally:
            await stop_all(nodes)


def main() -> None:
    """Write the screenshots (to docs/screenshots unless a folder is given)."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(take(out)):
        print(path)


if __name__ == "__main__":
    main()
