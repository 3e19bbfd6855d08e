"""A hostile peer must not steer this node: redirects, back-off and spoofed headers (issue 11)."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from meshchat import records
from meshchat.sync.wire import CONTACT_ID_CHARS, MSGPACK, NODE_HEADER
from tests.mesh import QUICK, ZONE, eventually, ids, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient
from tests.sync.test_bad_peers import FakePeer, peer_of


def msgpack_reply(body: object, status: int = 200) -> web.Response:
    return web.Response(body=records.pack(body), status=status, content_type=MSGPACK)


async def test_sync_calls_follow_no_redirect(tmp_path: Path) -> None:
    elsewhere = await FakePeer(lambda request: asyncio.sleep(0, web.Response())).start()

    async def redirect(request: web.Request) -> web.Response:
        await request.read()
        raise web.HTTPTemporaryRedirect(elsewhere.url + request.path_qs)

    fake = await FakePeer(redirect).start()
    nodes = await start_nodes(tmp_path, 1, QUICK)
    try:
        nodes[0].node.scheduler.add_peer(fake.url, "static")
        await eventually(lambda: asyncio.sleep(0, len(fake.hits) >= 3), 10.0, "three tries")
        assert elsewhere.hits == []  # nothing was re-sent to the address the peer chose
        assert peer_of(nodes[0], fake.url).failures >= 1
    finally:
        await stop_all(nodes)
        await fake.stop()
        await elsewhere.stop()


async def test_a_peer_that_answers_info_then_fails_stays_backed_off(tmp_path: Path) -> None:
    async def half_honest(request: web.Request) -> web.Response:
        await request.read()
        if request.path.endswith("/info"):
            zones = [{"name": ZONE, "count": 0, "horizon_ms": 365 * 86_400_000}]
            return msgpack_reply({"node_id": "ab" * 32, "name": "bad", "zones": zones})
        return msgpack_reply({"error": "internal", "detail": "no"}, 500)

    fake = await FakePeer(half_honest).start()
    timing = dataclasses.replace(QUICK, backoff_base_s=0.2, sync_interval_s=30.0)
    nodes = await start_nodes(tmp_path, 1, timing)
    try:
        nodes[0].node.scheduler.add_peer(fake.url, "static")
        await asyncio.sleep(3.0)  # bounded: the back-off doubles 0.2, 0.4, 0.8, 1.6 s
        peer = peer_of(nodes[0], fake.url)
        assert peer.failures >= 3, peer
        # Before, info reset the failures: a retry every 0.2 s, ~15 rounds in 3 s.
        rounds = len(fake.info_hits())
        assert rounds <= 6, rounds
    finally:
        await stop_all(nodes)
        await fake.stop()


async def test_a_spoofed_node_header_makes_no_one_skip_a_round(tmp_path: Path) -> None:
    """Reconciles claiming the peer's id from another address do not stand for the peer."""
    timing = dataclasses.replace(QUICK, sync_interval_s=0.4)
    nodes = await start_nodes(tmp_path, 2, timing)
    victim, other = sorted(nodes, key=lambda n: n.node.key_hex)  # the smaller id may skip
    spoof = other.node.key_hex[:CONTACT_ID_CHARS]
    # Only the victim knows the other: the other's posts reach it by its own rounds alone.
    victim.node.scheduler.add_peer(other.url, "static")
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    attacker = aiohttp.ClientSession(connector=connector)
    poster = ApiClient(other.url)
    stop = asyncio.Event()

    async def keep_spoofing() -> None:
        body = records.pack({"zone": ZONE, "neg": b"\x61"})
        headers = {"Content-Type": MSGPACK, NODE_HEADER: spoof}
        deadline = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < deadline:  # bounded in time
            async with attacker.post(
                victim.url + "/sync/v1/reconcile", data=body, headers=headers
            ) as resp:
                await resp.read()
            await asyncio.sleep(0.1)

    spoofer = asyncio.get_running_loop().create_task(keep_spoofing())
    try:
        await wait_live([victim])
        await poster.login("W2ABC")
        posted = await poster.post("from the other side")
        assert posted.status == 201
        wanted = bytes.fromhex(posted.body["id"])

        async def arrived() -> bool:
            return wanted in await ids(victim)

        await eventually(arrived, 8.0, "the post arrives by the victim's own rounds")
    finally:
        stop.set()
        await spoofer
        await attacker.close()
        await poster.close()
        await stop_all(nodes)


async def test_a_peer_whose_clock_is_an_hour_ahead_shows_a_clock_warning(
    tmp_path: Path,
) -> None:
    ahead = email.utils.formatdate(time.time() + 3600, usegmt=True)

    async def fast_clock(request: web.Request) -> web.Response:
        await request.read()
        reply = msgpack_reply({"error": "nope", "detail": ""}, 500)
        if request.path.endswith("/info"):
            zones = [{"name": ZONE, "count": 0, "horizon_ms": 365 * 86_400_000}]
            reply = msgpack_reply({"node_id": "cd" * 32, "name": "fast", "zones": zones})
        reply.headers["Date"] = ahead
        return reply

    fake = await FakePeer(fast_clock).start()
    nodes = await start_nodes(tmp_path, 1, QUICK)
    api = ApiClient(nodes[0].url)
    try:
        nodes[0].node.scheduler.add_peer(fake.url, "static")

        async def warned() -> bool:
            status = (await api.request("GET", "/api/v1/status")).body
            return [w["url"] for w in status["clock_warnings"]] == [fake.url]

        await eventually(warned, 10.0, "a clock warning on the status page")
    finally:
        await api.close()
        await stop_all(nodes)
        await fake.stop()
