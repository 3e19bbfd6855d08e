"""Presence gossip across hops (DESIGN §5.2): status changes spread, leavers expire, no log."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from meshchat.app import RunningNode
from tests.mesh import QUICK, count, eventually, line, same_ids, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient

# Gossip every ~0.3 s; an entry nobody refreshes for 1.5 s is gone (DESIGN: ephemeral).
TIMING = dataclasses.replace(QUICK, presence_ttl_s=1.5)


async def presence(node: RunningNode) -> dict[tuple[str, str], dict[str, Any]]:
    """Return ``GET /api/v1/presence`` of ``node`` keyed by (callsign, node)."""
    api = ApiClient(node.url)
    try:
        reply = await api.request("GET", "/api/v1/presence")
    finally:
        await api.close()
    assert reply.status == 200, reply
    return {(u["callsign"], u["node"]): u for u in reply.body["users"]}


async def test_presence_crosses_hops_changes_and_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nodes = await start_nodes(tmp_path, 3, TIMING)
    user = ApiClient(nodes[0].url)
    idler = ApiClient(nodes[0].url)
    try:
        line(nodes)
        await wait_live(nodes)
        await eventually(lambda: same_ids(nodes, 3), what="announcements spread")
        counts = [await count(n) for n in nodes]

        assert (await user.login("W1AW")).status == 200
        # Present while a tab is open (a live socket); a login alone is not presence.
        tab = await user.http.ws_connect(user.base + "/api/v1/ws")
        far = nodes[2]

        async def seen_far(status: str) -> bool:
            entry = (await presence(far)).get(("W1AW", "n0"))
            return entry is not None and entry["status"] == status

        await eventually(lambda: seen_far("online"), within=5.0, what="presence two hops away")

        reply = await user.request("POST", "/api/v1/presence", json={"status": "away"})
        assert reply.status == 200, reply
        await eventually(lambda: seen_far("away"), within=5.0, what="status change spread")

        assert (await user.request("POST", "/api/v1/logout")).status == 200

        async def gone_everywhere(callsign: str) -> bool:
            for node in nodes:
                if any(c == callsign for c, _ in await presence(node)):
                    return False
            return True

        await eventually(lambda: gone_everywhere("W1AW"), within=6.0, what="logout spread")

        # A browser whose tab closes leaves everyone's list after the leave grace.
        assert (await idler.login("K1ABC")).status == 200
        idle_tab = await idler.http.ws_connect(idler.base + "/api/v1/ws")

        async def idler_far() -> bool:
            return ("K1ABC", "n0") in await presence(far)

        await eventually(idler_far, within=5.0, what="second user seen far away")
        monkeypatch.setattr(nodes[0].node.presence, "leave_grace_ms", 300)
        await idle_tab.close()
        await eventually(lambda: gone_everywhere("K1ABC"), within=6.0, what="closed tab expiry")
        await tab.close()

        # Presence is gossip only: not one record was written for it anywhere.
        assert [await count(n) for n in nodes] == counts
    finally:
        await user.close()
        await idler.close()
        await stop_all(nodes)


async def test_typing_crosses_two_hops(tmp_path: Path) -> None:
    """A typing notice on n0 reaches a browser socket on n2, two hops away."""
    nodes = await start_nodes(tmp_path, 3, QUICK)
    writer, reader = ApiClient(nodes[0].url), ApiClient(nodes[2].url)
    try:
        line(nodes)
        await wait_live(nodes)
        await writer.login("W1AW")
        await reader.login("K1ABC")
        ws_w = await writer.http.ws_connect(writer.base + "/api/v1/ws")
        ws_r = await reader.http.ws_connect(reader.base + "/api/v1/ws")
        try:
            await ws_w.send_json({"type": "typing", "channel": "ops"})
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                frame = await asyncio.wait_for(ws_r.receive_json(), 10)
                if frame["type"] == "typing":
                    break
                assert asyncio.get_running_loop().time() < deadline
            assert (frame["callsign"], frame["node"], frame["channel"]) == ("W1AW", "n0", "ops")
        finally:
            await ws_w.close()
            await ws_r.close()
    finally:
        await writer.close()
        await reader.close()
        await stop_all(nodes)
