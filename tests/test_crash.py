"""Crash safety: SIGKILL under concurrent posts loses nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from meshchat.app import DB_FILE
from meshchat.store.db import Store
from tests.nodes import ApiClient
from tests.procs import ServeProcess, data_args

WRITERS = 4
MAX_POSTS_EACH = 150  # bounded in count ...
MAX_SECONDS = 20.0  # ... and in time
KILL_AFTER_ACKS = 80


async def _writer(url: str, n: int, acked: list[str], enough: asyncio.Event) -> None:
    api = ApiClient(url)
    deadline = time.monotonic() + MAX_SECONDS
    try:
        await api.login(f"W{n}AW")
        for i in range(MAX_POSTS_EACH):
            if time.monotonic() > deadline:
                return
            try:
                reply = await api.post(f"writer {n} message {i}", channel="crash")
            except (aiohttp.ClientError, OSError):
                return  # the node is gone: everything acknowledged so far must survive
            if reply.status == 201:
                acked.append(reply.body["id"])
            if len(acked) >= KILL_AFTER_ACKS:
                enough.set()
    finally:
        await api.close()


async def _all_ids(url: str) -> list[str]:
    api = ApiClient(url)
    try:
        ids: list[str] = []
        page = await api.messages(channel="crash", limit=500)
        while page:
            ids = [m["id"] for m in page] + ids
            page = await api.messages(channel="crash", limit=500, before=page[0]["id"])
        return ids
    finally:
        await api.close()


async def test_sigkill_mid_stream_keeps_every_acknowledged_post(tmp_path: Path) -> None:
    node = ServeProcess(*data_args(tmp_path))
    acked: list[str] = []
    enough = asyncio.Event()
    writers = [asyncio.create_task(_writer(node.url, n, acked, enough)) for n in range(WRITERS)]
    try:
        await asyncio.wait_for(enough.wait(), MAX_SECONDS)
    finally:
        node.kill()  # SIGKILL while the writers are still posting
        await asyncio.gather(*writers)
    assert len(acked) >= KILL_AFTER_ACKS

    restarted = ServeProcess(*data_args(tmp_path))
    try:
        stored = await _all_ids(restarted.url)
    finally:
        assert restarted.stop() == 0
    assert len(stored) == len(set(stored)), "a message was stored twice"
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged posts were lost"

    store = await Store.open(tmp_path / DB_FILE)
    try:
        assert await store.integrity_check() == "ok"
    finally:
        await store.close()
