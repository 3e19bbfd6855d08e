"""Retention (DESIGN §2.4): which old records go, in short write transactions.

A record is a candidate when it is older than the horizon (or below the newest
``max_records``) and not in a pinned channel. A candidate still stays when its target
stays (an edit, delete or reaction of a kept message, or a delete retracting a kept
reaction), so a kept message keeps its read-time state. Triggers keep FTS and counts in step.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

import aiosqlite

from meshchat.store import queries

CHUNK = 2000
# edit/react → msg, delete → edit/react → msg: chains are at most this deep.
MAX_DEPTH = 4
Params = dict[str, Any]


async def base_params(
    conn: aiosqlite.Connection,
    zone: str,
    older_than_ts: int,
    pinned: Collection[str],
    max_records: int,
) -> Params:
    """Return the parameters of the candidate test, the record cap resolved to a (ts, id)."""
    cap_ts, cap_id = -1, b""
    if max_records > 0:
        rows = list(await conn.execute_fetchall(queries.NTH_NEWEST, (zone, max_records - 1)))
        if rows:
            cap_ts, cap_id = int(rows[0][0]), bytes(rows[0][1])
    return {
        "zone": zone,
        "older": older_than_ts,
        "cap_ts": cap_ts,
        "cap_id": cap_id,
        "pinned": json.dumps(sorted(pinned)),
    }


async def _kept_targets(
    conn: aiosqlite.Connection, params: Params, targets: Collection[bytes]
) -> set[bytes]:
    """Return which of ``targets`` stay, following each chain of targets to its end."""
    kept: set[bytes] = set()
    # chain[x] = the record whose fate decides x's (x stays iff chain[x] stays).
    pending = {t: t for t in targets}
    for _ in range(MAX_DEPTH):
        if not pending:
            break
        asked = sorted(set(pending.values()))
        found: dict[bytes, tuple[bytes | None, bool]] = {}
        for start in range(0, len(asked), 400):
            part = asked[start : start + 400]
            named = {f"t{i}": v for i, v in enumerate(part)}
            rows = await conn.execute_fetchall(
                queries.prune_targets(len(part)), {**params, **named}
            )
            for rid, target, candidate in rows:
                found[bytes(rid)] = (bytes(target) if target else None, bool(candidate))
        nxt: dict[bytes, bytes] = {}
        for origin, current in pending.items():
            if current not in found:
                continue  # the target is absent: nothing to keep it for
            target, candidate = found[current]
            if not candidate:
                kept.add(origin)
            elif target is not None:
                nxt[origin] = target
        pending = nxt
    return kept


async def prune_chunk(
    conn: aiosqlite.Connection, params: Params, after: tuple[int, bytes]
) -> tuple[int, tuple[int, bytes] | None]:
    """Delete one chunk of candidates past ``after``; return (deleted, next cursor or None)."""
    rows: Sequence[Any] = list(
        await conn.execute_fetchall(
            queries.PRUNE_CANDIDATES,
            {**params, "after_ts": after[0], "after_id": after[1], "limit": CHUNK},
        )
    )
    if not rows:
        return 0, None
    targets = {bytes(row[3]) for row in rows if row[3] is not None}
    kept = await _kept_targets(conn, params, targets) if targets else set()
    doomed = [(int(row[0]),) for row in rows if row[3] is None or bytes(row[3]) not in kept]
    if doomed:
        await conn.executemany(queries.DELETE_BY_SEQ, doomed)
    last = rows[-1]
    return len(doomed), (int(last[1]), bytes(last[2]))
