"""The presence entries peers reported for one zone, bounded per source (sans-I/O).

Presence is unauthenticated gossip (docs/sync-threat-model.md), so the table is built to
survive a hostile reporter: stamps are clamped to this node's clock, an entry nobody
refreshes for the TTL goes, the table holds at most ``MAX_PRESENCE`` entries and one
source at most half of them, and a full table takes a source's new entry only in place
of that source's own oldest — no peer can push out what another reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshchat.presence import PresenceEntry

MAX_ENTRIES = 1000
MAX_PER_SOURCE = MAX_ENTRIES // 2


class PresenceTable:
    """Remote presence entries of one zone, with the source that reported each."""

    def __init__(self, ttl_ms: int) -> None:
        self.ttl_ms = ttl_ms
        self._entries: dict[tuple[str, str], tuple[PresenceEntry, str]] = {}

    def merge(
        self, entries: Iterable[PresenceEntry], now_ms: int, own_node: str, source: str = ""
    ) -> None:
        """Take in what ``source`` reported; our own node's users are ours to say."""
        for heard in entries:
            if heard.node == own_node:
                continue
            entry = heard
            if entry.last_seen > now_ms or entry.since > entry.last_seen:
                # A stamp ahead of our clock is clamped to it: a ghost cannot outlive the TTL.
                seen = min(entry.last_seen, now_ms)
                entry = dataclasses.replace(entry, last_seen=seen, since=min(entry.since, seen))
            if entry.last_seen <= now_ms - self.ttl_ms:
                continue
            key = (entry.callsign, entry.node)
            known = self._entries.get(key)
            if known is not None:
                if entry.last_seen > known[0].last_seen:
                    self._entries[key] = (entry, source)
                continue
            if self._make_room(source, now_ms):
                self._entries[key] = (entry, source)

    def _make_room(self, source: str, now_ms: int) -> bool:
        """Tell whether ``source`` may add an entry, dropping its own oldest if it must."""
        mine = [k for k, (_, s) in self._entries.items() if s == source]
        if len(self._entries) < MAX_ENTRIES and len(mine) < MAX_PER_SOURCE:
            return True
        self._trim(now_ms)
        mine = [k for k in mine if k in self._entries]
        if len(self._entries) < MAX_ENTRIES and len(mine) < MAX_PER_SOURCE:
            return True
        if not mine:
            return False  # full of what others reported: theirs stay
        del self._entries[min(mine, key=lambda k: self._entries[k][0].last_seen)]
        return True

    def forget(self, source: str) -> None:
        """Drop what ``source`` reported (a peer that went away)."""
        self._entries = {k: v for k, v in self._entries.items() if v[1] != source}

    def live(self, now_ms: int) -> list[PresenceEntry]:
        """Return the entries heard from peers that have not expired."""
        self._trim(now_ms)
        return [entry for entry, _ in self._entries.values()]

    def _trim(self, now_ms: int) -> None:
        cutoff = now_ms - self.ttl_ms
        for key in [k for k, (e, _) in self._entries.items() if e.last_seen <= cutoff]:
            del self._entries[key]
