"""The store's connections: one writer and one reader, and their transactions (DESIGN §4).

Every call runs on aiosqlite's threads, never on the event loop. Writes are serialised by
one lock and run in ``BEGIN IMMEDIATE`` transactions; a call that stores something returns
only after COMMIT (``synchronous=FULL`` in WAL: an acknowledged record is durable). Multi-
statement reads run in one read transaction, so a page is a consistent snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite

from meshchat.errors import DiskFull
from meshchat.store import queries
from meshchat.store.space import disk_full_detail, is_disk_full


class StoreBase:
    """Open connections and the transactions every part of the store runs in."""

    _node_keys: frozenset[bytes]  # the trusted node keys (store.identity keeps them)

    def __init__(
        self,
        *,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        lock_fd: int,
    ) -> None:
        """Wrap open connections; use ``Store.open``."""
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock_fd: int | None = lock_fd
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()

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
            try:
                await self._writer.execute(queries.BEGIN_WRITE)
                yield self._writer
                await self._writer.execute(queries.COMMIT)
            except sqlite3.OperationalError as exc:
                with contextlib.suppress(sqlite3.Error):
                    await self._writer.execute(queries.ROLLBACK)
                if is_disk_full(exc):
                    raise DiskFull(await asyncio.to_thread(disk_full_detail, self.path)) from None
                raise
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

    async def _fetch(self, sql: str, params: Any) -> list[Any]:
        async with self._read_lock:
            return list(await self._reader.execute_fetchall(sql, params))
