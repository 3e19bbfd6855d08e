"""The lifecycle of one peer: when to sync it, its back-off, what it serves, each round.

A link runs one loop task and one push task, both cancelled and awaited by ``stop``. A
round probes a peer of unknown kind (a legacy node is left to the legacy bridge, which
polls it on its own schedule: the link's loops end), re-reads a
healthy peer's ``info`` only every ``info_every_s``, syncs every shared zone and ends
with a presence exchange. Rounds come every jittered ``sync_interval_s``, at once on a
trigger (the peer appeared or came back), and after the back-off of a failing peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from meshchat.errors import MeshchatError, PeerError
from meshchat.sync import probe, wire
from meshchat.sync.client import PeerClient
from meshchat.sync.contacts import ContactLog
from meshchat.sync.gossip import Gossip
from meshchat.sync.pusher import LinkMode, Pusher
from meshchat.sync.watch import Lacking, WatchLoop
from meshchat.sync.zonesync import ZoneSync
from meshchat.timing import Timing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkContext:
    """What every link of a node shares."""

    node_id: str
    zones: tuple[str, ...]  # the zones this node serves
    horizon_ms: int
    timing: Timing
    http: aiohttp.ClientSession
    contacts: ContactLog
    zone_sync: ZoneSync
    gossip: Gossip
    # Told the node id of every peer whose info was read, and the node keys that info
    # vouches for (node trust, docs/decisions.md "Identity").
    met: Callable[[str, Sequence[str]], None]
    # Which announced id prefixes are not stored here (``Broadcast.lacking``).
    lacking: Lacking
    # Whether a link mode is the node's last live eager one (``SyncScheduler.sole``).
    sole: Callable[[LinkMode], bool] = lambda mode: False


class PeerLink:
    """Syncs one peer for as long as it is known."""

    def __init__(self, ctx: LinkContext, client: PeerClient) -> None:
        self.ctx = ctx
        self.client = client
        self.peer = client.peer
        # Eager (whole records) or lazy (ids only) in both directions (docs/decisions.md).
        self.mode = LinkMode(changes=self.peer.link_changes, sole=ctx.sole)
        timing = ctx.timing
        self.pusher = Pusher(
            client, timing.push_delay_s, self._push_failed, self.mode, timing.announce_delay_s
        )
        self.watch = WatchLoop(
            client, self.mode, ctx.zones, ctx.timing, ctx.zone_sync.ingestor.submit, ctx.lacking
        )
        self._trigger = asyncio.Event()
        self._trigger.set()  # a new peer is synced at once
        self._tasks: list[asyncio.Task[None]] = []
        self._in_round = False
        self._settle = False  # the next round is a settle check (``settle``)
        self._paged_in: set[str] = set()  # zones paged in from this peer during this contact
        self._counts: dict[str, int] = {}  # the peer's zone sizes at its last info
        self._info_at = 0.0  # monotonic time of the last info

    @property
    def live(self) -> bool:
        """Tell whether the peer answers (pushes and announcements go to live peers)."""
        return self.peer.live

    @property
    def idle(self) -> bool:
        """Tell whether no round runs or is due at once and nothing waits to be pushed."""
        return not self._in_round and not self._trigger.is_set() and self.pusher.idle

    def start(self) -> None:
        """Start the round loop and the push loop."""
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._loop(), name=f"sync {self.peer.url}"),
            loop.create_task(self.pusher.run(), name=f"push {self.peer.url}"),
            loop.create_task(self.watch.run(), name=f"watch {self.peer.url}"),
        ]

    async def stop(self) -> None:
        """Cancel both loops and wait until they have ended."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def trigger(self) -> None:
        """Run a round now."""
        self._trigger.set()

    def settle(self) -> None:
        """Run a settle check now: a round from a digest of each zone (``sync.settle``)."""
        self._settle = True
        self._trigger.set()

    def reread_info(self) -> None:
        """Read the peer's info again in the next round (which starts now)."""
        self._info_at = 0.0
        self._trigger.set()

    async def _loop(self) -> None:
        peer = self.peer
        while True:
            triggered = self._trigger.is_set()
            self._trigger.clear()
            self._in_round = True
            try:
                synced_us = self._peer_synced_us_at()
                if triggered or peer.failures or synced_us is None:
                    await self._round()
                else:
                    peer.last_sync = synced_us  # its round settled both sides
            except MeshchatError as exc:
                delay = self._failed(str(exc))
                log.info("peer %s failed (%s); retrying in %.1f s", peer.url, exc, delay)
            except Exception:  # a bug must not end syncing with this peer for good
                log.exception("sync with %s crashed", peer.url)
                self._failed("internal error")
            finally:
                self._in_round = False
            if peer.kind == "legacy":
                for task in self._tasks[1:]:
                    task.cancel()  # the push loop: nothing is pushed to a legacy node
                return
            jitter = self.ctx.timing.jitter
            interval = self.ctx.timing.sync_interval_s * random.uniform(1 - jitter, 1 + jitter)
            # A failing peer is retried after its back-off, but never later than the next
            # interval: a link that comes back is synced within one interval (and at once
            # when the peer calls us first, see SyncScheduler.heard_from).
            wait = min(peer.backoff_s, interval) if peer.failures else interval
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._trigger.wait(), wait)

    def _peer_synced_us_at(self) -> float | None:
        """Return when the peer last reconciled with us, if this round can be left to it.

        One periodic round per pair (docs/decisions.md): only the side with the larger
        node id defers, and only when the peer reconciled within the last 1.5 intervals.
        """
        peer = self.peer
        if peer.kind != "native" or not peer.node_id or peer.node_id < self.ctx.node_id:
            return None
        now = time.time()
        # Only a contact from where the peer is counts: the node header proves nothing.
        contacts = (self.ctx.contacts.since(peer.node_id, a, now) for a in peer.addresses)
        ago = min((t for t in contacts if t is not None), default=None)
        if ago is None or ago >= 1.5 * self.ctx.timing.sync_interval_s:
            return None
        return now - ago

    def _failed(self, error: str) -> float:
        timing = self.ctx.timing
        return self.peer.failed(time.time(), error, timing.backoff_max_s, timing.backoff_base_s)

    def _push_failed(self, exc: PeerError) -> None:
        delay = self._failed(str(exc))
        log.info("push to %s failed (%s); retrying in %.1f s", self.peer.url, exc, delay)
        self.trigger()

    async def _round(self) -> None:
        peer = self.peer
        # A healthy peer's zones and horizons rarely change: re-read them now and then,
        # not every round (each request costs airtime on a radio link).
        stale = time.monotonic() - self._info_at > self.ctx.timing.info_every_s
        settle, self._settle = self._settle, False
        if settle and peer.kind == "native" and not peer.failures and not stale:
            await self._sync_zones(digest=True)  # only the zones: no info, no presence
            peer.last_sync = time.time()
            return
        if peer.kind != "native":
            found = await probe.examine(
                self.ctx.http, peer.url, self.ctx.timing.request_timeout_s, read=self.client.info
            )
            # A legacy MeshChat node: the legacy bridge polls it (LEGACY.md) — unless
            # the zone has a secret, which no legacy node can carry.
            if found.kind == "legacy":
                if self.client.zone_secret:
                    raise PeerError("only a legacy API answers: it cannot carry the zone secret")
                peer.kind = "legacy"
                peer.succeeded(time.time())
                return
            if found.info is None:
                raise PeerError(found.error)
            self._take_info(found.info)
        elif peer.failures or stale:
            self._take_info(await self.client.info())
        await self._sync_zones()
        self._answered()
        peer.last_sync = time.time()
        await self.ctx.gossip.exchange(self.client)

    async def _sync_zones(self, digest: bool = False) -> None:
        """Sync every zone both serve (``digest``: each from one fingerprint, a settle check)."""
        for zone in self.ctx.zones:
            if zone in self.peer.zones:
                count = self._counts.get(zone, 0)
                await self.ctx.zone_sync.run(self.client, zone, count, self._paged_in, digest)

    def _answered(self) -> None:
        """The peer answered: clear its back-off; push what waited while it was away."""
        if self.peer.succeeded(time.time()):
            self._paged_in.clear()  # back after a cut: catch up by paging again
            self.mode.set(True, "graft_back")  # a link that comes back starts eager (Plumtree)
            self.pusher.wake()
            self.watch.wake()

    def _take_info(self, info: dict[str, Any]) -> None:
        peer = self.peer
        node_id, zones = info.get("node_id"), info.get("zones")
        if not isinstance(node_id, str) or not isinstance(zones, list):
            raise PeerError("info: not a meshchat sync peer")
        if node_id == self.ctx.node_id:
            raise PeerError("info: this is our own node")
        peer.kind, peer.node_id = "native", node_id[:64]
        name = info.get("name")
        peer.name = name[:64] if isinstance(name, str) else ""
        peer.zones = {
            z["name"]: int(z.get("horizon_ms") or self.ctx.horizon_ms)
            for z in zones
            if isinstance(z, dict) and isinstance(z.get("name"), str)
        }
        enc = info.get("enc")  # an older node lists none: its bodies stay as they are
        codings = enc[: wire.MAX_INFO_ENC] if isinstance(enc, list) else []
        peer.encodings = tuple(e for e in codings if isinstance(e, str))
        self._info_at = time.monotonic()
        nodes = info.get("nodes")
        vouched = nodes[: wire.MAX_INFO_NODES] if isinstance(nodes, list) else []
        self.ctx.met(peer.node_id, [n for n in vouched if isinstance(n, str)])
        self._counts = {
            str(z["name"]): int(z.get("count") or 0)
            for z in zones
            if isinstance(z, dict)
            and isinstance(z.get("name"), str)
            and isinstance(z.get("count", 0), int)
        }
        # No _answered() here: only a completed round clears the back-off, or a peer that
        # answers info and then fails would be retried every second for ever (issue 11).
