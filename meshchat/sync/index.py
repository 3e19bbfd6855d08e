"""Per-zone Negentropy storage kept in memory and up to date as records arrive.

A zone's index is loaded the first time a reconciliation needs it: its ``(ts, id)`` rows
are read from the store a page at a time and packed on a worker thread (40 bytes an
item, ``negentropy_storage``), so neither the loop nor memory ever holds the whole
table as Python objects. Every record stored afterwards is added as its batch commits
(``added``; most land at the tail, which is cheap); records committed while a load or a
refresh runs wait in a list and go in when it ends. Prefix sums that a batch of old
records left stale over many items are recomputed on a worker thread before the index
is handed out. A prune drops the zone's index; the next reconciliation loads it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.sync.negentropy_storage import NegentropyStorage, StorageWindow

LOAD_PAGE = 8_192  # rows a page while loading (~1.3 MB of Python objects at a time)
# Prefix sums stale over more items than this are recomputed off the loop (inline, this
# many cost a few milliseconds).
THREAD_REFRESH = 16_384


class ZoneIndex:
    """Lazily loaded, incrementally updated Negentropy storages, one per zone."""

    def __init__(self, store: Store, horizon_ms: int) -> None:
        self.store = store
        self.horizon_ms = horizon_ms
        self._storages: dict[str, NegentropyStorage] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Items committed while a zone's index is loaded or refreshed; added at its end.
        self._pending: dict[str, list[tuple[int, bytes]]] = {}
        self._generation: dict[str, int] = {}  # bumped by ``invalidate``

    async def window(self, zone: str, since: int) -> StorageWindow:
        """Return a view of the zone's items with ``ts >= since``."""
        return (await self.storage(zone)).window(since)

    async def storage(self, zone: str) -> NegentropyStorage:
        """Return the zone's storage, loaded and with its prefix sums up to date."""
        storage = self._storages.get(zone)
        if storage is not None and zone not in self._pending and storage.stale() < THREAD_REFRESH:
            return storage
        async with self._locks.setdefault(zone, asyncio.Lock()):
            while True:
                generation = self._generation.get(zone, 0)
                self._pending[zone] = []
                try:
                    storage = self._storages.get(zone) or await self._load(zone)
                    if storage.stale() >= THREAD_REFRESH:
                        token, job = storage.refresh_job()
                        storage.install_blocks(token, await asyncio.to_thread(job))
                    pending = self._pending[zone]
                finally:
                    del self._pending[zone]
                if self._generation.get(zone, 0) == generation:
                    break  # else a prune ran meanwhile: load again
            storage.add_many(pending)
            self._storages[zone] = storage
            return storage

    async def _load(self, zone: str) -> NegentropyStorage:
        """Read the zone's items in pages and pack them on a worker thread."""
        storage = NegentropyStorage()
        after: tuple[int, bytes] = (-1, b"")
        while True:
            rows = await self.store.item_page(zone, *after, LOAD_PAGE)
            if rows:
                await asyncio.to_thread(storage.extend_sorted, rows)
                after = rows[-1]
            if len(rows) < LOAD_PAGE:
                break
        await asyncio.to_thread(storage.refresh)
        return storage

    def added(self, records: Sequence[Record], origin: str) -> None:
        """Ingest subscriber: add newly stored records (and kept stubs) to the index."""
        del origin
        by_zone: dict[str, list[tuple[int, bytes]]] = {}
        for record in records:
            by_zone.setdefault(record.zone, []).append((record.ts, record.id))
        for zone, items in by_zone.items():
            if zone in self._pending:
                self._pending[zone] += items
            elif (storage := self._storages.get(zone)) is not None:
                storage.add_many(items)

    def invalidate(self, zone: str | None = None) -> None:
        """Forget cached storages (after a prune removed items); a load under way restarts."""
        zones = {*self._storages, *self._pending} if zone is None else {zone}
        for name in zones:
            self._generation[name] = self._generation.get(name, 0) + 1
            self._storages.pop(name, None)
