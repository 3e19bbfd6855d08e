"""Presence and typing gossip with peers (DESIGN §5.2 ``presence``): ephemeral, never logged.

Presence travels as changes (docs/decisions.md "Presence", ``presencedelta``): this node
checks its own users every ``presence_interval_s`` and at once on any change, and sends
what changed to its peers over the eager links (the records' tree; every live link when
it has none); a peer passes on what it applied the same way. Every anti-entropy round
compares the two nodes' presence digests (``reconcile``'s ``pres``); when they differ,
the round ends with both sides sending each other their whole lists. Typing notices go
out at once and are passed on across hops, each at most once per half its lifetime, so
they spread without circling a ring forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Protocol

from meshchat.errors import PeerError
from meshchat.presence import PresenceService, TypingEntry
from meshchat.presencedelta import Update
from meshchat.sync import wire
from meshchat.sync.client import PeerClient
from meshchat.sync.pusher import LinkMode
from meshchat.timing import Timing

SEEN_CAP = 1000  # typing notices remembered before expired ones are dropped
DEBOUNCE_S = 0.05  # changes made together (a join wave) go out together


class Route(Protocol):
    """A peer link as gossip sees it (``peerlink.PeerLink``)."""

    client: PeerClient
    mode: LinkMode


def along_tree(routes: Iterable[Route], exclude: str = "") -> list[PeerClient]:
    """Return the live peers to tell: the eager ones (all live ones when none is eager)."""
    live = [r for r in routes if r.client.peer.live]
    flood = not any(r.mode.eager for r in live)
    return [
        r.client
        for r in live
        if (flood or r.mode.eager) and (not exclude or r.client.peer.node_id != exclude)
    ]


class Gossip:
    """Tells peers who is online and who is typing, and merges what they tell back."""

    def __init__(self, presence: PresenceService, zones: Sequence[str], timing: Timing) -> None:
        self.presence = presence
        self.zones = zones
        self.timing = timing
        self._seen: dict[tuple[str, str, str, str], float] = {}  # notice -> pass on again at
        self._typing: dict[str, asyncio.Task[None]] = {}  # peer url -> the notice in flight
        self._queues: dict[str, dict[str, list[Update]]] = {}  # url -> zone -> updates
        self._senders: dict[str, asyncio.Task[None]] = {}  # url -> the sender running
        self._changed = asyncio.Event()
        presence.listeners.append(self._changed.set)

    # -- presence changes ------------------------------------------------------------------

    async def run(self, routes: Callable[[], Iterable[Route]]) -> None:
        """Publish this node's presence changes as they happen, until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self.timing.presence_interval_s)
            await asyncio.sleep(DEBOUNCE_S)
            self._changed.clear()
            update = self.presence.publish()
            if update is not None:
                targets = along_tree(routes())
                for zone in self.zones:
                    self.queue(zone, [update], targets)

    def queue(self, zone: str, updates: Sequence[Update], clients: Iterable[PeerClient]) -> None:
        """Send ``updates`` to each of ``clients`` that serves ``zone`` (one sender a peer)."""
        for client in clients:
            if zone not in client.peer.zones:
                continue
            url = client.peer.url
            self._queues.setdefault(url, {}).setdefault(zone, []).extend(updates)
            task = self._senders.get(url)
            if task is None or task.done():
                self._senders[url] = asyncio.get_running_loop().create_task(
                    self._drain(client), name=f"presence {url}"
                )

    def forward(
        self, zone: str, applied: Sequence[Update], source: str, routes: Iterable[Route]
    ) -> None:
        """Pass on updates a peer sent us that we applied, along the tree."""
        if applied:
            self.queue(zone, applied, along_tree(routes, exclude=source))

    async def _drain(self, client: PeerClient) -> None:
        url = client.peer.url
        while self._queues.get(url):
            zones = self._queues.pop(url)
            for zone, updates in zones.items():
                try:
                    answer = await client.presence(wire.Presence(zone, tuple(updates[-200:])))
                    if answer.want:
                        whole = self.presence.whole(zone, answer.want)
                        if whole:
                            await client.presence(wire.Presence(zone, tuple(whole)))
                except PeerError:
                    client.presence_stale.add(zone)  # the next round compares digests

    async def exchange(self, client: PeerClient) -> None:
        """End a round: swap whole lists in every zone whose digests differed (PeerError)."""
        for zone in sorted(client.presence_stale):
            if zone not in client.peer.zones or zone not in self.zones:
                client.presence_stale.discard(zone)
                continue
            mine = tuple(self.presence.whole(zone))
            digest = self.presence.digest(zone)
            answer = await client.presence(wire.Presence(zone, mine, digest=digest))
            self.presence.take(zone, answer.updates, client.peer.url)
            client.presence_stale.discard(zone)

    # -- typing ----------------------------------------------------------------------------

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
            await client.presence(wire.Presence(zone, typing=tuple(entries)))

    async def forget(self, url: str) -> None:
        """Cancel and await what is in flight to the peer at ``url``, if anything."""
        self._queues.pop(url, None)
        for tasks in (self._typing, self._senders):
            task = tasks.pop(url, None)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        """Cancel and await every notice and change in flight."""
        for url in {*self._typing, *self._senders}:
            await self.forget(url)
