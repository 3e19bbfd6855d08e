"""Reading messages as the UI shows them: pages, threads, conversations, channels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

import aiosqlite

from meshchat.store import pages, queries, views
from meshchat.store.access import OPEN, ReadFilter
from meshchat.store.base import StoreBase
from meshchat.store.models import MessageQuery, MessageView

T = TypeVar("T")
# A read of another store module (search pages, unread counts, the zone's nodes):
# (connection, trusted node keys) -> result, run in one read transaction.
Reader = Callable[[aiosqlite.Connection, Collection[bytes]], Awaitable[T]]


class MessageReads(StoreBase):
    """Read-time message views (edits, deletes, reactions and trust applied)."""

    async def read(self, reader: Reader[T]) -> T:
        """Run a store module's ``reader`` in one read transaction."""
        async with self._read() as conn:
            return await reader(conn, self._node_keys)

    async def messages(self, query: MessageQuery, seen: ReadFilter = OPEN) -> list[MessageView]:
        """Return one page of message views, ascending (ts, id); see MessageQuery.

        ``seen`` (``store.access``) is what the reader may see; the default holds nothing
        back, for the node's own use.
        """
        async with self._read() as conn:
            return await pages.message_page(conn, query, self._node_keys, seen)

    async def message(
        self, zone: str, record_id: bytes, seen: ReadFilter = OPEN
    ) -> MessageView | None:
        """Return the view of one message (msg, file or legacy), or None (also: not seen)."""
        async with self._read() as conn:
            rows = list(await conn.execute_fetchall(queries.MESSAGE, (zone, record_id)))
            if not rows:
                return None
            records = [views.to_record(rows[0])]
            found = await views.load_views(conn, records, self._node_keys, seen)
        return found[0] if found else None

    async def thread(
        self, zone: str, root: bytes, limit: int = 500, seen: ReadFilter = OPEN
    ) -> list[MessageView]:
        """Return a message and the replies to it, oldest first (direct ones included)."""
        params = {"zone": zone, "root": root, "limit": limit}
        async with self._read() as conn:
            rows = list(await conn.execute_fetchall(queries.THREAD, params))
            records = [views.to_record(r) for r in rows]
            return await views.load_views(conn, records, self._node_keys, seen)

    async def conversations(self, zone: str, callsign: str) -> list[tuple[str, int, int]]:
        """Return (other callsign, last ts, count) of each direct conversation, newest first."""
        rows = await self._fetch(queries.CONVERSATIONS, {"zone": zone, "callsign": callsign})
        out = []
        for pair, last_ts, count in rows:
            a, _, b = str(pair).partition("\n")
            out.append((b if a == callsign else a, int(last_ts), int(count)))
        return out

    async def callsigns(self, zone: str, prefix: str = "", limit: int = 20) -> list[str]:
        """Return up to ``limit`` known callsigns of the zone starting with ``prefix``."""
        lo = prefix.strip().upper()
        params = {"zone": zone, "lo": lo, "hi": lo + "\U0010ffff", "limit": max(0, limit)}
        return [str(r[0]) for r in await self._fetch(queries.CALLSIGNS, params)]
