"""Unread counts by timestamp: what others wrote after the user last read each place.

Counting by message time, not by how many records arrived, keeps history that a node
imported or bootstrapped from before the user's last visit from counting as unread
(README "In the browser"). Each count stops at ``CAP`` ("999+").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import aiosqlite

from meshchat.store import queries, resolve
from meshchat.store.db import Store

CAP = 999
_CHANNEL = """
SELECT count(*) FROM (
    SELECT 1 FROM records
    WHERE zone = :zone AND shown = 1 AND channel = :channel AND ts > :floor
      AND coalesce(callsign, '') != :me
    LIMIT :cap
)
"""
_DIRECT = """
SELECT count(*) FROM (
    SELECT 1 FROM records
    WHERE zone = :zone AND shown = 2 AND dm_pair = :dm AND ts > :floor AND callsign != :me
    LIMIT :cap
)
"""


@dataclass(frozen=True, slots=True)
class Floors:
    """Where the user has read up to (ms): per channel, per conversation, and elsewhere."""

    default: int
    channels: Mapping[str, int]
    dms: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Unread:
    """Counts of others' messages past the floors, as of local sequence number ``seq``."""

    channels: dict[str, int]
    dms: dict[str, int]
    seq: int  # live events with a cursor up to this are counted here already


async def unread(store: Store, zone: str, me: str, floors: Floors) -> Unread:
    """Return what others wrote past the floors, per channel and per conversation."""

    async def run(conn: aiosqlite.Connection, node_keys: Collection[bytes]) -> Unread:
        del node_keys
        [(seq,)] = await conn.execute_fetchall(queries.MAX_SEQ, ())
        channels: dict[str, int] = {}
        params = {"zone": zone, "me": me, "cap": CAP}
        for name, _count, last_ts in await conn.execute_fetchall(queries.CHANNEL_STATS, (zone,)):
            floor = floors.channels.get(str(name), floors.default)
            if int(last_ts) > floor:  # most channels have nothing new: no count at all
                rows = await conn.execute_fetchall(
                    _CHANNEL, {**params, "channel": name, "floor": floor}
                )
                if n := int(next(iter(rows))[0]):
                    channels[str(name)] = n
        dms: dict[str, int] = {}
        found = await conn.execute_fetchall(queries.CONVERSATIONS, {"zone": zone, "callsign": me})
        for pair, last_ts, _count in found:
            a, _, b = str(pair).partition("\n")
            other = b if a == me else a
            floor = floors.dms.get(other, floors.default)
            if int(last_ts) > floor:
                rows = await conn.execute_fetchall(
                    _DIRECT, {**params, "dm": resolve.dm_pair(me, other), "floor": floor}
                )
                if n := int(next(iter(rows))[0]):
                    dms[other] = n
        return Unread(channels, dms, int(seq))

    return await store.read(run)
