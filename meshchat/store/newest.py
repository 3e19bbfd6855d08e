"""The newest full-text matches of a view, found by walking FTS5 backwards (README "JSON API").

The full-text rowid is ``records.tk`` (ts * 2^20 + a number unique within the
millisecond, schema migration 7), so FTS5 hands matches out newest first, however out of
order sync stored them, and stops at a LIMIT. Matches are read in growing chunks, each
joined to the view's conditions, until the page is provably complete: every match not yet
read has a key below the last one read, hence a timestamp no later than its, so once
``limit`` shown matches are strictly later than that, no unread one can be among the
newest. A view that shows few of a term's matches (one small channel, a conversation)
could make this read many; past ``budget`` it gives up and the caller falls back.
"""

from __future__ import annotations

from typing import Any

import aiosqlite

from meshchat.store import queries
from meshchat.store.ingest import TK_BITS

FIRST_CHUNK = 256
MAX_CHUNK = 4096
BUDGET = 12_000  # full-text matches read before giving up
NO_KEY = 2**63 - 1  # above every key


def key_below(ts: int) -> int:
    """Return the smallest key of a timestamp: every record at or before ``ts`` lies below
    ``key_below(ts + 1)``."""
    return ts << TK_BITS


async def newest_matches(
    conn: aiosqlite.Connection,
    scope: str,
    params: dict[str, Any],
    limit: int,
    below: int = NO_KEY,
    budget: int = BUDGET,
) -> list[int] | None:
    """Return the seqs of the ``limit`` newest matches of ``:q`` in ``scope``, newest first.

    ``scope``: conditions on ``records`` (named parameters in ``params``); ``below``: a key
    bound on the matches read (a cursor's). None when ``budget`` matches were read first.
    """
    sql = queries.FTS_NEWEST.format(scope=scope)
    found: list[tuple[int, bytes, int]] = []  # (ts, id, seq) of the shown matches
    chunk, read = FIRST_CHUNK, 0
    while True:
        rows = list(await conn.execute_fetchall(sql, {**params, "below": below, "chunk": chunk}))
        read += len(rows)
        found += [(int(ts), bytes(rid), int(seq)) for _, seq, ts, rid in rows if seq is not None]
        if len(rows) < chunk:
            break  # every match was read
        below = int(rows[-1][0])
        last_ts = below >> TK_BITS
        if sum(1 for ts, _, _ in found if ts > last_ts) >= limit:
            break
        if read >= budget:
            return None
        chunk = min(chunk * 4, MAX_CHUNK)
    found.sort(reverse=True)
    return [seq for _, _, seq in found[:limit]]


async def rows_of(conn: aiosqlite.Connection, seqs: list[int]) -> list[Any]:
    """Return the ``RECORD_COLS`` rows of ``seqs``, in that order."""
    if not seqs:
        return []
    rows = await conn.execute_fetchall(queries.records_by_seq(len(seqs)), tuple(seqs))
    by_seq = {int(row[0]): row for row in rows}
    return [by_seq[seq] for seq in seqs]
