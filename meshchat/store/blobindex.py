"""The SQL of files (schema version 4): held blobs, the index of file records, legacy lists.

Nothing here is replicated. ``blobs`` says which verified blobs are on this node (their
bytes are ``store.blobs``' business); ``file_refs`` indexes the ``file`` records by hash and
name, caught up from the change feed (``records.seq``) before every read, so it never
misses a record, whatever path it came in by; ``legacy_files`` holds the file lists legacy
peers serve, filled by the legacy bridge. Every statement is named here (DESIGN §4).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from meshchat.records import Record, load_trusted
from meshchat.store.db import Store
from meshchat.store.views import chunks

CURSOR_KEY = "files:seq"
CATCH_UP_PAGE = 500

BLOB_GET = "SELECT sha256, size, pinned, added_at, file_ts FROM blobs WHERE sha256 = ?"
BLOB_ADD = """
INSERT INTO blobs (sha256, size, pinned, added_at, file_ts) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (sha256) DO UPDATE SET
    pinned = max(pinned, excluded.pinned), file_ts = max(file_ts, excluded.file_ts)
"""
BLOB_ANNOUNCED = "UPDATE blobs SET file_ts = max(file_ts, ?) WHERE sha256 = ?"
BLOB_PIN = "UPDATE blobs SET pinned = ? WHERE sha256 = ?"
BLOB_DELETE = "DELETE FROM blobs WHERE sha256 = ?"
BLOB_USAGE = "SELECT count(*), coalesce(sum(size), 0) FROM blobs"
BLOB_EVICTABLE = """
SELECT sha256, size FROM blobs WHERE pinned = 0 AND file_ts < ? ORDER BY file_ts, sha256 LIMIT ?
"""
BLOB_ALL = "SELECT sha256, size FROM blobs"

CURSOR_GET = "SELECT value FROM meta WHERE key = ?"
CURSOR_SET = """
INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
MAX_SEQ = "SELECT coalesce(max(seq), 0) FROM records"
NEW_FILE_RECORDS = """
SELECT seq, S, sig FROM records WHERE seq > ? AND seq <= ? AND kind = 'file' ORDER BY seq LIMIT ?
"""
ADD_REF = """
INSERT OR IGNORE INTO file_refs (record_id, seq, zone, ts, sha256, size, name, channel)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
DROP_PRUNED_REFS = "DELETE FROM file_refs WHERE record_id NOT IN (SELECT id FROM records)"
# A file record counts while it is stored and its author has not deleted it.
_LIVE = """
FROM file_refs f JOIN records r ON r.id = f.record_id
WHERE NOT EXISTS (
    SELECT 1 FROM records d WHERE d.target = f.record_id AND d.kind = 'delete'
      AND d.author = r.author)
"""
FILES_PAGE = f"""
SELECT r.S, r.sig, EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = f.sha256) {_LIVE}
  AND f.zone = :zone AND f.name LIKE :like ESCAPE '\\'
ORDER BY f.ts DESC, f.record_id DESC LIMIT :limit
"""
NEWEST_OF_SHA = f"SELECT r.S, r.sig {_LIVE} AND f.sha256 = ? ORDER BY f.ts DESC LIMIT 1"
MISSING = f"""
SELECT r.S, r.sig {_LIVE}
  AND f.ts >= :since AND f.size <= :max_size
  AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = f.sha256)
ORDER BY f.ts DESC LIMIT :limit
"""
HELD_FILES = f"""
SELECT r.S, r.sig {_LIVE} AND f.zone = :zone
  AND EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = f.sha256)
ORDER BY f.ts DESC, f.record_id DESC LIMIT :limit
"""
HELD_BY_NAME = f"""
SELECT r.S, r.sig {_LIVE} AND f.zone = ? AND f.name = ?
  AND EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = f.sha256)
