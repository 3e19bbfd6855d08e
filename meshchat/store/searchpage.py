"""Search results: one page, newest first, with a bounded count (README "JSON API").

A search covers the zone's channels and, for a logged-in user, that user's own direct
messages; ``from:`` narrows it to one callsign, ``in:`` to one channel or conversation.
The count never scans more than ``COUNT_EXAMINE`` full-text matches or counts past
``COUNT_CAP``: past either bound it is a lower bound and says so (``exact`` false).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from meshchat.errors import RemoteProtocolError
from meshchat.store import queries, resolve, views
from meshchat.store.access import OPEN, ReadFilter
from meshchat.store.db import Store
from meshchat.store.models import MAX_PAGE, MessageView
from meshchat.store.search import fts_query, terms

COUNT_CAP = 1000  # "1,000+ results"
COUNT_EXAMINE = 20_000  # full-text matches looked at, newest first, for the count
# As for history pages: first look among limit x these many newest rows of the scope.
SCAN_FACTORS = (20, 200)
_COLS = "records.seq, records.id, records.S, records.sig"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to search: free ``words`` and filters. At least one of them must be given.

    ``me``: the searching user's callsign (their direct messages are searched too);
    ``channel`` or ``dm`` (a conversation with ``me``) limit it to one place; ``author``
    to one callsign; ``before`` pages back from a result; ``since_ts`` is a lower bound.
    """

    zone: str
    words: str = ""
    me: str | None = None
    channel: str | None = None
    dm: str | None = None
    author: str | None = None
    before: bytes | None = None
    since_ts: int | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        """Refuse a search that cannot be answered (a client's fault, hence remote)."""
        if type(self.limit) is not int or not 1 <= self.limit <= MAX_PAGE:
            raise RemoteProtocolError(f"limit must be 1..{MAX_PAGE}")
        if self.channel is not None and self.dm is not None:
            raise RemoteProtocolError("search one channel or one conversation, not both")
        if self.dm is not None and self.me is None:
            raise RemoteProtocolError("searching a conversation needs a login")
        if self.before is not None and len(self.before) != 32:
            raise RemoteProtocolError("a cursor is a 32-byte record id")
        filters = (self.channel, self.dm, self.author)
        if not terms(self.words) and all(f is None for f in filters):
            raise RemoteProtocolError("nothing to search for")


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results, oldest first, and (on the first page) how many there are."""

    messages: list[MessageView]
    total: int | None  # None on later pages (the first page told)
    exact: bool = True
    terms: list[str] = field(default_factory=list)


def _scope(query: SearchQuery, params: dict[str, Any]) -> str:
    """Return the WHERE terms over ``records`` that select the searched messages."""
    params["zone"] = query.zone
    conds = ["zone = :zone"]
    # Literal ``shown = 1`` / ``= 2`` / ``> 0`` let SQLite use the partial indexes.
    if query.dm is not None and query.me is not None:
        params["dm"] = resolve.dm_pair(query.me, query.dm)
        conds.append("shown = 2 AND dm_pair = :dm")
    elif query.channel is not None:
        params["channel"] = query.channel
        conds.append("shown = 1 AND channel = :channel")
    elif query.me is not None:
        params["me"] = query.me
        conds.append("shown > 0 AND (shown = 1 OR to_callsign = :me OR callsign = :me)")
    else:
        conds.append("shown = 1")
    if query.author is not None:
        params["author"] = query.author
        conds.append("callsign = :author AND shown > 0")
    if query.since_ts is not None:
        params["since"] = query.since_ts
        conds.append("ts >= :since")
    return " AND ".join(conds)


def _recent_sql(scope: str, cursor: str) -> str:
    """Matches among the newest ``:scan`` rows of the scope (exact when it fills a page)."""
    return f"""
