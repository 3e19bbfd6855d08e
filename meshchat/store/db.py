"""The store: one SQLite file per node holding the log of every zone it serves (DESIGN §4).

``Store`` is opened here and stores records here (the one insert path, ``insert``); its
reads live in ``logreads`` (records for sync) and ``messagereads`` (views for the UI), its
connections and transactions in ``base``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from meshchat.errors import DiskFull, StoreError
from meshchat.records import Record
from meshchat.store import connect, ingest, prune, queries, tombstones
from meshchat.store.accessreads import AccessReads
from meshchat.store.identity import IdentityStore
from meshchat.store.logreads import LogReads
from meshchat.store.messagereads import MessageReads
from meshchat.store.space import disk_full_detail, is_disk_full

log = logging.getLogger(__name__)


class Store(MessageReads, LogReads, IdentityStore, AccessReads):
    """The record log of every zone this node serves, with read-time message views."""

    # --- lifecycle ----------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        node_key: bytes | None = None,
        zone_operators: Collection[bytes] = (),
    ) -> Store:
        """Open (creating and migrating) the store at ``path``; StoreError if unusable.

        ``zone_operators``: the keys whose moderation records this node applies.
        """
        path = Path(path)
        try:
            lock_fd = await asyncio.to_thread(connect.take_lock, Path(f"{path}.lock"))
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(await asyncio.to_thread(disk_full_detail, path)) from None
            raise StoreError(f"cannot open store {path}: {exc.strerror}") from None
        if await asyncio.to_thread(_empty_file, path):
            os.close(lock_fd)
            raise StoreError(
                f"{path} is empty (0 bytes): it held a database once, so it is not made anew. "
                "Restore it from a backup (meshchat export / import), or move it away to "
                "start with an empty log"
            )
        conns: list[aiosqlite.Connection] = []
        try:
            writer = await aiosqlite.connect(str(path), isolation_level=None)
            conns.append(writer)
            await connect.setup(writer, path, write=True)
            await connect.migrate(writer, path)
            reader = await aiosqlite.connect(str(path), isolation_level=None)
            conns.append(reader)
            await connect.setup(reader, path, write=False)
            store = cls(path=path, writer=writer, reader=reader, lock_fd=lock_fd)
            await store._check()
            await store._load_identity(node_key)
            store._configure_access(zone_operators)
        except BaseException as exc:
            for conn in conns:
                await conn.close()
            os.close(lock_fd)
            if is_disk_full(exc):
                raise DiskFull(await asyncio.to_thread(disk_full_detail, path)) from None
            if isinstance(exc, sqlite3.DatabaseError):
                raise StoreError(f"{path} is corrupt or not a meshchat database: {exc}") from None
            raise
        return store

    async def _check(self) -> None:
        """Refuse a damaged database at start, saying what to do (``PRAGMA quick_check``)."""
        verdict = await self.quick_check()
        if verdict != "ok":
            raise StoreError(
                f"{self.path} is damaged ({verdict.splitlines()[0][:200]}). Stop the node, "
                "keep a copy of the file, and restore from a backup or from peers: move it "
                "away and the node bootstraps its zones again from its peers"
            )

    async def quick_check(self) -> str:
        """Return SQLite's quick check verdict ("ok" when sound)."""
        rows = await self._fetch(queries.QUICK_CHECK, ())
        return "\n".join(str(r[0]) for r in rows)

    # --- ingest ---------------------------------------------------------------------------

    async def insert(
        self,
        records: Sequence[Record],
        *,
        origin: str,
        received_at_ms: int,
        quota_per_hour: int = 0,
    ) -> list[str]:
        """Store validated records in one transaction; "ok" | "dup" | "reject:quota" each."""
        results, _ = await self.insert_records(
            records, origin=origin, received_at_ms=received_at_ms, quota_per_hour=quota_per_hour
        )
        return results

    async def insert_records(
        self,
        records: Sequence[Record],
        *,
        origin: str,
        received_at_ms: int,
        quota_per_hour: int = 0,
    ) -> tuple[list[str], set[bytes]]:
        """Store records as ``insert``; also return the ids the batch left as stubs."""
        if not records:
            return [], set()
        async with self._write() as conn:
            results, gone = await ingest.insert_batch(
                conn, records, origin, received_at_ms, quota_per_hour, self._node_keys
            )
        fresh = [r for r, res in zip(records, results, strict=True) if res == ingest.OK]
        self._stored(fresh)
        self._access_touched(fresh)
        return results, gone

    async def bury(self, stubs: Sequence[Record], *, origin: str, received_at_ms: int) -> list[str]:
        """Keep peers' stubs of records deleted here (``tombstones.bury``), one commit."""
        if not stubs:
            return []
        async with self._write() as conn:
            first = await ingest.next_seq(conn, len(stubs))
            return await tombstones.bury(
                conn, stubs, self._node_keys, origin, received_at_ms, first
            )

    # --- maintenance --------------------------------------------------------------------

    async def prune(
        self,
        zone: str,
        *,
        older_than_ts: int,
        pinned: Collection[str],
        max_records: int = 0,
    ) -> int:
        """Delete the zone's records past the horizon or the cap (see store.prune)."""
        deleted = 0
        cursor: tuple[int, bytes] | None = (-1, b"")
        params: dict[str, Any] | None = None
        while cursor is not None:
            # Short transactions: a large prune never holds up ingest for long.
            async with self._write() as conn:
                if params is None:
                    params = await prune.base_params(conn, zone, older_than_ts, pinned, max_records)
                count, cursor = await prune.prune_chunk(conn, params, cursor)
            deleted += count
        if deleted:
            self.access_invalidate(zone)  # a ban or a hide may have gone with its record
            log.info("pruned %d records of zone %s", deleted, zone)
        return deleted

    async def cap_floor(self, zone: str, max_records: int) -> int | None:
        """Return the timestamp below which the newest ``max_records`` of ``zone`` start.

        None when the zone holds fewer records than the cap (so the cap prunes nothing).
        """
        if max_records <= 0:
            return None
        rows = await self._fetch(queries.NTH_NEWEST, (zone, max_records - 1))
        return int(rows[0][0]) if rows else None

    async def meta_get(self, key: str) -> str | None:
        """Return the stored value of ``key``, or None."""
        rows = await self._fetch(queries.META_GET, (key,))
        return str(rows[0][0]) if rows else None

    async def meta_set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (durably, before returning)."""
        async with self._write() as conn:
            await conn.execute(queries.META_SET, (key, value))

    async def integrity_check(self) -> str:
        """Return SQLite's integrity check verdict ("ok" when sound)."""
        rows = await self._fetch(queries.INTEGRITY_CHECK, ())
        return "\n".join(str(r[0]) for r in rows)


def _empty_file(path: Path) -> bool:
    """Tell whether ``path`` exists and holds nothing (a database truncated to 0 bytes)."""
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return False
