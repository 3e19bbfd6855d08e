"""Who is offline, for ``mention_offline``: presence now, and when each user was last seen.

A callsign is online while it is in the zone-wide presence table (any node, any status).
The runner samples presence every few seconds and remembers when each callsign was last
online — in memory, and in the store for the callsigns that registered contact addresses,
so a restart does not forget it. Registering an address counts as being online.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from meshchat.clock import wall_ms
from meshchat.presence import PresenceService
from meshchat.store.contacts import ContactStore

# Remembered last-online times reach the store at most this often.
FLUSH_EVERY_MS = 60_000
SAMPLE_MIN_MS, SAMPLE_MAX_MS = 1_000, 30_000


class OfflineWatch:
    """Tells how long a callsign has been offline and which addresses it registered."""

    def __init__(
        self,
        contacts: ContactStore,
        presence: PresenceService,
        zones: Iterable[str],
        offline_after_ms: int,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.store = contacts
        self.presence = presence
        self.zones = tuple(zones)
        self.offline_after_ms = offline_after_ms
        self.clock = clock
        self._seen: dict[str, int] = {}
        self._unflushed: dict[str, int] = {}
        self._flushed_at = 0

    @property
    def sample_ms(self) -> int:
        """Return how often presence is sampled: a tenth of the offline time, 1-30 s."""
        return max(SAMPLE_MIN_MS, min(SAMPLE_MAX_MS, self.offline_after_ms // 10))

    def online(self) -> set[str]:
        """Return every callsign online now in any zone this node serves."""
        return {e.callsign for zone in self.zones for e in self.presence.zone(zone)}

    async def sample(self) -> None:
        """Note who is online now; write the times of users with contacts now and then."""
        now = self.clock()
        for callsign in self.online():
            self._seen[callsign] = now
            self._unflushed[callsign] = now
        if self._unflushed and now - self._flushed_at >= FLUSH_EVERY_MS:
            with_contacts = await self.store.contact_callsigns()
            await self.store.set_last_online(self._unflushed, with_contacts)
            self._unflushed.clear()
            self._flushed_at = now
        if len(self._seen) > 10_000:  # bound memory; the store keeps what matters
            self._seen = dict(sorted(self._seen.items(), key=lambda kv: kv[1])[-5_000:])

    async def last_online(self, callsign: str) -> int | None:
        """Return when ``callsign`` was last seen online (ms), or None if never here."""
        stored = await self.store.last_online(callsign)
        seen = self._seen.get(callsign)
        known = [t for t in (stored, seen) if t is not None]
        return max(known) if known else None

    async def contacts(self, callsign: str) -> tuple[tuple[str, str], ...]:
        """Return the (kind, address) pairs ``callsign`` registered on this node."""
        return tuple((c.kind, c.address) for c in await self.store.contacts(callsign))

    async def due(self, callsign: str) -> int | None:
        """Return when a notice to ``callsign`` is due, or None if none should be sent.

        None when the callsign registered no address here or is online now; otherwise the
        moment it will have been offline for ``offline_after_ms`` (now, if it already has).
        """
        if callsign in self.online() or not await self.store.contacts(callsign):
            return None
        last = await self.last_online(callsign)
        now = self.clock()
        return now if last is None else max(now, last + self.offline_after_ms)

    async def still_missed(self, callsign: str, since_ms: int) -> bool:
        """Tell whether ``callsign`` has stayed offline since ``since_ms`` (when it was told)."""
        if callsign in self.online():
            return False
        last = await self.last_online(callsign)
        return last is None or last < since_ms
