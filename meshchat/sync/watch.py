"""The caller's half of a watch (docs/decisions.md "One-way peering"): one loop per link.

A node that calls a peer holds a ``watch`` open on it, so what is new there reaches this
node within a round trip even when the peer cannot open a connection back (a LAN host
behind an AREDN node in NAT mode). The peer answers ``linked`` when it pushes to us over
a link of its own; the watch then rests for ``info_every_s``. Records that come back are
ingested like pushed ones, and their outcome steers the link's mode (``LinkMode``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from meshchat.errors import PeerError
from meshchat.sync import announce
from meshchat.sync.client import PeerClient
from meshchat.sync.pusher import LinkMode
from meshchat.timing import Timing

log = logging.getLogger(__name__)

Submit = Callable[[Sequence[tuple[bytes, bytes]], str], Awaitable[list[str]]]
Lacking = Callable[[Sequence[bytes], float], Awaitable[list[bytes]]]
RETRY_S = 5.0  # a failed or refused watch is tried again after this (at most)


class WatchLoop:
    """Keeps one watch held on a peer while it is live."""

    def __init__(
        self,
        client: PeerClient,
        mode: LinkMode,
        zones: Sequence[str],
        timing: Timing,
        submit: Submit,
        lacking: Lacking,
    ) -> None:
        self.client = client
        self.mode = mode
        self.zones = zones
        self.timing = timing
        self.submit = submit
        self.lacking = lacking
        self.linked = False  # the peer said it pushes to us itself
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Arm the watch now (the peer came back or its zones changed)."""
        self._wake.set()

    async def _rest(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def run(self) -> None:
        """Hold watches one after the other until cancelled."""
        want: tuple[bytes, ...] = ()
        while True:
            peer = self.client.peer
            zones = tuple(z for z in self.zones if z in peer.zones)
            if not peer.live or not zones:
                await self._rest(RETRY_S)
                continue
            try:
                reply = await self.client.watch(
                    announce.Watch(zones, self.mode.eager, want), self.timing.watch_wait_s
                )
            except PeerError as exc:
                log.debug("watch on %s: %s", peer.url, exc)
                await self._rest(min(RETRY_S, max(peer.backoff_s, 1.0)))
                continue
            want = ()
            self.linked = reply.linked
            if reply.records:
                results = await self.submit(reply.records, f"peer:{peer.node_id}")
                self.mode.took(results)
            if reply.ihave:
                missing = await self.lacking(reply.ihave, self.timing.graft_wait_s)
                want = tuple(missing[: announce.MAX_IHAVE])
                if want:
                    self.mode.set(True, "graft_want")  # graft: ask for whole records from now on
            if reply.linked:
                await self._rest(self.timing.info_every_s)
