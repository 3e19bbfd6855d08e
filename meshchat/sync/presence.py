"""Presence: who is online on which node, gossiped zone-wide and never logged (sans-I/O).

Each node reports its own logged-in users with a fresh ``last_seen`` and passes on what it
heard from its peers, so presence crosses several hops. Entries are keyed by
(callsign, node); the newer ``last_seen`` wins, and an entry nobody refreshes for ``ttl``
disappears by itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from meshchat.sync.wire import MAX_PRESENCE, PresenceEntry

DEFAULT_TTL_MS = 120_000


class PresenceTable:
    """Remote presence entries of one zone, merged and expired by time."""

    def __init__(self, ttl_ms: int = DEFAULT_TTL_MS) -> None:
        self.ttl_ms = ttl_ms
        self._entries: dict[tuple[str, str], PresenceEntry] = {}

    def merge(self, entries: Iterable[PresenceEntry], now_ms: int, own_node: str) -> None:
        """Take in what a peer reported; our own node's users are ours to say."""
        for heard in entries:
            if heard.node == own_node:
                continue
            entry = heard
            if entry.last_seen > now_ms + self.ttl_ms:  # a peer's clock far ahead: clamp it
                entry = PresenceEntry(entry.callsign, entry.node, entry.status, entry.since, now_ms)
            if entry.last_seen <= now_ms - self.ttl_ms:
                continue
            key = (entry.callsign, entry.node)
            known = self._entries.get(key)
            if known is None or entry.last_seen > known.last_seen:
                self._entries[key] = entry
        self._trim(now_ms)

    def remote(self, now_ms: int) -> list[PresenceEntry]:
        """Return the live entries heard from peers."""
        self._trim(now_ms)
        return list(self._entries.values())

    def _trim(self, now_ms: int) -> None:
        cutoff = now_ms - self.ttl_ms
        for key in [k for k, e in self._entries.items() if e.last_seen <= cutoff]:
            del self._entries[key]
        if len(self._entries) > MAX_PRESENCE:  # bound memory: keep the freshest
            keep = sorted(self._entries.items(), key=lambda kv: kv[1].last_seen)[-MAX_PRESENCE:]
            self._entries = dict(keep)


def combined(local: list[PresenceEntry], remote: list[PresenceEntry]) -> list[PresenceEntry]:
    """Return local entries followed by remote ones, one per (callsign, node), bounded."""
    seen: dict[tuple[str, str], PresenceEntry] = {}
    for entry in [*local, *remote]:
        seen.setdefault((entry.callsign, entry.node), entry)
    return list(seen.values())[:MAX_PRESENCE]
