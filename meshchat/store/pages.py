"""One page of message views (DESIGN §6 history and search), inside a read transaction."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import aiosqlite

from meshchat.errors import RemoteProtocolError
from meshchat.store import queries, resolve, views
from meshchat.store.access import OPEN, ReadFilter
from meshchat.store.models import MessageQuery, MessageView
from meshchat.store.search import fts_query

# A search first looks for its newest hits among limit x these many newest rows of the view.
SEARCH_SCAN_FACTORS = (20, 200)


async def message_page(
    conn: aiosqlite.Connection,
    query: MessageQuery,
    node_keys: Collection[bytes],
    seen: ReadFilter = OPEN,
) -> list[MessageView]:
    """Return one page of message views, ascending (ts, id); see MessageQuery.

    ``seen``: what the reader may see; the page is filtered in SQL, so it is still full.
    """
    params: dict[str, Any] = {"zone": query.zone, "limit": query.limit}
    extra = seen.sql(params)
    if query.dm is not None:
        view = "direct"
        params["dm"] = resolve.dm_pair(*query.dm)
    elif query.channel is not None:
        view = "channel"
        params["channel"] = query.channel
    else:
        view = "public"
    if query.q is not None:
        match = fts_query(query.q)
        if match is None:
            return []
        params["q"] = match
    window = "newest"
    cursor = query.before or query.after
    if cursor is not None:
        window = "before" if query.before is not None else "after"
        found = await conn.execute_fetchall(queries.CURSOR, (query.zone, cursor))
        rows = list(found)
        if not rows:
            raise RemoteProtocolError(f"unknown record id {cursor.hex()}")
        params["ts"], params["id"] = int(rows[0][0]), bytes(rows[0][1])
    elif query.since_ts is not None:
        window, params["ts"] = "since", query.since_ts
    page_rows: list[Any] = []
    if query.q is not None and window in ("newest", "before"):
        # Widen the window of recent rows until the page fills; only a search
        # that stays rare falls back to joining every match (FTS first).
        sql = queries.recent_search(view, window, extra)
        for factor in SEARCH_SCAN_FACTORS:
            params["scan"] = query.limit * factor
            page_rows = list(await conn.execute_fetchall(sql, params))
            if len(page_rows) >= query.limit:
                break
    if len(page_rows) < query.limit:
        sql = queries.page(view, window, query.q is not None, extra)
        page_rows = list(await conn.execute_fetchall(sql, params))
    if window in ("newest", "before"):
        page_rows.reverse()
    records = [views.to_record(r) for r in page_rows]
    return await views.load_views(conn, records, node_keys, seen)