WITH recent AS (
    SELECT seq, ts, id FROM records WHERE {scope}{cursor} ORDER BY ts DESC, id DESC LIMIT :scan
)
SELECT {_COLS} FROM (
    SELECT seq AS hit, ts AS hit_ts, id AS hit_id FROM recent
    WHERE seq IN (
        SELECT rowid FROM message_fts
        WHERE message_fts MATCH :q AND rowid >= (SELECT min(seq) FROM recent)
    )
    ORDER BY ts DESC, id DESC LIMIT :limit
) CROSS JOIN records ON records.seq = hit ORDER BY hit_ts DESC, hit_id DESC
"""


def _size_sql(scope: str, cursor: str) -> str:
    """How many rows the scope holds, counted up to ``:scan``."""
    return f"SELECT count(*) FROM (SELECT 1 FROM records WHERE {scope}{cursor} LIMIT :scan)"


def _fts_first_sql(scope: str, cursor: str) -> str:
    """Every match, full-text index first (rare words); CROSS JOIN fixes the loop order."""
    return (
        f"SELECT {_COLS} FROM message_fts CROSS JOIN records "
        f"ON records.seq = message_fts.rowid WHERE message_fts MATCH :q AND {scope}{cursor} "
        "ORDER BY ts DESC, id DESC LIMIT :limit"
    )


def _filtered_sql(scope: str, cursor: str) -> str:
    """Filters only (``from:W1AW``): the scope's newest rows."""
    return (
        f"SELECT {_COLS} FROM records WHERE {scope}{cursor} ORDER BY ts DESC, id DESC LIMIT :limit"
    )


def _count_sql(scope: str, words: bool) -> str:
    """(full-text matches examined, results counted), both bounded."""
    if not words:
        return f"SELECT 0, (SELECT count(*) FROM (SELECT 1 FROM records WHERE {scope} LIMIT :cap))"
    return f"""
WITH f AS (
    SELECT rowid AS r FROM message_fts WHERE message_fts MATCH :q
    ORDER BY rowid DESC LIMIT :examine
)
SELECT (SELECT count(*) FROM f), (
    SELECT count(*) FROM (
        SELECT 1 FROM f CROSS JOIN records ON records.seq = f.r WHERE {scope} LIMIT :cap
    )
)
"""


async def _page(
    conn: aiosqlite.Connection,
    query: SearchQuery,
    node_keys: Collection[bytes],
    seen: ReadFilter,
) -> SearchPage:
    params: dict[str, Any] = {"limit": query.limit}
    # What the reader may not see is out of the scope: of the pages and of the count.
    scope = _scope(query, params) + seen.sql(params)
    match = fts_query(query.words)
    if match is not None:
        params["q"] = match
    cursor = ""
    if query.before is not None:
        found = list(await conn.execute_fetchall(queries.CURSOR, (query.zone, query.before)))
        if not found:
            raise RemoteProtocolError(f"unknown record id {query.before.hex()}")
        params["ts"], params["id"] = int(found[0][0]), bytes(found[0][1])
        cursor = " AND (ts, id) < (:ts, :id)"
    rows: list[Any] = []
    if match is None:
        rows = list(await conn.execute_fetchall(_filtered_sql(scope, cursor), params))
    else:
        exhausted = False
        for factor in SCAN_FACTORS:
            params["scan"] = query.limit * factor
            rows = list(await conn.execute_fetchall(_recent_sql(scope, cursor), params))
            if len(rows) >= query.limit:
                break
            # A narrow scope (from:, a small channel) may fit in the window whole: then
            # the window's hits are all there are, and no full-text join is needed.
            [(size,)] = await conn.execute_fetchall(_size_sql(scope, cursor), params)
            if size < params["scan"]:
                exhausted = True
                break
        if len(rows) < query.limit and not exhausted:
            rows = list(await conn.execute_fetchall(_fts_first_sql(scope, cursor), params))
    rows.reverse()
    hits = [views.to_record(r) for r in rows]
    found_views = await views.load_views(conn, hits, node_keys, seen)
    total: int | None = None
    exact = True
    if query.before is None:
        counted = {**params, "cap": COUNT_CAP, "examine": COUNT_EXAMINE}
        counted.pop("limit", None)
        counted.pop("scan", None)
        [(examined, total)] = list(
            await conn.execute_fetchall(_count_sql(scope, match is not None), counted)
        )
        exact = total < COUNT_CAP and examined < COUNT_EXAMINE
    return SearchPage(found_views, total, exact, terms(query.words))


async def search(store: Store, query: SearchQuery, seen: ReadFilter = OPEN) -> SearchPage:
    """Return one page of results for ``query`` (see the module docstring).

    ``seen``: what the reader may see (``store.access``); nothing else is found or counted.
    """

    async def run(conn: aiosqlite.Connection, node_keys: Collection[bytes]) -> SearchPage:
        return await _page(conn, query, node_keys, seen)

    return await store.read(run)
