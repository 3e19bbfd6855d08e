"""Unread counts by timestamp: what others wrote after the user last read each place.

Counting by message time, not by how many records arrived, keeps history that a node
imported or bootstrapped from before the user's last visit from counting as unread
(README "In the browser"). Each count stops at ``CAP`` ("999+").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

from meshchat.store import queries, resolve
from meshchat.store.access import OPEN, ReadFilter
from meshchat.store.db import Store

CAP = 999


def _channel_sql(extra: str) -> str:
    """Count one channel's posts by others past the floor (``extra``: ``store.access``)."""
    return f"""
SELECT count(*) FROM (
    SELECT 1 FROM records
    WHERE zone = :zone AND shown = 1 AND channel = :channel AND ts > :floor
      AND coalesce(callsign, '') != :me{extra}
    LIMIT :cap
)
"""


def _direct_sql(extra: str) -> str:
    """Count one conversation's messages by the other past the floor."""
    return f"""
SELECT count(*) FROM (
    SELECT 1 FROM records
    WHERE zone = :zone AND shown = 2 AND dm_pair = :dm AND ts > :floor AND callsign != :me{extra}
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


async def unread(
    store: Store, zone: str, me: str, floors: Floors, seen: ReadFilter = OPEN
) -> Unread:
    """Return what others wrote past the floors, per channel and per conversation.

    ``seen``: what the reader may see; a channel it does not read is not counted at all.
    """

    async def run(conn: aiosqlite.Connection, node_keys: Collection[bytes]) -> Unread:
        del node_keys
        [(seq,)] = await conn.execute_fetchall(queries.MAX_SEQ, ())
        channels: dict[str, int] = {}
        params: dict[str, Any] = {"zone": zone, "me": me, "cap": CAP}
        extra = seen.sql(params)
        sql = _channel_sql(extra)
        for name, _count, last_ts in await conn.execute_fetchall(queries.CHANNEL_STATS, (zone,)):
            if not seen.sees_channel(str(name)):
                continue
            floor = floors.channels.get(str(name), floors.default)
            if int(last_ts) > floor:  # most channels have nothing new: no count at all
                rows = await conn.execute_fetchall(sql, {**params, "channel": name, "floor": floor})
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
                    _direct_sql(extra),
                    {**params, "dm": resolve.dm_pair(me, other), "floor": floor},
                )
                if n := int(next(iter(rows))[0]):
                    dms[other] = n
        return Unread(channels, dms, int(seq))

    return await store.read(run)
