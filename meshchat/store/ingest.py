"""One ingest batch inside the writer's open transaction (DESIGN §2.2, last steps).

Records arrive fully validated; this adds the duplicate and quota checks, stores them
verbatim and brings the full-text index up to date for every message they touch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence

import aiosqlite

from meshchat.records import Record
from meshchat.store import queries, resolve, tombstones
from meshchat.store.schema import SHOWN_NONE, SHOWN_PUBLIC
from meshchat.store.views import chunks, load_related, to_record

HOUR_MS = 3_600_000
OK, DUP, REJECT_QUOTA = "ok", "dup", "reject:quota"
SEQ_MARK = "seq_high"  # meta key: the highest seq ever given, so none is given twice
TK_BITS = 20  # records.tk = ts * 2^20 + a number free at that ts (schema migration 7)
_TK_LOW = (1 << TK_BITS) - 1
_TK_PROBES = 64  # a millisecond this crowded gets no more full-text rows (never in practice)


async def next_seq(conn: aiosqlite.Connection, count: int) -> int:
    """Return the first of ``count`` new sequence numbers, never one given before.

    Live updates, actions, the legacy feed and the file index follow ``seq`` with cursors:
    a number reused after the newest record was pruned would be skipped by all of them.
    """
    (top,) = await conn.execute_fetchall(queries.MAX_SEQ)
    mark = list(await conn.execute_fetchall(queries.META_GET, (SEQ_MARK,)))
    first = max(int(top[0]), int(mark[0][0]) if mark else 0) + 1
    await conn.execute(queries.META_SET, (SEQ_MARK, str(first + count - 1)))
    return first


async def time_keys(
    conn: aiosqlite.Connection, wanted: Sequence[tuple[int, int]]
) -> dict[int, int]:
    """Give each (seq, ts) a free full-text key ``records.tk``, time-ordered by ``ts``.

    The low bits start from the seq's and move up past keys already given (the
    migration numbered each millisecond's records from 0).
    """
    keys: dict[int, int] = {}
    todo = [(seq, ts, seq & _TK_LOW) for seq, ts in wanted]
    for _ in range(_TK_PROBES):
        if not todo:
            break
        cands = [(ts << TK_BITS) | low for _, ts, low in todo]
        taken: set[int] = set()
        for part in chunks(cands):
            rows = await conn.execute_fetchall(queries.taken_tks(len(part)), tuple(part))
            taken.update(int(row[0]) for row in rows)
        given = set(keys.values())
        later = []
        for (seq, ts, low), key in zip(todo, cands, strict=True):
            if key in taken or key in given:
                later.append((seq, ts, (low + 1) & _TK_LOW))
            else:
                keys[seq] = key
                given.add(key)
        todo = later
    return keys


async def _existing(conn: aiosqlite.Connection, ids: Sequence[bytes]) -> set[bytes]:
    found: set[bytes] = set()
    for part in chunks(ids):
        rows = await conn.execute_fetchall(queries.existing_ids(len(part)), tuple(part))
        found.update(bytes(row[0]) for row in rows)
    return found


QuotaKey = tuple[str, bytes, str, int]


def quota_key(record: Record, node_keys: Collection[bytes], origin: str) -> QuotaKey:
    """Return what a record counts against, per hour of its timestamp (docs/decisions.md).

    A user key counts as one, whatever callsigns it claims; a node key counts per callsign
    (its callsign-only users share it); unsigned legacy lines count per source.
    """
    hour = record.ts // HOUR_MS
    if record.kind == "legacy":
        return (record.zone, record.author, f"source:{origin}", hour)
    if record.author in node_keys:
        return (record.zone, record.author, resolve.columns(record).callsign or "", hour)
    return (record.zone, record.author, "", hour)


async def _hour_counts(conn: aiosqlite.Connection, keys: Sequence[QuotaKey]) -> dict[QuotaKey, int]:
    counts = dict.fromkeys(keys, 0)
    for part in chunks(keys, 200):
        params = tuple(v for key in part for v in key)
        rows = await conn.execute_fetchall(queries.author_hours(len(part)), params)
        for zone, author, callsign, hour, count in rows:
            counts[(str(zone), bytes(author), str(callsign), int(hour))] = int(count)
    return counts


async def insert_batch(
    conn: aiosqlite.Connection,
    records: Sequence[Record],
    origin: str,
    received_at_ms: int,
    quota_per_hour: int,
    node_keys: Collection[bytes] = (),
) -> tuple[list[str], set[bytes]]:
    """Store the new records of a batch; return "ok" | "dup" | "reject:quota" per record.

    Also returns the ids stubbed in the batch (``tombstones.drop_bodies``): those of the
    new records among them arrived already deleted.
    """
    seen = await _existing(conn, list({r.id for r in records}))
    counts: dict[QuotaKey, int] = {}
    keys = {r.id: quota_key(r, node_keys, origin) for r in records}
    if quota_per_hour > 0:
        counts = await _hour_counts(conn, sorted(set(keys.values())))
    results: list[str] = []
    fresh: list[Record] = []
    for rec in records:
        if rec.id in seen:
            results.append(DUP)
            continue
        if quota_per_hour > 0:
            key = keys[rec.id]
            if counts[key] >= quota_per_hour:
                results.append(REJECT_QUOTA)
                continue
            counts[key] += 1
        seen.add(rec.id)
        fresh.append(rec)
        results.append(OK)
    gone: set[bytes] = set()
    if fresh:
        first_seq = await next_seq(conn, len(fresh))
        stored = [(first_seq + i, rec, resolve.columns(rec)) for i, rec in enumerate(fresh)]
        tks = await time_keys(conn, [(s, r.ts) for s, r, c in stored if c.shown != SHOWN_NONE])
        await conn.executemany(
            queries.INSERT_RECORD,
            [
                (
                    seq,
                    r.id,
                    r.zone,
                    r.ts,
                    r.author,
                    r.kind,
                    *cols,
                    *r.envelope,
                    received_at_ms,
                    origin,
                    tks.get(seq),
                )
                for seq, r, cols in stored
            ],
        )
        await _add_stats(conn, stored, keys)
        await refresh_search(conn, stored, tks, node_keys)
        gone = await tombstones.drop_bodies(conn, fresh, node_keys)
    return results, gone


Stored = Sequence[tuple[int, Record, resolve.Columns]]


async def _add_stats(
    conn: aiosqlite.Connection, stored: Stored, keys: Mapping[bytes, QuotaKey]
) -> None:
    """Add a batch's totals to the derived count tables and callsign claims."""
    zones: Counter[str] = Counter()
    hours: Counter[QuotaKey] = Counter()
    channels: dict[tuple[str, str | None], list[int]] = {}
    claims: dict[tuple[str, str, bytes], tuple[int, bytes, int]] = {}
    for seq, rec, cols in stored:
        zones[rec.zone] += 1
        hours[keys[rec.id]] += 1
        if cols.shown == SHOWN_PUBLIC:
            entry = channels.setdefault((rec.zone, cols.channel), [0, rec.ts])
            entry[0] += 1
            entry[1] = max(entry[1], rec.ts)
        if cols.shown != SHOWN_NONE and cols.callsign is not None:
            key = (rec.zone, cols.callsign, rec.author)
            # The earliest (ts, id) for listing callsigns; the first arrival for binding.
            first = claims.get(key, (rec.ts, rec.id, seq))
            claims[key] = (*min(first[:2], (rec.ts, rec.id)), min(first[2], seq))
    await conn.executemany(queries.ADD_ZONE_COUNT, list(zones.items()))
    await conn.executemany(queries.ADD_AUTHOR_HOUR, [(*k, n) for k, n in hours.items()])
    await conn.executemany(
        queries.ADD_CHANNEL_COUNT, [(*k, n, ts) for k, (n, ts) in channels.items()]
    )
    await conn.executemany(queries.ADD_CLAIM, [(*k, *v) for k, v in claims.items()])


