"""Opening the store's file: the process lock, connection pragmas and migrations (DESIGN §4)."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite

from meshchat.errors import StoreError
from meshchat.store import queries, schema

log = logging.getLogger(__name__)


def take_lock(lock_path: Path) -> int:
    """Hold an exclusive flock on ``lock_path`` for the life of the store, or fail at once.

    Creates the folder of the store first. Blocking: call it off the event loop.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown pid"
        os.close(fd)
        raise StoreError(
            f"{lock_path.with_suffix('')} is in use by another meshchat process "
            f"(pid {holder}, lock {lock_path})"
        ) from None
    except OSError:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


async def setup(conn: aiosqlite.Connection, path: Path, *, write: bool) -> None:
    """Apply connection pragmas; the writer also checks the file is a meshchat store."""
    for pragma in queries.PRAGMAS_COMMON:
        await conn.execute(pragma)
    if not write:
        await conn.execute(queries.PRAGMA_QUERY_ONLY)
        return
    # Reading the schema first makes SQLite read the header: garbage fails here.
    version = (await _scalar(conn, queries.USER_VERSION)) or 0
    objects = await _scalar(conn, queries.COUNT_SCHEMA_OBJECTS)
    app_id = await _scalar(conn, queries.APPLICATION_ID)
    if (version == 0 and objects) or (version > 0 and app_id != schema.APPLICATION_ID):
        raise sqlite3.DatabaseError("it holds tables of another application")
    if version > schema.latest_version():
        raise StoreError(
            f"{path} has schema version {version}, newer than this meshchat "
            f"({schema.latest_version()}): upgrade meshchat"
        )
    await conn.execute(queries.PRAGMA_WAL)
    await conn.execute(queries.PRAGMA_SYNC_FULL)
    await conn.execute(queries.PRAGMA_JOURNAL_LIMIT)


async def migrate(conn: aiosqlite.Connection, path: Path) -> None:
    """Apply every migration newer than the file's ``user_version``, each atomically."""
    current = (await _scalar(conn, queries.USER_VERSION)) or 0
    for version, sql in schema.MIGRATIONS:
        if version <= current:
            continue
        log.info("migrating %s to schema version %d", path, version)
        try:
            await conn.executescript(schema.migration_script(version, sql))
        except BaseException as exc:
            if conn.in_transaction:
                await conn.execute(queries.ROLLBACK)
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{path}: migration {version} failed: {exc}") from None
            raise


async def _scalar(conn: aiosqlite.Connection, sql: str) -> Any:
    rows = list(await conn.execute_fetchall(sql))
    return rows[0][0] if rows else None
