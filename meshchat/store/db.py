"""The store: one SQLite file per node, one writer and one reader connection (DESIGN §4).

Every call runs on aiosqlite's threads, never on the event loop. Writes are serialised by
one lock and run in ``BEGIN IMMEDIATE`` transactions; a call that stores something returns
only after COMMIT (``synchronous=FULL`` in WAL: an acknowledged record is durable). Multi-
statement reads run in one read transaction, so a page is a consistent snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from meshchat.errors import StoreError
from meshchat.records import Record, load_trusted
from meshchat.store import connect, ingest, pages, prune, queries, views
from meshchat.store.models import ChannelView, MessageQuery, MessageView

log = logging.getLogger(__name__)

T = TypeVar("T")
# A read of another store module: (connection, node keys, this node's key) -> result.
Reader = Callable[[aiosqlite.Connection, Collection[bytes], "bytes | None"], Awaitable[T]]


class Store:
    """The record log of every zone this node serves, with read-time message views."""

    def __init__(
        self,
        *,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        lock_fd: int,
        node_key: bytes | None,
        node_keys: set[bytes],
    ) -> None:
        """Wrap open connections; use ``Store.open``."""
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock_fd: int | None = lock_fd
        self._node_key = node_key
        self._node_keys = node_keys
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()

    # --- lifecycle ----------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, node_key: bytes | None = None) -> Store:
        """Open (creating and migrating) the store at ``path``; StoreError if unusable."""
        path = Path(path)
        try:
            lock_fd = await asyncio.to_thread(connect.take_lock, Path(f"{path}.lock"))
        except OSError as exc:
            raise StoreError(f"cannot open store {path}: {exc.strerror}") from None
        conns: list[aiosqlite.Connection] = []
        try:
            writer = await aiosqlite.connect(str(path), isolation_level=None)
            conns.append(writer)
            await connect.setup(writer, path, write=True)
            await connect.migrate(writer, path)
            reader = await aiosqlite.connect(str(path), isolation_level=None)
            conns.append(reader)
            await connect.setup(reader, path, write=False)
            node_keys = {bytes(r[0]) for r in await reader.execute_fetchall(queries.NODE_KEYS)}
        except BaseException as exc:
            for conn in conns:
                await conn.close()
            os.close(lock_fd)
            if isinstance(exc, sqlite3.DatabaseError):
                raise StoreError(f"{path} is corrupt or not a meshchat database: {exc}") from None
            raise
        if node_key is not None:
            node_keys.add(node_key)
        return cls(
            path=path,
            writer=writer,
            reader=reader,
            lock_fd=lock_fd,
            node_key=node_key,
            node_keys=node_keys,
        )

    async def close(self) -> None:
        """Close both connections and release the lock; closing twice is harmless."""
        if self._lock_fd is None:
            return
        async with self._write_lock:
            await self._writer.close()
        async with self._read_lock:
            await self._reader.close()
        os.close(self._lock_fd)
        self._lock_fd = None

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the body in one write transaction; commit on success, else roll back."""
        async with self._write_lock:
            await self._writer.execute(queries.BEGIN_WRITE)
            try:
                yield self._writer
                await self._writer.execute(queries.COMMIT)
            except BaseException:
                # A cancelled statement still runs to its end in the connection's thread,
                # so whether a transaction is open is unknown here: try, and keep the
                # original exception (a CancelledError must stay one).
                with contextlib.suppress(sqlite3.Error):
                    await self._writer.execute(queries.ROLLBACK)
                raise

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the body in one read transaction (a consistent snapshot)."""
        async with self._read_lock:
            await self._reader.execute(queries.BEGIN_READ)
            try:
                yield self._reader
            finally:
                await self._reader.execute(queries.COMMIT)

    # --- ingest and sync ----------------------------------------------------------------

    async def insert(
        self,
        records: Sequence[Record],
        *,
        origin: str,
        received_at_ms: int,
        quota_per_hour: int = 0,
    ) -> list[str]:
        """Store validated records in one transaction; "ok" | "dup" | "reject:quota" each."""
        if not records:
            return []
        async with self._write() as conn:
            results = await ingest.insert_batch(
                conn, records, origin, received_at_ms, quota_per_hour
            )
        for rec, result in zip(records, results, strict=True):
            if rec.kind == "node" and result == ingest.OK:
                self._node_keys.add(rec.author)
        return results

    async def has(self, ids: Sequence[bytes]) -> set[bytes]:
        """Return which of ``ids`` are stored."""
        found: set[bytes] = set()
        async with self._read_lock:
            for part in views.chunks(list(ids)):
                rows = await self._reader.execute_fetchall(
                    queries.existing_ids(len(part)), tuple(part)
                )
                found.update(bytes(r[0]) for r in rows)
        return found

    async def get_envelopes(self, ids: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
        """Return (S, sig) of ``ids`` in their order; unknown ids are skipped."""
        found: dict[bytes, tuple[bytes, bytes]] = {}
        async with self._read_lock:
            for part in views.chunks(list(ids)):
                rows = await self._reader.execute_fetchall(
                    queries.envelopes_by_id(len(part)), tuple(part)
                )
                found.update((bytes(r[0]), (bytes(r[1]), bytes(r[2]))) for r in rows)
        return [found[i] for i in ids if i in found]

    async def changes(
        self, zone: str, after_seq: int, limit: int
    ) -> list[tuple[int, str, bytes, bytes | None]]:
        """Return (seq, kind, id, target) of the zone's records stored after ``after_seq``."""
        rows = await self._fetch(queries.CHANGES, (after_seq, zone, limit))
        return [
            (int(r[0]), str(r[1]), bytes(r[2]), None if r[3] is None else bytes(r[3])) for r in rows
        ]

    async def last_seq(self) -> int:
        """Return the highest local sequence number stored (0 when empty)."""
        rows = await self._fetch(queries.MAX_SEQ, ())
        return int(rows[0][0])

    async def get_record(self, record_id: bytes) -> Record | None:
        """Return the stored record ``record_id``, or None."""
        rows = await self._fetch(queries.RECORD_BY_ID, (record_id,))
        return load_trusted(bytes(rows[0][0]), bytes(rows[0][1])) if rows else None

    async def items(self, zone: str, since_ts: int) -> list[tuple[int, bytes]]:
        """Return (ts, id) of the zone's records with ts >= since_ts, sorted (Negentropy)."""
        rows = await self._fetch(queries.ITEMS, (zone, since_ts))
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def range_page(
        self, zone: str, after_ts: int, after_id: bytes, limit: int
    ) -> list[tuple[bytes, bytes]]:
        """Return up to ``limit`` envelopes with (ts, id) > (after_ts, after_id), in order."""
        rows = await self._fetch(queries.RANGE_PAGE, (zone, after_ts, after_id, limit))
        return [(bytes(r[2]), bytes(r[3])) for r in rows]

    async def export(self, zone: str, page: int = 1000) -> AsyncIterator[tuple[bytes, bytes]]:
        """Yield every envelope of the zone in (ts, id) order, ``page`` rows per query."""
        after_ts, after_id = -1, b""
        while True:
            rows = await self._fetch(queries.RANGE_PAGE, (zone, after_ts, after_id, page))
            for row in rows:
                yield bytes(row[2]), bytes(row[3])
            if len(rows) < page:
                return
            after_ts, after_id = int(rows[-1][0]), bytes(rows[-1][1])

    async def counts(self) -> dict[str, int]:
        """Return the number of records per zone."""
        return {str(r[0]): int(r[1]) for r in await self._fetch(queries.ZONE_COUNTS, ())}

    # --- reading messages ---------------------------------------------------------------

    async def messages(self, query: MessageQuery) -> list[MessageView]:
        """Return one page of message views, ascending (ts, id); see MessageQuery."""
        async with self._read() as conn:
            return await pages.message_page(conn, query, self._node_keys, self._node_key)

    async def read(self, reader: Reader[T]) -> T:
        """Run a store module's ``reader`` in one read transaction (search, unread, nodes)."""
        async with self._read() as conn:
            return await reader(conn, self._node_keys, self._node_key)

    async def message(self, zone: str, record_id: bytes) -> MessageView | None:
        """Return the view of one message (msg, file or legacy), or None."""
        async with self._read() as conn:
            rows = list(await conn.execute_fetchall(queries.MESSAGE, (zone, record_id)))
            if not rows:
                return None
            records = [views.to_record(rows[0])]
            found = await views.load_views(conn, records, self._node_keys, self._node_key)
        return found[0]

    async def thread(self, zone: str, root: bytes, limit: int = 500) -> list[MessageView]:
        """Return a message and the replies to it, oldest first (direct ones included)."""
        params = {"zone": zone, "root": root, "limit": limit}
        async with self._read() as conn:
            rows = list(await conn.execute_fetchall(queries.THREAD, params))
            records = [views.to_record(r) for r in rows]
            return await views.load_views(conn, records, self._node_keys, self._node_key)

    async def conversations(self, zone: str, callsign: str) -> list[tuple[str, int, int]]:
        """Return (other callsign, last ts, count) of each direct conversation, newest first."""
        rows = await self._fetch(queries.CONVERSATIONS, {"zone": zone, "callsign": callsign})
        out = []
        for pair, last_ts, count in rows:
            a, _, b = str(pair).partition("\n")
            out.append((b if a == callsign else a, int(last_ts), int(count)))
        return out

    async def channels(self, zone: str) -> list[ChannelView]:
        """Return the zone's channels by name: those with messages and those declared."""
        async with self._read() as conn:
            stats = await conn.execute_fetchall(queries.CHANNEL_STATS, (zone,))
            defs = await conn.execute_fetchall(queries.CHANNEL_DEFS, (zone,))
        return views.channel_views(stats, (views.to_record(r) for r in defs))

    async def callsigns(self, zone: str, prefix: str = "", limit: int = 20) -> list[str]:
        """Return up to ``limit`` known callsigns of the zone starting with ``prefix``."""
        lo = prefix.strip().upper()
        params = {"zone": zone, "lo": lo, "hi": lo + "\U0010ffff", "limit": max(0, limit)}
        return [str(r[0]) for r in await self._fetch(queries.CALLSIGNS, params)]

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
            log.info("pruned %d records of zone %s", deleted, zone)
        return deleted

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

    async def _fetch(self, sql: str, params: Any) -> list[Any]:
        async with self._read_lock:
            return list(await self._reader.execute_fetchall(sql, params))
