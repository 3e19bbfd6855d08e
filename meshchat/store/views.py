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
from meshchat.store.models import ChannelView, MessageQuery, MessageView, Reaction

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
    conn: aiosqlite.Connection, records: Sequence[Record], node_keys: Collection[bytes]
) -> list[MessageView]:
    """Return views of ``records`` (all of one zone, all shown kinds), in the same order."""
    if not records:
        return []
    related = await load_related(conn, [r.id for r in records])
    wanted = {resolve.claimed_callsign(r) for r in records if r.kind != "legacy"}
    bound = await load_bindings(conn, records[0].zone, wanted, node_keys)
    views = []
    for rec in records:
        state = resolve.effective(rec, related[rec.id], node_keys)
        trust = resolve.verified(rec, node_keys, bound.get(resolve.claimed_callsign(rec)))
        views.append(resolve.view(rec, state, trust))
    return views


def channel_views(
    stats: Iterable[Sequence[Any]], defs: Iterable[Record], node_keys: Collection[bytes] = ()
) -> list[ChannelView]:
    """Merge message counts with channel records (docs/decisions.md "Channels").

    A channel's owner is the author of its first channel record *seen here* (arrival, not
    an author-chosen timestamp: a back-dated record takes nothing over); its topic is the
    owner's latest. For a node key the owner is the key and the callsign.
    """
    counts = {str(row[0]): (int(row[1]), int(row[2])) for row in stats}
    owners: dict[str, Record] = {}
    latest: dict[str, Record] = {}
    for rec in defs:  # in (name, arrival) order
        name = str(rec.body["name"])
        owner = owners.setdefault(name, rec)
        known = latest.get(name)
        if resolve.same_actor(owner, rec, node_keys) and (
            known is None or (rec.ts, rec.id) > (known.ts, known.id)
        ):
            latest[name] = rec
    first_author = {name: rec.author for name, rec in owners.items()}
    topic = {name: str(rec.body["topic"]) for name, rec in latest.items()}
    names = sorted(set(counts) | set(first_author))
    return [
        ChannelView(
            name=name,
            topic=topic.get(name, ""),
            count=counts.get(name, (0, 0))[0],
            last_ts=counts[name][1] if name in counts else None,
            created_by=first_author[name].hex() if name in first_author else None,
        )
        for name in names
    ]
