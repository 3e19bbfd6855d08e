"""Hostile browsers and clients: every bad input a 4xx with a reason, every slow one dropped."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from meshchat import app
from meshchat.app import RunningNode
from tests.mesh import QUICK, eventually, for_config
from tests.nodes import ApiClient, node_config


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[RunningNode]:
    """A node that drops a request head not in within 0.5 s and takes 8 connections an address."""
    cfg = node_config(tmp_path / "n", web__max_connections_per_address=8)
    timing = for_config(QUICK, cfg)
    running = await app.start(cfg, dataclasses.replace(timing, head_timeout_s=0.5))
    yield running
    await running.stop()


async def test_bad_inputs_that_used_to_answer_500(client: ApiClient) -> None:
    await client.login("W1AW")
    reply = await client.request(
        "POST", "/api/v1/logout", headers={"X-CSRF-Token": "é"}, csrf=False
    )
    assert reply.status == 403 and reply.body["error"] == "bad_csrf"
    reply = await client.request("GET", "/api/v1/messages", params={"limit": "²"})
    assert reply.status == 400 and reply.body["error"] == "bad_limit"
    deep = "[" * 100_000 + "]" * 100_000
    async with client.http.post(
        client.base + "/api/v1/messages",
        data=deep,
        headers={"Content-Type": "application/json", "X-CSRF-Token": client.csrf or ""},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "bad_json"
    async with client.http.get(client.base + "/api/v1/ws", params={"cursor": "²"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "bad_cursor"


async def test_a_compressed_json_body_is_refused_unread(client: ApiClient) -> None:
    await client.login("W1AW")
    bomb = gzip.compress(json.dumps({"channel": "", "text": "x" * 5_000_000}).encode())
    async with client.http.post(
        client.base + "/api/v1/messages",
        data=bomb,
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-CSRF-Token": client.csrf or "",
        },
    ) as resp:
        assert resp.status == 415
        assert (await resp.json())["error"] == "unsupported_media_type"


async def test_heads_that_never_finish_are_dropped_and_leave_room_for_others(
    guarded: RunningNode,
) -> None:
    host, port = guarded.url.removeprefix("http://").split(":")
    stalled = []
    for _ in range(20):  # more than one address may hold: most are refused at once
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        await writer.drain()
        stalled.append((reader, writer))
    # Another address still gets the UI and the status page at once.
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as other,
        other.get(guarded.url + "/api/v1/status") as resp,
    ):
        assert resp.status == 200
    guard = guarded.node.guard
    assert guard.refused["per_address"] >= 12

    async def all_dropped() -> bool:
        for reader, _ in stalled:
            if not (reader.at_eof() or await _closed(reader)):
                return False
        return True

    await eventually(all_dropped, 5.0, "stalled heads dropped")
    assert guard.refused["slow_head"] >= 8
    for _, writer in stalled:
        writer.close()
    # And the address that stalled is welcome again.
    async with (
        aiohttp.ClientSession() as again,
        again.get(guarded.url + "/api/v1/status") as resp,
    ):
        assert resp.status == 200


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 0.05) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_a_full_disk_answers_507_with_what_to_do(
    node: RunningNode, client: ApiClient
) -> None:
    store = node.node.store
    await client.login("W1AW")
    async with store._write_lock:
        (pages,) = await store._writer.execute_fetchall("PRAGMA page_count")
        await store._writer.execute(f"PRAGMA max_page_count = {pages[0]}")
    reply = await client.post("x" * 30_000)
    assert reply.status == 507 and reply.body["error"] == "disk_full"
    assert "full" in reply.body["detail"] and "not damaged" in reply.body["detail"]
    async with store._write_lock:
        await store._writer.execute("PRAGMA max_page_count = 1073741823")
    assert (await client.post("space is back")).status == 201
