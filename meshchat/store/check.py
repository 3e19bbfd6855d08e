"""A read-only health check of a store file, safe beside the node that has it open.

``meshchat doctor`` runs it: the file is opened ``mode=ro`` (no lock file, no writer, no
migration), so a running node is neither blocked nor changed. WAL lets the check read a
consistent snapshot while the node writes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from meshchat.store import queries, schema

QUICK_CHECK = "PRAGMA quick_check"
BUSY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Health:
    """What the check found: ``ok``, and otherwise why not, in SQLite's words."""

    ok: bool
    detail: str
    schema_version: int = 0


async def quick_check(path: Path) -> Health:
    """Return whether ``path`` (absolute) is a sound meshchat store (``PRAGMA quick_check``)."""
    uri = f"{path.as_uri()}?mode=ro"  # as_uri() refuses a relative path
    try:
        async with aiosqlite.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S) as conn:
            version = await _scalar(conn, queries.USER_VERSION)
            app_id = await _scalar(conn, queries.APPLICATION_ID)
            if version and app_id != schema.APPLICATION_ID:
                return Health(False, "it holds tables of another application", version)
            if version > schema.latest_version():
                return Health(
                    False, f"schema version {version} is newer than this meshchat", version
                )
            rows = await conn.execute_fetchall(QUICK_CHECK)
    except sqlite3.Error as exc:
        return Health(False, str(exc))
    verdict = "; ".join(str(row[0]) for row in rows)
    return Health(verdict == "ok", verdict, version)


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    rows = list(await conn.execute_fetchall(sql))
    return int(rows[0][0]) if rows else 0
