"""The store's side of access control: each zone's ``Access``, cached, and local hides.

The rules are pure (``store.rights``, ``store.moderation``, ``store.access``); this part
reads what they are computed from — the zone's channel records in arrival order, the
``delete`` records of the zone operators this node trusts, its own local hides — and
keeps the result until a record that could change it is stored (a channel record, a
delete by a trusted operator, a node record), a local hide changes, or a prune runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from meshchat.clock import wall_ms
from meshchat.records import ZERO_AUTHOR, Record
from meshchat.store import rights
from meshchat.store.access import NODE_HIDE, ZONE_HIDE, Access, Hidden
from meshchat.store.base import StoreBase
from meshchat.store.models import ChannelView
from meshchat.store.moderation import moderate
from meshchat.store.queries import CHANNEL_DEFS, CHANNEL_STATS, RECORD_COLS
from meshchat.store.resolve import actor_callsign
from meshchat.store.rights import Channel
from meshchat.store.views import channel_view as views_channel_view
from meshchat.store.views import channel_views, chunks, to_record

LOCAL_HIDES = "SELECT id FROM local_hides WHERE zone = ?"
ADD_LOCAL_HIDE = "INSERT OR IGNORE INTO local_hides (id, zone, by, at) VALUES (?, ?, ?, ?)"
DELETE_LOCAL_HIDE = "DELETE FROM local_hides WHERE zone = ? AND id = ?"


def operator_deletes(n: int) -> str:
    """Select the zone's ``delete`` records by ``n`` author keys (partial index, V5)."""
    marks = ",".join("?" * n)
    return (
        f"SELECT {RECORD_COLS} FROM records "
        f"WHERE zone = ? AND kind = 'delete' AND author IN ({marks})"
    )


def records_of(n: int) -> str:
    """Select ``n`` records of a zone by id."""
    return f"SELECT {RECORD_COLS} FROM records WHERE zone = ? AND id IN ({','.join('?' * n)})"


class AccessReads(StoreBase):
    """Each zone's access rules, computed from its records when they may have changed."""

    _announced: set[bytes]  # the authors of node records (store.identity keeps them)
    _zone_operators: frozenset[bytes]
    _access: dict[str, tuple[int, Access]]  # zone -> (the version it was computed at, rules)
    _versions: dict[str, int]  # zone -> how many changes it has seen
    _access_locks: dict[str, asyncio.Lock]

    def _configure_access(self, zone_operators: Collection[bytes]) -> None:
        """Name the zone operators whose moderation this node applies (``zone.operators``)."""
        self._zone_operators = frozenset(zone_operators)
        self._access = {}
        self._versions = {}
        self._access_locks = {}

    @property
    def zone_operators(self) -> frozenset[bytes]:
        """Return the zone operators' keys this node trusts."""
        return self._zone_operators

    def _bump(self, zone: str) -> None:
        self._versions[zone] = self._versions.get(zone, 0) + 1

    def _access_touched(self, fresh: Sequence[Record]) -> None:
        """Forget the rules of zones whose new records may change them (``insert``)."""
        if any(r.kind == "node" for r in fresh):
            self.access_invalidate()
            return
        for record in fresh:
            cached = self._access.get(record.zone)
            if (
                record.kind == "channel"
                or (record.kind == "delete" and record.author in self._zone_operators)
                or (cached is not None and record.id in cached[1].hidden_ids)  # a hidden target
            ):
                self._bump(record.zone)

    def access_invalidate(self, zone: str | None = None) -> None:
        """Forget the rules of ``zone`` (every zone when None): a prune, a local hide."""
        for name in list(self._access) if zone is None else [zone]:
            self._bump(name)

    def access_cached(self, zone: str) -> Access | None:
        """Return the zone's rules when they are up to date, without reading (else None)."""
        found = self._access.get(zone)
        if found is None or found[0] != self._versions.get(zone, 0):
            return None
        return found[1]

    async def access(self, zone: str) -> Access:
        """Return the zone's access rules (computed at most once per change)."""
        found = self.access_cached(zone)
        if found is not None:
            return found
        lock = self._access_locks.setdefault(zone, asyncio.Lock())
        async with lock:
            found = self.access_cached(zone)
            if found is not None:
                return found
            version = self._versions.get(zone, 0)
            computed = await self._compute(zone)
            # A change while reading: it is kept, but computed again by the next reader.
            self._access[zone] = (version, computed)
            return computed

    async def _compute(self, zone: str) -> Access:
        rightless = frozenset(self._announced) | {ZERO_AUTHOR}
        operators = sorted(self._zone_operators)
        async with self._read() as conn:
            defs = [to_record(r) for r in await conn.execute_fetchall(CHANNEL_DEFS, (zone,))]
            deletes: list[Record] = []
            if operators:
                rows = await conn.execute_fetchall(
                    operator_deletes(len(operators)), (zone, *operators)
                )
                deletes = [to_record(r) for r in rows]
            local = {bytes(r[0]) for r in await conn.execute_fetchall(LOCAL_HIDES, (zone,))}
            moderation = moderate(deletes, self._zone_operators)
            wanted = sorted(moderation.hidden | local)
            hidden_records: list[Record] = []
            for part in chunks(wanted):
                rows = await conn.execute_fetchall(records_of(len(part)), (zone, *part))
                hidden_records.extend(to_record(r) for r in rows)
        hidden = {
            r.id: Hidden(
                ZONE_HIDE if r.id in moderation.hidden else NODE_HIDE,
                r.author,
                actor_callsign(r),
                r.author in rightless,
            )
            for r in hidden_records
        }
        by_name: dict[str, list[Record]] = {}
        for record in defs:  # in (name, arrival) order
            if record.id in hidden or record.author in moderation.banned:
                continue
            by_name.setdefault(str(record.body["name"]), []).append(record)
        channels = {name: rights.fold(name, recs, rightless) for name, recs in by_name.items()}
        return Access(zone, channels, hidden, moderation, frozenset(local))

    async def channels(self, zone: str, key: bytes | None = None) -> list[ChannelView]:
        """Return the zone's channels a reader holding ``key`` may read, by name."""
        access = await self.access(zone)
        stats = await self._fetch(CHANNEL_STATS, (zone,))
        return channel_views(stats, access, key)

    async def channel_view(
        self, zone: str, name: str, key: bytes | None = None
    ) -> tuple[Channel | None, ChannelView]:
        """Return one channel's rules and view (whoever may read it: check ``may_read``)."""
        access = await self.access(zone)
        stats = {str(r[0]): r[1:] for r in await self._fetch(CHANNEL_STATS, (zone,))}
        channel = access.channel(name)
        return channel, views_channel_view(name, channel, stats.get(name), key)

    # --- node-local hides ----------------------------------------------------------------

    async def hide_locally(self, zone: str, record_id: bytes, by: bytes) -> None:
        """Hide a record on this node only (never in the log)."""
        async with self._write() as conn:
            await conn.execute(ADD_LOCAL_HIDE, (record_id, zone, by, wall_ms()))
        self.access_invalidate(zone)

    async def unhide_locally(self, zone: str, record_id: bytes) -> bool:
        """Show a record hidden on this node again; False when it was not hidden here."""
        async with self._write() as conn:
            cursor = await conn.execute(DELETE_LOCAL_HIDE, (zone, record_id))
            removed = cursor.rowcount > 0
        self.access_invalidate(zone)
        return removed
