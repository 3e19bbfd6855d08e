"""The zone as legacy nodes see it: its newest 500 lines, their MD5 and their version.

Built from the legacy id map (``store.legacy``), which follows the zone's log through a
cursor; rebuilt only after the zone gained a message, a legacy line or a delete (the
ingest subscriber marks it), or once a minute (a prune may have taken a line). Every
``messages_version`` and ``messages_raw`` a legacy node asks for is answered from here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from meshchat.legacy import codec
from meshchat.legacy.codec import Window
from meshchat.records import Record
from meshchat.store.legacy import LegacyStore

# A channel record may restrict a channel, a delete may hide a line (docs/decisions.md).
WATCHED = frozenset({"msg", "legacy", "delete", "channel"})
MAX_AGE_S = 60.0


class ExportWindow:
    """The cached window of one zone."""

    def __init__(self, store: LegacyStore, zone: str, limit: int = codec.WINDOW) -> None:
        self.store = store
        self.zone = zone
        self.limit = limit
        self._window: Window | None = None
        self._built_at = 0.0
        self._dirty = True
        self._lock = asyncio.Lock()

    @property
    def last(self) -> Window | None:
        """Return the window as it was last built (None before the first build)."""
        return self._window

    def on_records(self, fresh: Sequence[Record], origin: str) -> None:
        """Ingest subscriber: the window is stale once the zone gains a line or a delete."""
        del origin
        if any(r.zone == self.zone and r.kind in WATCHED for r in fresh):
            self._dirty = True

    async def refresh(self) -> None:
        """Bring the id map up to date with the log (before lines are looked up in it)."""
        await self.store.catch_up(self.zone, codec.line_entry)

    async def current(self) -> Window:
        """Return the window, rebuilding it if the zone changed since it was built."""
        async with self._lock:
            window = self._window
            if window is None or self._dirty or time.monotonic() - self._built_at > MAX_AGE_S:
                self._dirty = False  # a record stored from here on marks it again
                await self.refresh()
                # Restricted channels, hidden records and banned authors are never served
                # to legacy nodes: they show every line to everyone (DESIGN §10).
                public = (await self.store.store.access(self.zone)).public()
                entries = await self.store.window(self.zone, self.limit, public)
                window = self._window = codec.build_window(entries, self.limit)
                self._built_at = time.monotonic()
            return window
