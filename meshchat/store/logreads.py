"""Reading the log itself: envelopes, the change feed, sync items and pages (DESIGN §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from meshchat.records import Record, load_trusted
from meshchat.store import queries, views
from meshchat.store.base import StoreBase


class LogReads(StoreBase):
    """Reads of stored records as records, for sync, export and the live feed."""

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

    async def by_prefix(self, prefixes: Sequence[bytes]) -> dict[bytes, tuple[bytes, bytes]]:
        """Return {prefix: (S, sig)} of a stored record whose id starts with each prefix."""
        found: dict[bytes, tuple[bytes, bytes]] = {}
        async with self._read_lock:
            for prefix in prefixes:
                low, high = prefix.ljust(32, b"\x00"), prefix.ljust(32, b"\xff")
                rows = list(await self._reader.execute_fetchall(queries.BY_PREFIX, (low, high)))
                if rows:
                    found[prefix] = (bytes(rows[0][0]), bytes(rows[0][1]))
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

    async def item_page(
        self, zone: str, after_ts: int, after_id: bytes, limit: int
    ) -> list[tuple[int, bytes]]:
        """Return up to ``limit`` (ts, id) of the zone after (after_ts, after_id), in order."""
        return await self._fetch(queries.ITEMS_PAGE, (zone, after_ts, after_id, limit))

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