async def refresh_search(
    conn: aiosqlite.Connection,
    stored: Stored,
    tks: Mapping[int, int],
    node_keys: Collection[bytes] = (),
) -> None:
    """Re-index every message whose effective text the new records may have changed.

    ``tks``: the full-text key (``records.tk``) of each new shown record, by seq.
    """
    messages = {r.id: (tks[seq], r) for seq, r, _ in stored if seq in tks}
    new_ids = set(messages)
    touched = {r.body["target"] for _, r, _ in stored if r.kind in ("edit", "delete")}
    # Two rounds: a delete may retract an edit, which changes the edit's own target.
    wanted = list(touched - new_ids)
    for _ in range(2):
        next_round: set[bytes] = set()
        for part in chunks(wanted):
            rows = await conn.execute_fetchall(queries.records_by_id(len(part)), tuple(part))
            for row in rows:
                is_shown, kind, target, tk = int(row[4]), row[5], row[6], row[7]
                if is_shown > 0 and tk is not None:
                    messages[bytes(row[1])] = (int(tk), to_record(row))
                elif kind == "edit" and target is not None:
                    next_round.add(bytes(target))
        wanted = list(next_round - messages.keys())
        if not wanted:
            break
    if not messages:
        return
    related = await load_related(conn, list(messages))
    stale = [(tk,) for rid, (tk, _) in messages.items() if rid not in new_ids]
    if stale:
        await conn.executemany(queries.FTS_DELETE, stale)
    entries = []
    for rid, (tk, rec) in messages.items():
        text = resolve.search_text(rec, resolve.effective(rec, related[rid], node_keys))
        if text:
            entries.append((tk, text))
    if entries:
        await conn.executemany(queries.FTS_INSERT, entries)
