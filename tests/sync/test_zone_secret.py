"""The optional zone secret (DESIGN §5.2): members sync, outsiders get 401 and learn nothing."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from meshchat import records
from meshchat.app import RunningNode
from meshchat.sync import zoneauth
from meshchat.sync.wire import MSGPACK, PREFIX
from tests.factories import make_record
from tests.mesh import QUICK, ZONE, eventually, ids, line, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient

SECRET = "73 de the zone"

# Every sync route with a body it would accept from a member.
ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "info", None),
    ("POST", "reconcile", {"zone": ZONE, "neg": b"\x61"}),
    ("POST", "get", {"zone": ZONE, "ids": [bytes(32)]}),
    ("POST", "put", {"zone": ZONE, "records": []}),
    ("GET", f"range?zone={ZONE}&after_ts=0&after_id=&limit=10", None),
    ("POST", "presence", {"zone": ZONE, "updates": []}),
]


async def call(
    http: aiohttp.ClientSession,
    base: str,
    method: str,
    route: str,
    body: dict[str, object] | None,
    secret: str | None,
    now_s: float | None = None,
) -> int:
    """Send one sync request, signed with ``secret`` (if any) at ``now_s``; return the status."""
    path_qs = f"{PREFIX}/{route}"
    data = b"" if body is None else records.pack(body)
    headers = {"Content-Type": MSGPACK} if body is not None else {}
    if secret is not None:
        signed_at = time.time() if now_s is None else now_s
        headers.update(zoneauth.sign(secret, method, path_qs, data, signed_at))
    async with http.request(method, base + path_qs, data=data or None, headers=headers) as resp:
        await resp.read()
        return resp.status


async def test_members_sync_and_outsiders_learn_nothing(tmp_path: Path) -> None:
    members = await start_nodes(tmp_path / "zone", 2, QUICK, sync__zone_secret=SECRET)
    outsiders = [
        *await start_nodes(tmp_path / "none", 1, QUICK),
        *await start_nodes(tmp_path / "wrong", 1, QUICK, sync__zone_secret="not it"),
    ]
    try:
        line(members)
        await wait_live(members)
        record = make_record(text="for members only")
        assert await members[0].node.ingestor.submit([record.envelope], "local") == ["ok"]
        await eventually(lambda: _holds(members[1], record.id), what="members synced")

        for outsider in outsiders:  # they know the members; the members do not call them
            outsider.node.scheduler.add_peer(members[0].url, "static")

        async def refused() -> bool:
            return all(o.node.peers.all()[0].failures >= 2 for o in outsiders)

        await eventually(refused, what="outsiders refused twice")
        for outsider in outsiders:
            (peer,) = outsider.node.peers.all()
            assert "401" in peer.last_error and not peer.live
            zone_ids = set(await ids(members[0]))
            assert not set(await ids(outsider)) & zone_ids  # learned nothing of the zone
            status = await _status_peer(outsider)
            assert status["failures"] >= 2 and "401" in status["last_error"]
    finally:
        await stop_all(members + outsiders)


@pytest.mark.parametrize(("method", "route", "body"), ROUTES, ids=[r[1][:9] for r in ROUTES])
async def test_every_route_needs_a_fresh_valid_mac(
    tmp_path: Path, method: str, route: str, body: dict[str, object] | None
) -> None:
    (node,) = await start_nodes(tmp_path, 1, QUICK, sync__zone_secret=SECRET)
    http = aiohttp.ClientSession()
    try:
        base = node.url
        assert await call(http, base, method, route, body, SECRET) == 200
        assert await call(http, base, method, route, body, None) == 401
        assert await call(http, base, method, route, body, "not it") == 401
        stale = time.time() - 600  # ten minutes ago: outside the five-minute window
        assert await call(http, base, method, route, body, SECRET, now_s=stale) == 401
    finally:
        await http.close()
        await node.stop()


async def _holds(node: RunningNode, record_id: bytes) -> bool:
    return record_id in await ids(node)


async def _status_peer(node: RunningNode) -> dict[str, object]:
    """Return the only peer entry of ``node``'s ``GET /api/v1/status``."""
    api = ApiClient(node.url)
    try:
        reply = await api.request("GET", "/api/v1/status")
    finally:
        await api.close()
    assert reply.status == 200
    (peer,) = reply.body["peers"]
    result: dict[str, object] = peer
    return result


async def test_a_member_pushes_nothing_to_a_peer_without_the_secret(tmp_path: Path) -> None:
    """A peer with no secret answers anyone; its unsigned replies must not pass for a member's."""
    [member] = await start_nodes(tmp_path / "zone", 1, QUICK, sync__zone_secret=SECRET)
    [open_node] = await start_nodes(tmp_path / "open", 1, QUICK)
    try:
        member.node.scheduler.add_peer(open_node.url, "static")
        record = make_record(text="for members only")
        assert await member.node.ingestor.submit([record.envelope], "local") == ["ok"]

        async def refused() -> bool:
            peer = member.node.peers.get(open_node.url)
            return peer is not None and peer.failures >= 2

        await eventually(refused, within=10.0, what="the open peer refused as a member")
        peer = member.node.peers.get(open_node.url)
        assert peer is not None and "zone secret" in peer.last_error
        assert record.id not in await ids(open_node)
    finally:
        await stop_all([member, open_node])
