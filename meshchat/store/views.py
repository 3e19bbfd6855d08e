"""Read-time assembly of message views from stored records (DESIGN §2.1, §3).

Edits, deletes and reactions are resolved when a page is read, through the indexed
``target`` column, so those that arrive before their target apply once it arrives.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import aiosqlite

from meshchat.records import Record, load_trusted
from meshchat.store import queries, resolve, trust
from meshchat.store.access import OPEN, Access, ReadFilter, post_channel
from meshchat.store.models import ChannelView, MessageQuery, MessageView, Reaction
from meshchat.store.rights import Channel

__all__ = [
    "ChannelView",
    "MessageQuery",
    "MessageView",
    "Reaction",
    "chunks",
    "load_related",
    "load_views",
]

# SQLite's variable limit is 32766 since 3.32 (999 before); stay far below both.
CHUNK = 500


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """Yield ``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def to_record(row: Sequence[Any]) -> Record:
    """Decode a row that starts with ``queries.RECORD_COLS`` (seq, id, S, sig)."""
    return load_trusted(bytes(row[2]), bytes(row[3]))


async def _targeting(conn: aiosqlite.Connection, ids: Sequence[bytes]) -> list[Record]:
    found: list[Record] = []
    for part in chunks(ids):
        rows = await conn.execute_fetchall(queries.records_targeting(len(part)), tuple(part))
        found.extend(to_record(row) for row in rows)
    return found


async def load_related(
    conn: aiosqlite.Connection, ids: Sequence[bytes]
) -> dict[bytes, list[Record]]:
    """Return, per message id, the records ``resolve.effective`` needs (two levels)."""
    direct = await _targeting(conn, ids)
    # Only reactions and edits can be retracted by a delete aimed at them.
    second = [r.id for r in direct if r.kind in ("react", "edit")]
    retracts = await _targeting(conn, second) if second else []
    parent = {r.id: r.body["target"] for r in direct}
    related: dict[bytes, list[Record]] = {i: [] for i in ids}
    for rec in direct:
        related[rec.body["target"]].append(rec)
    for rec in retracts:
        related[parent[rec.body["target"]]].append(rec)
    return related


async def load_bindings(
    conn: aiosqlite.Connection, zone: str, wanted: Collection[str], node_keys: Collection[bytes]
) -> dict[str, bytes]:
    """Return the key each callsign is bound to in ``zone`` (absent: no binding yet)."""
    if not wanted:
        return {}
    params = {"zone": zone, "callsigns": json.dumps(sorted(wanted))}
    rows = await conn.execute_fetchall(queries.CLAIMS_OF, params)
    return trust.bindings([(str(r[0]), bytes(r[1])) for r in rows], node_keys)


async def load_views(
    conn: aiosqlite.Connection,
    records: Sequence[Record],
    node_keys: Collection[bytes],
    seen: ReadFilter = OPEN,
) -> list[MessageView]:
    """Return views of ``records`` (all of one zone, all shown kinds), in the same order.

    ``seen`` is what the reader may see (``store.access``): records it may not are left
    out, and reactions that do not count for it are not counted.
    """
    if not seen.empty:
        records = [r for r in records if seen.shows_record(r)]
    if not records:
        return []
    related = await load_related(conn, [r.id for r in records])
    wanted = {resolve.claimed_callsign(r) for r in records if r.kind != "legacy"}
    bound = await load_bindings(conn, records[0].zone, wanted, node_keys)
    views = []
    for rec in records:
        mine = related[rec.id]
        if not seen.empty:
            channel = post_channel(rec)
            mine = [r for r in mine if seen.counts(r, channel)]
        state = resolve.effective(rec, mine, node_keys)
        trust = resolve.verified(rec, node_keys, bound.get(resolve.claimed_callsign(rec)))
        views.append(resolve.view(rec, state, trust, seen.mark(rec)))
    return views


def channel_view(
    name: str, channel: Channel | None, stats: Sequence[Any] | None, key: bytes | None = None
) -> ChannelView:
    """Return one channel as a reader holding ``key`` sees it (docs/decisions.md "Channels")."""
    genesis = channel.genesis if channel is not None else None
    members = channel.members if channel is not None else {}
    return ChannelView(
        name=name,
        topic=channel.topic if channel is not None else "",
        count=int(stats[0]) if stats is not None else 0,
        last_ts=int(stats[1]) if stats is not None else None,
        created_by=genesis.author.hex() if genesis is not None else None,
        restricted=channel is not None and channel.restricted,
        members=tuple(sorted(c for c in members.values() if c)),
        roles=channel.roles() if channel is not None else {},
        you=channel.role(key) if channel is not None else None,
        genesis=genesis.id.hex() if genesis is not None else None,
        contested=channel is not None and channel.contested,
    )


def channel_views(
    stats: Iterable[Sequence[Any]], access: Access, key: bytes | None
) -> list[ChannelView]:
    """Merge message counts with the channels' rules; leave out those ``key`` may not read."""
    counts = {str(row[0]): (int(row[1]), int(row[2])) for row in stats}
    names = sorted(set(counts) | set(access.channels))
    out = []
    for name in names:
        channel = access.channel(name)
        if channel is not None and not channel.may_read(key):
            continue
        out.append(channel_view(name, channel, counts.get(name), key))
    return out
