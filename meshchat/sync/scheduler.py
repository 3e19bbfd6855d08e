"""When and with whom to sync: per-peer loops, eager push, back-off, presence gossip.

Each peer gets one task that probes it, bootstraps or reconciles every shared zone, and
then waits for the next jittered interval, a trigger (the peer appeared or came back) or
the end of its back-off. New records are pushed at once to every live peer except the
one they came from; anti-entropy is the backstop for anything a push missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from meshchat.clock import wall_ms
from meshchat.config import Config
from meshchat.errors import MeshchatError, PeerError
from meshchat.ingest import Ingestor
from meshchat.presence import PresenceService, TypingEntry
from meshchat.records import Record, load_trusted
from meshchat.store.db import Store
from meshchat.sync.client import PeerClient
from meshchat.sync.index import ZoneIndex
from meshchat.sync.peers import ContactLog, Peer, PeerTable
from meshchat.sync.probe import probe_legacy
from meshchat.sync.session import ReconcileSession, batches
from meshchat.timing import Timing, horizon_ms

log = logging.getLogger(__name__)

GET_BATCH = 512
PUT_BATCH = 128
PUT_BYTES = 1024 * 1024
RANGE_PAGE = 500
# Page a peer's records in (rather than reconcile first) when it holds this many more.
CATCH_UP_MIN = RANGE_PAGE // 2
# Records posted elsewhere just before our newest may arrive late: page from a bit earlier.
CATCH_UP_SKEW_MS = 10 * 60_000
PUSH_QUEUE = 10_000


@dataclass
class _Link:
    """Runtime state of one peer: its client, loop task, trigger and push queue."""

    peer: Peer
    client: PeerClient
    trigger: asyncio.Event = field(default_factory=asyncio.Event)
    pending: dict[bytes, Record] = field(default_factory=dict)
    push_ready: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    bootstrapped: set[str] = field(default_factory=set)  # zones paged in from this peer
    counts: dict[str, int] = field(default_factory=dict)  # the peer's zone sizes at last info
    typing: asyncio.Task[None] | None = None  # at most one typing notice in flight

    def running(self) -> list[asyncio.Task[None]]:
        """Return every task working for this peer."""
        return [*self.tasks, *([self.typing] if self.typing is not None else [])]

    info_at: float = 0.0  # monotonic time of the last info


class SyncScheduler:
    """Owns the peer loops of one node."""

    def __init__(
        self,
        config: Config,
        store: Store,
        ingestor: Ingestor,
        index: ZoneIndex,
        node_id: str,
        peers: PeerTable,
        presence: PresenceService,
        timing: Timing,
        contacts: ContactLog,
    ) -> None:
        self.config = config
        self.contacts = contacts
        contacts.listener = self.heard_from
        self.store = store
        self.ingestor = ingestor
        self.index = index
        self.node_id = node_id
        self.peers = peers
        self.presence = presence
        self.timing = timing
        self.horizon_ms = horizon_ms(config)
        self._links: dict[str, _Link] = {}
        self._typing_seen: dict[tuple[str, str, str, str], float] = {}
        self._http: aiohttp.ClientSession | None = None

    async def start(self, http: aiohttp.ClientSession) -> None:
        """Take the node's HTTP client pool and start a loop per static peer."""
        self._http = http
        for url in self.config.sync.peers:
            self.add_peer(url, "static")

    async def stop(self) -> None:
        """Cancel every peer loop and close the HTTP session."""
        tasks = [t for link in self._links.values() for t in link.running()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._links.clear()
        self._http = None  # the pool belongs to the composition root

    def add_peer(self, url: str, source: str) -> Peer:
        """Add a peer (from any discovery source) and sync with it at once."""
        peer, _ = self.peers.add(url, source)
        if peer.url in self._links or self._http is None:
            return peer
        client = PeerClient(
            self._http,
            peer,
            self.node_id,
            self.config.sync.zone_secret,
            self.timing.request_timeout_s,
        )
        link = _Link(peer, client)
        link.trigger.set()
        loop = asyncio.get_running_loop()
        link.tasks.append(loop.create_task(self._peer_loop(link), name=f"sync {peer.url}"))
        link.tasks.append(loop.create_task(self._push_loop(link), name=f"push {peer.url}"))
        self._links[peer.url] = link
        return peer

    async def remove_peer(self, url: str) -> None:
        """Stop syncing with a peer whose announcement went away."""
        link = self._links.pop(url.rstrip("/"), None)
        self.peers.remove(url)
        if link is not None:
            tasks = link.running()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def send_typing(self, zone: str, entries: Sequence[TypingEntry], exclude: str = "") -> None:
        """Pass typing notices on to every live peer but ``exclude`` (best effort).

        A notice already passed on within half its lifetime is not passed on again, so
        notices spread across hops without circling a ring forever.
        """
        now = time.monotonic()
        fresh = []
        for entry in entries:
            key = (zone, entry.callsign, entry.node, entry.channel)
            if self._typing_seen.get(key, 0.0) > now:
                continue
            self._typing_seen[key] = now + entry.ttl_ms / 2000
            fresh.append(entry)
        if len(self._typing_seen) > 1000:
            self._typing_seen = {k: t for k, t in self._typing_seen.items() if t > now}
        if not fresh:
            return
        for link in self._links.values():
            peer = link.peer
            if not peer.live or peer.node_id == exclude or zone not in peer.zones:
                continue
            if link.typing is not None and not link.typing.done():
                continue  # a notice is on its way; typing is repeated every few seconds
            link.typing = asyncio.get_running_loop().create_task(
                self._send_typing(link, zone, fresh), name=f"typing {peer.url}"
            )

    async def _send_typing(self, link: _Link, zone: str, entries: Sequence[TypingEntry]) -> None:
        with contextlib.suppress(PeerError):
            theirs = await link.client.presence(zone, self.presence.zone(zone), entries)
            self.presence.merge(zone, theirs)

    def heard_from(self, node_id: str) -> None:
        """A peer called us: if our calls to it were failing, the link is back; sync now."""
        for link in self._links.values():
            peer = link.peer
            if peer.failures and peer.node_id and peer.node_id.startswith(node_id):
                link.trigger.set()

    def trigger_all(self) -> None:
        """Ask every peer loop for an immediate anti-entropy round."""
        for link in self._links.values():
            link.trigger.set()

    def on_records(self, fresh: Sequence[Record], origin: str) -> None:
        """Ingest subscriber: count what a peer gave us; queue the rest for eager push."""
        source = origin.removeprefix("peer:") if origin.startswith("peer:") else None
        senders = [link.peer for link in self._links.values() if link.peer.node_id == source]
        if source is not None and senders:
            # Pushed (server) and fetched (here) records alike; one entry per sender node.
            max(senders, key=lambda p: p.live).records_in += len(fresh)
        now = wall_ms()
        for link in self._links.values():
            peer = link.peer
            if not peer.live or (source is not None and peer.node_id == source):
                continue
            for record in fresh:
                horizon = peer.zones.get(record.zone)
                # Never offer a peer what its horizon refuses (DESIGN §2.4).
                if horizon is None or record.ts < now - horizon:
                    continue
                if len(link.pending) < PUSH_QUEUE:
                    link.pending[record.id] = record
            if link.pending:
                link.push_ready.set()

    # -- per-peer loops ---------------------------------------------------------------

    async def _peer_loop(self, link: _Link) -> None:
        peer = link.peer
        while True:
            triggered = link.trigger.is_set()
            link.trigger.clear()
            try:
                synced_us = self._peer_synced_us_at(peer)
                if triggered or peer.failures or synced_us is None:
                    await self._sync_peer(link)
                else:
                    peer.last_sync = synced_us  # its round settled both sides
            except (PeerError, MeshchatError) as exc:
                delay = self._failed(peer, str(exc))
                log.info("peer %s failed (%s); retrying in %.1f s", peer.url, exc, delay)
            except Exception:  # a bug must not end syncing with this peer for good
                log.exception("sync with %s crashed", peer.url)
                self._failed(peer, "internal error")
            interval = self._jittered(self.timing.sync_interval_s)
            # A failing peer is retried after its back-off, but never later than the next
            # interval: a link that comes back is synced within one interval (and at once
            # when the peer calls us first, see heard_from).
            wait = min(peer.backoff_s, interval) if peer.failures else interval
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(link.trigger.wait(), wait)

    def _peer_synced_us_at(self, peer: Peer) -> float | None:
        """Return when the peer last reconciled with us, if this round can be left to it.

        Only the side with the larger node id defers, and only when the peer reconciled
        within the last 1.5 intervals, so one of the two always runs the round.
        """
        if peer.kind != "native" or not peer.node_id or peer.node_id < self.node_id:
            return None
        now = time.time()
        ago = self.contacts.since(peer.node_id, now)
        if ago is None or ago >= 1.5 * self.timing.sync_interval_s:
            return None
        return now - ago

    def _failed(self, peer: Peer, error: str) -> float:
        cap = self.timing.backoff_max_s
        return peer.failed(time.time(), error, cap, self.timing.backoff_base_s)

    def _jittered(self, seconds: float) -> float:
        jitter = self.timing.jitter
        return seconds * random.uniform(1 - jitter, 1 + jitter)

    async def _sync_peer(self, link: _Link) -> None:
        peer, client = link.peer, link.client
        # A healthy peer's zones and horizons rarely change: re-read them now and then,
        # not every round (each request costs airtime on a radio link).
        stale = time.monotonic() - link.info_at > self.timing.info_every_s
        if peer.failures or peer.kind != "native" or stale:
            try:
                info = await client.info()
            except PeerError:
                if peer.kind != "native" and await self._is_legacy(peer):
                    # A legacy MeshChat node: listed, not synced yet (DESIGN §5.3).
                    peer.kind = "legacy"
                    peer.succeeded(time.time())
                    return
                raise
            self._take_info(peer, info)
            link.info_at = time.monotonic()
            link.counts = {
                str(z["name"]): int(z.get("count") or 0)
                for z in info.get("zones", [])
                if isinstance(z, dict) and isinstance(z.get("count", 0), int)
            }
            self._answered(link)
        for zone in self.config.node.zones:
            if zone in peer.zones:
                await self._sync_zone(link, zone, link.counts.get(zone, 0))
        self._answered(link)
        peer.last_sync = time.time()
        await self._exchange_presence(link)

    async def _is_legacy(self, peer: Peer) -> bool:
        if self._http is None:
            return False
        return await probe_legacy(self._http, peer.url, self.timing.request_timeout_s)

    @staticmethod
    def _answered(link: _Link) -> None:
        """The peer answered: clear its back-off; push what waited while it was away."""
        if link.peer.succeeded(time.time()):
            link.bootstrapped.clear()  # back after a cut: catch up by paging again
            if link.pending:
                link.push_ready.set()

    def _take_info(self, peer: Peer, info: dict[str, object]) -> None:
        node_id, zones = info.get("node_id"), info.get("zones")
        if not isinstance(node_id, str) or not isinstance(zones, list):
            raise PeerError("info: not a meshchat sync peer")
        if node_id == self.node_id:
            raise PeerError("info: this is our own node")
        peer.kind, peer.node_id = "native", node_id[:64]
        name = info.get("name")
        peer.name = name[:64] if isinstance(name, str) else ""
        peer.zones = {
            z["name"]: int(z.get("horizon_ms") or self.horizon_ms)
            for z in zones
            if isinstance(z, dict) and isinstance(z.get("name"), str)
        }

    def _since(self, peer: Peer, zone: str) -> int:
        """The reconcile range start: the later of both horizons (DESIGN §2.4)."""
        horizon = min(self.horizon_ms, peer.zones.get(zone, self.horizon_ms))
        return max(0, wall_ms() - horizon)

    async def _sync_zone(self, link: _Link, zone: str, peer_count: int) -> None:
        since = self._since(link.peer, zone)
        window = await self.index.window(zone, since)
        cursor_key = f"bootstrap:{zone}:{link.peer.url}"
        # A node far behind its peer (new, or back after a long time away) pages in what
        # it missed, from its own newest record on: reconciling would send every missing
        # id first. Once per contact: the peer's count includes what is past our horizon
        # or refused here, and paging the same records again would only cost airtime.
        held = len(window)
        far = peer_count - held > CATCH_UP_MIN or held * 2 < peer_count
        behind = far and zone not in link.bootstrapped
        if behind or await self.store.meta_get(cursor_key):
            newest = window.newest_ts()
            start = since if newest is None else max(since, newest - CATCH_UP_SKEW_MS)
            await self._bootstrap(link, zone, start, cursor_key)
            link.bootstrapped.add(zone)
            window = await self.index.window(zone, since)
        session = ReconcileSession(window, self.config.sync.frame_limit)
        message: bytes | None = session.start()
        while message is not None:
            message = session.receive(await link.client.reconcile(zone, message, since))
        await self._fetch(link, zone, sorted(session.need))
        await self._push(link, zone, sorted(session.have))

    async def _bootstrap(self, link: _Link, zone: str, start: int, cursor_key: str) -> None:
        """Page the peer's records from ``start`` in (ts, id) order; the cursor survives a
        cut link."""
        saved = await self.store.meta_get(cursor_key)
        after_ts, after_id = start, b""
        if saved:
            ts_text, _, id_hex = saved.partition(":")
            if int(ts_text) >= start:  # else the horizon moved past the cursor: start there
                after_ts, after_id = int(ts_text), bytes.fromhex(id_hex)
        while True:
            envelopes, done = await link.client.range(zone, after_ts, after_id, RANGE_PAGE)
            if envelopes:
                await self._ingest(link, envelopes)
                last = load_trusted(*envelopes[-1])
                after_ts, after_id = last.ts, last.id
                await self.store.meta_set(cursor_key, f"{after_ts}:{after_id.hex()}")
            if done or not envelopes:
                break
        await self.store.meta_set(cursor_key, "")

    async def _ingest(self, link: _Link, envelopes: list[tuple[bytes, bytes]]) -> None:
        # records_in is counted by on_records, which also sees what the peer pushed.
        await self.ingestor.submit(envelopes, f"peer:{link.peer.node_id}")

    async def _fetch(self, link: _Link, zone: str, need: list[bytes]) -> None:
        for batch in batches(need, GET_BATCH):
            ids = batch
            while ids:
                envelopes, more = await link.client.get(zone, ids)
                if envelopes:
                    await self._ingest(link, envelopes)
                if len(more) >= len(ids):
                    raise PeerError("get: the peer sent nothing for the ids asked")
                ids = more

    async def _push(self, link: _Link, zone: str, have: list[bytes]) -> None:
        for batch in batches(have, PUT_BATCH):
            envelopes = await self.store.get_envelopes(batch)
            await self._put(link, zone, envelopes)

    async def _put(self, link: _Link, zone: str, envelopes: list[tuple[bytes, bytes]]) -> None:
        chunk: list[tuple[bytes, bytes]] = []
        size = 0
        for env in [*envelopes, None]:
            if env is None or (chunk and size + len(env[0]) + len(env[1]) > PUT_BYTES):
                if chunk:
                    results = await link.client.put(zone, chunk)
                    link.peer.records_out += sum(1 for r in results if r == "ok")
                chunk, size = [], 0
            if env is not None:
                chunk.append(env)
                size += len(env[0]) + len(env[1])

    async def _push_loop(self, link: _Link) -> None:
        """Send queued new records to the peer as soon as they are committed here."""
        while True:
            await link.push_ready.wait()
            await asyncio.sleep(self.timing.push_delay_s)
            link.push_ready.clear()
            pending, link.pending = link.pending, {}
            by_zone: dict[str, list[tuple[bytes, bytes]]] = {}
            for record in pending.values():
                by_zone.setdefault(record.zone, []).append(record.envelope)
            try:
                for zone, envelopes in by_zone.items():
                    await self._put(link, zone, envelopes)
            except PeerError as exc:
                # The records are safe here; anti-entropy delivers them once the peer is back.
                delay = self._failed(link.peer, str(exc))
                log.info("push to %s failed (%s); retrying in %.1f s", link.peer.url, exc, delay)
                link.trigger.set()

    async def _exchange_presence(self, link: _Link) -> None:
        for zone in self.config.node.zones:
            if zone not in link.peer.zones:
                continue
            ours = self.presence.zone(zone)
            if not ours:
                continue  # nothing to tell; a peer with users online tells us theirs
            theirs = await link.client.presence(zone, ours)
            self.presence.merge(zone, theirs)

    async def presence_loop(self) -> None:
        """Gossip presence to every live peer between anti-entropy rounds."""
        while True:
            await asyncio.sleep(self._jittered(self.timing.presence_interval_s))
            for link in list(self._links.values()):
                if link.peer.live:
                    with contextlib.suppress(PeerError):
                        await self._exchange_presence(link)