ORDER BY f.ts DESC, f.record_id DESC LIMIT 1
"""

LEGACY_CLEAR = "DELETE FROM legacy_files WHERE zone = ? AND source = ?"
LEGACY_ADD = """
INSERT OR REPLACE INTO legacy_files (zone, source, name, node, size, mtime, platform, seen_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
LEGACY_PAGE = """
SELECT zone, source, name, node, size, mtime, platform, seen_at FROM legacy_files
WHERE zone = :zone AND name LIKE :like ESCAPE '\\'
ORDER BY mtime DESC, name LIMIT :limit
"""
MAX_LEGACY_PER_SOURCE = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def blobs_held(n: int) -> str:
    """Select which of ``n`` hashes are held."""
    return f"SELECT sha256 FROM blobs WHERE sha256 IN ({','.join('?' * n)})"


def like_pattern(text: str) -> str:
    """Return a LIKE pattern matching ``text`` anywhere (ASCII case-insensitive)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class BlobRow:
    """A verified blob held on this node."""

    sha256: bytes
    size: int
    pinned: bool
    added_at: int
    file_ts: int  # the newest announcement (ms): what eviction orders by


@dataclass(frozen=True, slots=True)
class LegacyFile:
    """One line of a legacy peer's ``local_files_raw`` (LEGACY.md), as the bridge parsed it."""

    name: str
    node: str  # the owning node as ``host:port``
    size: int
    mtime: int  # Unix seconds
    platform: str = ""

    def __post_init__(self) -> None:
        """Refuse what could not come from a well-formed line (no control characters)."""
        for text in (self.name, self.node, self.platform):
            if not isinstance(text, str) or len(text) > 255 or _CONTROL.search(text) is not None:
                raise ValueError("legacy file fields are short text without control characters")
        if not self.name or type(self.size) is not int or type(self.mtime) is not int:
            raise ValueError("a legacy file needs a name, an integer size and an mtime")
        if self.size < 0 or not 0 <= self.mtime < 2**63:
            raise ValueError("a legacy file's size and mtime are non-negative")


@dataclass(frozen=True, slots=True)
class LegacyListing:
    """A legacy file as this node last saw it listed, with where and when."""

    zone: str
    source: str  # the legacy peer URL the list came from
    file: LegacyFile
    seen_at: int  # ms


def _row(row: Sequence[Any]) -> BlobRow:
    return BlobRow(bytes(row[0]), int(row[1]), bool(row[2]), int(row[3]), int(row[4]))


class BlobIndex:
    """Files in the store's database, through its one writer and its reader."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._catch_up = asyncio.Lock()

    # --- held blobs -----------------------------------------------------------------------

    async def blob(self, sha256: bytes) -> BlobRow | None:
        """Return the held blob ``sha256``, or None."""
        rows = await self.store._fetch(BLOB_GET, (sha256,))
        return _row(rows[0]) if rows else None

    async def held(self, hashes: Collection[bytes]) -> set[bytes]:
        """Return which of ``hashes`` are held."""
        found: set[bytes] = set()
        for part in chunks(sorted(set(hashes))):
            rows = await self.store._fetch(blobs_held(len(part)), tuple(part))
            found.update(bytes(r[0]) for r in rows)
        return found

    async def all_blobs(self) -> dict[bytes, int]:
        """Return the size of every held blob by hash."""
        return {bytes(r[0]): int(r[1]) for r in await self.store._fetch(BLOB_ALL, ())}

    async def usage(self) -> tuple[int, int]:
        """Return (blobs held, bytes held)."""
        rows = await self.store._fetch(BLOB_USAGE, ())
        return int(rows[0][0]), int(rows[0][1])

    async def add_blob(
        self, sha256: bytes, size: int, pinned: bool, now_ms: int, file_ts: int
    ) -> None:
        """Record a verified blob (its file is already in place); pinning only adds."""
        async with self.store._write() as conn:
            await conn.execute(BLOB_ADD, (sha256, size, int(pinned), now_ms, file_ts))

    async def announced(self, sha256: bytes, file_ts: int) -> None:
        """A newer file record announces a held blob: it counts as that new."""
        async with self.store._write() as conn:
            await conn.execute(BLOB_ANNOUNCED, (file_ts, sha256))

    async def set_pinned(self, sha256: bytes, pinned: bool) -> None:
        """Pin a blob (never evicted) or unpin it."""
        async with self.store._write() as conn:
            await conn.execute(BLOB_PIN, (int(pinned), sha256))

    async def drop_blob(self, sha256: bytes) -> None:
        """Forget a blob (before its file goes)."""
        async with self.store._write() as conn:
            await conn.execute(BLOB_DELETE, (sha256,))

    async def evictable(self, limit: int, before_ts: int) -> list[tuple[bytes, int]]:
        """Return (hash, size) of the oldest unpinned blobs announced before ``before_ts``."""
        rows = await self.store._fetch(BLOB_EVICTABLE, (before_ts, limit))
        return [(bytes(r[0]), int(r[1])) for r in rows]

    # --- the index of file records ------------------------------------------------------------

    async def catch_up(self) -> None:
        """Index every ``file`` record stored since the last call (cheap when none)."""
        async with self._catch_up:
            rows = await self.store._fetch(CURSOR_GET, (CURSOR_KEY,))
            cursor = int(rows[0][0]) if rows else 0
            top = int((await self.store._fetch(MAX_SEQ, ()))[0][0])
            if top <= cursor:
                return
            while True:
                page = await self.store._fetch(NEW_FILE_RECORDS, (cursor, top, CATCH_UP_PAGE))
                refs = []
                for seq, signed, sig in page:
                    rec = load_trusted(bytes(signed), bytes(sig))
                    if rec.gone:
                        continue  # deleted: nothing of it is listed
                    body = rec.body
                    sha, size = bytes(body["sha256"]), int(body["size"])
                    name, channel = str(body["name"]), str(body["channel"])
                    refs.append((rec.id, int(seq), rec.zone, rec.ts, sha, size, name, channel))
                done = len(page) < CATCH_UP_PAGE
                cursor = top if done else int(page[-1][0])
                async with self.store._write() as conn:
                    await conn.executemany(ADD_REF, refs)
                    await conn.execute(CURSOR_SET, (CURSOR_KEY, str(cursor)))
                if done:
                    return

    async def drop_pruned(self) -> None:
        """Drop the index rows of records retention has pruned."""
        async with self.store._write() as conn:
            await conn.execute(DROP_PRUNED_REFS)

    async def files(self, zone: str, q: str, limit: int) -> list[tuple[Record, bool]]:
        """Return the zone's live file records, newest first, with whether each is held."""
        await self.catch_up()
        params = {"zone": zone, "like": like_pattern(q), "limit": limit}
        rows = await self.store._fetch(FILES_PAGE, params)
        return [(load_trusted(bytes(r[0]), bytes(r[1])), bool(r[2])) for r in rows]

    async def newest_of(self, sha256: bytes) -> Record | None:
        """Return the newest live file record announcing ``sha256``, or None."""
        await self.catch_up()
        rows = await self.store._fetch(NEWEST_OF_SHA, (sha256,))
        return load_trusted(bytes(rows[0][0]), bytes(rows[0][1])) if rows else None

    async def missing(self, since_ts: int, max_size: int, limit: int) -> list[Record]:
        """Return live file records since ``since_ts`` whose blob is not held, newest first."""
        await self.catch_up()
        params = {"since": since_ts, "max_size": max_size, "limit": limit}
        rows = await self.store._fetch(MISSING, params)
        return [load_trusted(bytes(r[0]), bytes(r[1])) for r in rows]

    async def held_files(self, zone: str, limit: int) -> list[Record]:
        """Return the zone's live file records whose blob is held, newest first."""
        await self.catch_up()
        rows = await self.store._fetch(HELD_FILES, {"zone": zone, "limit": limit})
        return [load_trusted(bytes(r[0]), bytes(r[1])) for r in rows]

    async def held_by_name(self, zone: str, name: str) -> Record | None:
        """Return the newest live file record named ``name`` whose blob is held."""
        await self.catch_up()
        rows = await self.store._fetch(HELD_BY_NAME, (zone, name))
        return load_trusted(bytes(rows[0][0]), bytes(rows[0][1])) if rows else None

    # --- legacy peers' file lists (filled by the legacy bridge) -------------------------------

    async def replace_legacy_files(
        self, zone: str, source: str, files: Sequence[LegacyFile], seen_at_ms: int
    ) -> None:
        """Replace what the legacy peer ``source`` lists in ``zone`` (at most 1,000 files)."""
        rows = [
            (zone, source, f.name, f.node, f.size, f.mtime, f.platform, seen_at_ms)
            for f in files[:MAX_LEGACY_PER_SOURCE]
        ]
        async with self.store._write() as conn:
            await conn.execute(LEGACY_CLEAR, (zone, source))
            await conn.executemany(LEGACY_ADD, rows)

    async def legacy_files(self, zone: str, q: str = "", limit: int = 500) -> list[LegacyListing]:
        """Return the files legacy peers list in ``zone``, newest first."""
        params = {"zone": zone, "like": like_pattern(q), "limit": limit}
        rows = await self.store._fetch(LEGACY_PAGE, params)
        return [
            LegacyListing(
                str(r[0]),
                str(r[1]),
                LegacyFile(str(r[2]), str(r[3]), int(r[4]), int(r[5]), str(r[6])),
                int(r[7]),
            )
            for r in rows
        ]
