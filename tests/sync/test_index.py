"""The sync index: loaded in pages off the loop, fed by ingest, reloaded after a prune."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from meshchat import stubs
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.sync import index as index_module
from meshchat.sync.index import ZoneIndex
from meshchat.sync.negentropy import NegentropyInitiator, NegentropyStorage
from tests import factories

ZONE = factories.ZONE
T0 = factories.FIXED_TS


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "meshchat.sqlite")
    try:
        yield opened
    finally:
        await opened.close()


def _msgs(count: int, start: int = T0, step: int = 1000) -> list[Record]:
    return [factories.make_record("msg", ts=start + i * step, text=f"m{i}") for i in range(count)]


async def _put(store: Store, records: list[Record]) -> None:
    await store.insert(records, origin="test", received_at_ms=T0)


async def _items(store: Store) -> list[tuple[int, bytes]]:
    return await store.items(ZONE, 0)


def _same(storage: NegentropyStorage, items: list[tuple[int, bytes]]) -> None:
    """The storage holds exactly ``items`` and reconciles as a fresh build of them does."""
    assert storage.items() == items
    fresh = NegentropyStorage.from_items(items)
    assert NegentropyInitiator(storage).initiate() == NegentropyInitiator(fresh).initiate()


async def test_loads_lazily_in_pages(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "LOAD_PAGE", 7)
    await _put(store, _msgs(50))
    index = ZoneIndex(store, 10**12)
    pages: list[int] = []
    read = store.item_page

    async def counted(*args: Any) -> list[tuple[int, bytes]]:
        rows = await read(*args)
        pages.append(len(rows))
        return rows

    monkeypatch.setattr(store, "item_page", counted)
    index.added(_msgs(1, start=T0 + 10**6), "local")  # not loaded: nothing to update
    assert pages == []
    window = await index.window(ZONE, T0 + 10_000)
    assert pages == [7] * 7 + [1]
    assert len(window) == 40
    _same(await index.storage(ZONE), await _items(store))
    assert len(pages) == 8  # loaded once


async def test_records_committed_during_the_load_go_in(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "LOAD_PAGE", 10)
    await _put(store, _msgs(30, start=T0 + 1000))
    index = ZoneIndex(store, 10**12)
    late = [*_msgs(2, start=T0), *_msgs(2, start=T0 + 10**6)]  # before and after the cursor
    gone = factories.make_record("msg", ts=T0 + 500)
    stub = stubs.load_stub(stubs.stub_of(gone))  # a peer's stub: a delete here retracts it
    await _put(store, [factories.make_record("delete", ts=T0 + 40_000, target=gone.id)])
    read = store.item_page
    calls = 0

    async def racing(*args: Any) -> list[tuple[int, bytes]]:
        nonlocal calls
        calls += 1
        rows = await read(*args)
        if calls == 2:  # commits between two pages, told to the index as ingest does
            await _put(store, late)
            await store.bury([stub], origin="test", received_at_ms=T0)
            index.added([*late, stub], "peer:x")
        return rows

    monkeypatch.setattr(store, "item_page", racing)
    storage = await index.storage(ZONE)
    held = await _items(store)
    assert len(held) == 36
    _same(storage, held)
    assert (stub.ts, stub.id) in storage.items()


async def test_a_prune_during_the_load_loads_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "LOAD_PAGE", 10)
    await _put(store, _msgs(30))
    index = ZoneIndex(store, 10**12)
    read = store.item_page
    calls = 0

    async def pruning(*args: Any) -> list[tuple[int, bytes]]:
        nonlocal calls
        calls += 1
        if calls == 3:
            await store.prune(ZONE, older_than_ts=T0 + 15_000, pinned=())
            index.invalidate()
        return await read(*args)

    monkeypatch.setattr(store, "item_page", pruning)
    storage = await index.storage(ZONE)
    held = await _items(store)
    assert len(held) == 15
    _same(storage, held)


async def test_prune_drops_the_index_and_fresh_records_follow(store: Store) -> None:
    await _put(store, _msgs(20))
    index = ZoneIndex(store, 10**12)
    first = await index.storage(ZONE)
    await store.prune(ZONE, older_than_ts=T0 + 5_000, pinned=())
    index.invalidate(ZONE)
    second = await index.storage(ZONE)
    assert second is not first
    more = _msgs(3, start=T0 + 100_000)
    await _put(store, more)
    index.added(more, "local")
    _same(second, await _items(store))


async def test_old_records_leave_no_stale_sums_behind(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "THREAD_REFRESH", 16)
    await _put(store, _msgs(200, start=T0 + 10**6))
    index = ZoneIndex(store, 10**12)
    storage = await index.storage(ZONE)
    old = _msgs(5, start=T0)  # at the head: every prefix sum after them moved
    await _put(store, old)
    index.added(old, "peer:x")
    assert storage.stale() >= 16
    assert await index.storage(ZONE) is storage
    assert storage.stale() < 16
    _same(storage, await _items(store))
