"""Presence and typing gossip with peers (DESIGN §5.2 ``presence``): ephemeral, never logged.

Presence is exchanged at the end of every sync round and every ``presence_interval_s``
in between; typing notices go out at once and are passed on across hops, each at most
once per half its lifetime, so they spread without circling a ring forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Collection, Iterable, Sequence

from meshchat.errors import PeerError
from meshchat.presence import PresenceService, TypingEntry
from meshchat.sync.client import PeerClient
from meshchat.timing import Timing

SEEN_CAP = 1000  # typing notices remembered before expired ones are dropped


class Gossip:
    """Tells peers who is online and who is typing, and merges what they tell back."""

    def __init__(self, presence: PresenceService, zones: Sequence[str], timing: Timing) -> None:
        self.presence = presence
        self.zones = zones
        self.timing = timing
        self._seen: dict[tuple[str, str, str, str], float] = {}  # notice -> pass on again at
        self._typing: dict[str, asyncio.Task[None]] = {}  # peer url -> the notice in flight

    async def exchange(self, client: PeerClient) -> None:
        """Swap presence with one peer for every zone both serve (PeerError if it fails)."""
        for zone in self.zones:
            if zone not in client.peer.zones:
                continue
            ours = self.presence.zone(zone)
            if not ours:
                continue  # nothing to tell; a peer with users online tells us theirs
            self.presence.merge(zone, await client.presence(zone, ours), client.peer.url)

    async def run(self, clients: Callable[[], Iterable[PeerClient]]) -> None:
        """Exchange presence with every live peer between sync rounds, until cancelled."""
        jitter = self.timing.jitter
        while True:
            interval = self.timing.presence_interval_s
            await asyncio.sleep(interval * random.uniform(1 - jitter, 1 + jitter))
            for client in list(clients()):
                if client.peer.live:
                    with contextlib.suppress(PeerError):
                        await self.exchange(client)

    def send_typing(
        self,
        zone: str,
        entries: Sequence[TypingEntry],
        exclude: str,
        clients: Collection[PeerClient],
    ) -> None:
        """Pass typing notices on to every live peer but ``exclude`` (best effort)."""
        now = time.monotonic()
        fresh = []
        for entry in entries:
            key = (zone, entry.callsign, entry.node, entry.channel)
            if self._seen.get(key, 0.0) > now:
                continue
            self._seen[key] = now + entry.ttl_ms / 2000
            fresh.append(entry)
        if len(self._seen) > SEEN_CAP:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
        if not fresh:
            return
        for client in clients:
            peer = client.peer
            if not peer.live or peer.node_id == exclude or zone not in peer.zones:
                continue
            sending = self._typing.get(peer.url)
            if sending is not None and not sending.done():
                continue  # a notice is on its way; typing is repeated every few seconds
            self._typing[peer.url] = asyncio.get_running_loop().create_task(
                self._send(client, zone, fresh), name=f"typing {peer.url}"
            )

    async def _send(self, client: PeerClient, zone: str, entries: Sequence[TypingEntry]) -> None:
        with contextlib.suppress(PeerError):
            theirs = await client.presence(zone, self.presence.zone(zone), entries)
            self.presence.merge(zone, theirs, client.peer.url)

    async def forget(self, url: str) -> None:
        """Cancel and await the notice in flight to the peer at ``url``, if any."""
        task = self._typing.pop(url, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        """Cancel and await every notice in flight."""
        for url in list(self._typing):
            await self.forget(url)
