"""The legacy id map (schema version 4): every line a legacy node sees from a zone.

Every statement is named here (DESIGN §4). ``LegacyStore.catch_up`` reads the zone's
change feed past its cursor and turns each ``msg`` and ``legacy`` record into a row through
a function the legacy bridge hands it (the store knows no legacy format); a ``delete`` by
a message's own author marks its row, whichever of the two arrived first. Rows are
derived, never replicated: a pruned record takes its row with it (a trigger).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from meshchat.legacyline import LineEntry
from meshchat.records import ZERO_AUTHOR, Record, load_trusted
from meshchat.store.access import OPEN, ReadFilter
from meshchat.store.db import Store
from meshchat.store.views import chunks

FEED = """
SELECT seq, S, sig FROM records
WHERE zone = ? AND seq > ? AND kind IN ('msg', 'legacy', 'delete') ORDER BY seq LIMIT ?
"""
CURSOR_GET = "SELECT seq FROM legacy_cursor WHERE zone = ?"
CURSOR_SET = """
INSERT INTO legacy_cursor (zone, seq) VALUES (?, ?)
ON CONFLICT (zone) DO UPDATE SET seq = max(seq, excluded.seq)
"""
# A delete that arrived before its target marks the row at once.
ADD_LINE = """
INSERT OR IGNORE INTO legacy_lines (record_id, zone, epoch, lid, line, digest, author, deleted)
VALUES (?, ?, ?, ?, ?, ?, ?,
        EXISTS (SELECT 1 FROM records WHERE target = ? AND kind = 'delete' AND author = ?))
"""
# A deleted line is not served and its words are not kept.
MARK_DELETED = "UPDATE legacy_lines SET deleted = 1, line = '' WHERE record_id = ? AND author = ?"
WINDOW_PAGE = """
SELECT epoch, lid, line FROM legacy_lines WHERE zone = :zone AND deleted = 0
ORDER BY epoch DESC, lid DESC, line DESC LIMIT :page OFFSET :offset
"""


def window_page(extra: str) -> str:
    """The window's page with ``extra`` terms over the line's record (``store.access``)."""
    if not extra:
        return WINDOW_PAGE
    return f"""
SELECT l.epoch, l.lid, l.line FROM legacy_lines l JOIN records r ON r.id = l.record_id
WHERE l.zone = :zone AND l.deleted = 0{extra}
ORDER BY l.epoch DESC, l.lid DESC, l.line DESC LIMIT :page OFFSET :offset
"""


LINE_COUNT = "SELECT count(*) FROM legacy_lines WHERE zone = ?"


def known_digests(n: int) -> str:
    """Select which of ``n`` line digests a zone already holds."""
    marks = ",".join("?" * n)
    return f"SELECT digest, author FROM legacy_lines WHERE zone = ? AND digest IN ({marks})"


def digest(line: str) -> bytes:
    """Return the 16-byte digest a line is looked up by."""
    return hashlib.sha256(line.encode("utf-8")).digest()[:16]


LineOf = Callable[[Record], LineEntry | None]


class LegacyStore:
    """The legacy id map, through the store's writer and reader."""

    def __init__(self, store: Store, batch: int = 500) -> None:
        self.store = store
        self.batch = batch
        self._lock = asyncio.Lock()  # one catch-up at a time: the cursor moves forward once

    async def catch_up(self, zone: str, line_of: LineOf) -> int:
        """Bring the zone's rows up to date with its log; return how many records were read."""
        read = 0
        async with self._lock:
            while True:
                rows = await self.store._fetch(CURSOR_GET, (zone,))
                cursor = int(rows[0][0]) if rows else 0
                feed = await self.store._fetch(FEED, (zone, cursor, self.batch))
                if not feed:
                    return read
                adds, deletes = [], []
                for _, signed, sig in feed:
                    record = load_trusted(bytes(signed), bytes(sig))
                    if record.kind == "delete":
                        deletes.append((record.body["target"], record.author))
                        continue
                    if record.gone:
                        continue  # deleted before the feed reached it: no line to serve
                    entry = line_of(record)
                    if entry is not None:
                        adds.append(_row(zone, record, entry))
                async with self.store._write() as conn:
                    await conn.executemany(ADD_LINE, adds)
                    await conn.executemany(MARK_DELETED, deletes)
                    await conn.execute(CURSOR_SET, (zone, int(feed[-1][0])))
                read += len(feed)
                if len(feed) < self.batch:
                    return read

    async def window(self, zone: str, limit: int, seen: ReadFilter = OPEN) -> list[LineEntry]:
        """Return the zone's newest ``limit`` distinct lines not deleted, newest first.

        ``seen``: what legacy nodes may be shown (lines of other records are left out).
        """
        found: dict[str, LineEntry] = {}
        offset, page = 0, limit + 64
        params: dict[str, Any] = {"zone": zone, "page": page}
        sql = window_page(seen.sql(params, prefix="r."))
        while len(found) < limit:
            rows = await self.store._fetch(sql, {**params, "offset": offset})
            for epoch, lid, line in rows:
                if len(found) < limit:
                    found.setdefault(str(line), LineEntry(int(epoch), int(lid), str(line)))
            if len(rows) < page:
                break
            offset += page
        return list(found.values())

    async def known(self, zone: str, digests: Sequence[bytes]) -> dict[bytes, bool]:
        """Return which of ``digests`` are lines of the zone: True for a msg's export."""
        held: dict[bytes, bool] = {}
        for part in chunks(list(digests)):
            rows = await self.store._fetch(known_digests(len(part)), (zone, *part))
            for key, author in rows:
                held[bytes(key)] = held.get(bytes(key), False) or bytes(author) != ZERO_AUTHOR
        return held

    async def count(self, zone: str) -> int:
        """Return how many rows the zone has (deleted ones too)."""
        rows = await self.store._fetch(LINE_COUNT, (zone,))
        return int(rows[0][0])


def _row(zone: str, record: Record, entry: LineEntry) -> tuple[object, ...]:
    return (
        record.id,
        zone,
        entry.epoch,
        entry.lid,
        entry.line,
        digest(entry.line),
        record.author,
        record.id,
        record.author,
    )
