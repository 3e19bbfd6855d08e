"""The owner of a node's peer links (DESIGN §5.2): adds, removes, starts and stops them.

Each peer gets a ``peerlink.PeerLink`` (its round loop and its push queue). New records
are offered to every live peer except the one they came from; presence and typing go
through the node's one ``gossip.Gossip``. Every task started here is referenced and is
cancelled and awaited by ``remove_peer`` or ``stop``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from meshchat.clock import wall_ms
from meshchat.config import Config
from meshchat.horizon import Horizon
from meshchat.ingest import Ingestor
from meshchat.peers import Peer, PeerTable
from meshchat.presence import PresenceService, TypingEntry
from meshchat.presencedelta import Update
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.sync.broadcast import Broadcast
from meshchat.sync.client import PeerClient
from meshchat.sync.contacts import ContactLog
from meshchat.sync.gossip import Gossip
from meshchat.sync.index import ZoneIndex
from meshchat.sync.peerlink import LinkContext, PeerLink
from meshchat.sync.pusher import LinkMode
from meshchat.sync.settle import Settler
from meshchat.sync.zonesync import ZoneSync
from meshchat.timing import Timing, horizon_ms

# Lazy links told of new records (ids only), picked anew every announcement window: each
# node then hears of a record about once from off the tree, enough for one the tree
# missed to graft itself back within a few windows, and cheap (docs/decisions.md).
LAZY_FANOUT = 1
INBOUND_S = 3600.0  # callers listed on the status page for this long after their last call


class SyncScheduler:
    """Owns the peer links of one node."""

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
        met: Callable[[str, Sequence[str]], None] = lambda node_id, vouched: None,
        horizon: Horizon | None = None,
    ) -> None:
        self.config = config
        self.node_id = node_id
        self.peers = peers
        self.timing = timing
        self.contacts = contacts
        self.met = met  # told of each peer's info: node trust (docs/decisions.md)
        self.store = store
        contacts.listener = self.heard_from
        self.horizon_ms = horizon_ms(config)
        horizon = horizon or Horizon(self.horizon_ms)
        self.zone_sync = ZoneSync(store, ingestor, index, horizon, config.sync.frame_limit)
        self.gossip = Gossip(presence, config.node.zones, timing)
        self._links: dict[str, PeerLink] = {}
        self._ctx: LinkContext | None = None  # set while started
        self._told: tuple[float, frozenset[str]] = (0.0, frozenset())  # lazy picks, until
        self.broadcast = Broadcast(
            store, config.node.zones, timing, contacts, self.find_link, self.presence_heard
        )
        self.presence = presence
        self.settler = Settler(timing.settle_s, timing.settle_max_s, self._settle_check)

    @property
    def links(self) -> Mapping[str, PeerLink]:
        """Return the running links by peer URL."""
        return self._links

    async def start(self, http: aiohttp.ClientSession) -> None:
        """Take the node's HTTP client pool and start a link per static peer."""
        self._ctx = LinkContext(
            self.node_id,
            tuple(self.config.node.zones),
            self.horizon_ms,
            self.timing,
            http,
            self.contacts,
            self.zone_sync,
            self.gossip,
            self.met,
            self.broadcast.lacking,
            self.sole,
        )
        for entry in self.config.static_peers:
            self.add_peer(entry.url, "static", entry.kind)

    async def stop(self) -> None:
        """Stop every link and every typing notice in flight (the pool is the root's)."""
        self.settler.close()
        links, self._links = list(self._links.values()), {}
        for link in links:
            await link.stop()
        await self.gossip.close()
        self._ctx = None

    def add_peer(self, url: str, source: str, kind: str = "auto") -> Peer:
        """Add a peer (from any discovery source) and sync with it at once.

        ``kind`` ``legacy`` (a static ``[[peers]]`` entry) needs no link: the legacy
        bridge polls every legacy peer of the table; ``native`` skips the probe.
        """
        peer, new = self.peers.add(url, source)
        if new and kind in ("native", "legacy"):
            peer.kind = kind
        if peer.url in self._links or self._ctx is None or peer.kind == "legacy":
            return peer
        sync = self.config.sync
        client = PeerClient(
            self._ctx.http, peer, self.node_id, sync.zone_secret, self.timing.request_timeout_s
        )
        client.presence_digest = self.presence.digest
        link = PeerLink(self._ctx, client)
        self._links[peer.url] = link
        link.start()
        return peer

    async def remove_peer(self, url: str) -> None:
        """Stop syncing with a peer whose announcement went away."""
        url = url.rstrip("/")
        link = self._links.pop(url, None)
        self.peers.remove(url)
        if link is not None:
            await link.stop()
        await self.gossip.forget(url)

    async def reload(self, config: Config) -> None:
        """Take a re-read config (SIGHUP): link to new static peers, drop the unlisted ones."""
        before = {url.rstrip("/") for url in self.config.sync.peers}
        self.config = config
        now = {url.rstrip("/") for url in config.sync.peers}
        for url in sorted(now - before):
            self.add_peer(url, "static")
        for url in sorted(before - now):
            peer = self.peers.get(url)
            if peer is not None and peer.source == "static":
                await self.remove_peer(url)

    def on_records(self, fresh: Sequence[Record], origin: str) -> None:
        """Ingest subscriber: count what a peer gave us; queue the rest for eager push."""
        source = origin.removeprefix("peer:") if origin.startswith("peer:") else None
        senders = [link.peer for link in self._links.values() if link.peer.node_id == source]
        if source is not None and senders:
            # Pushed (server) and fetched (here) records alike; one entry per sender node.
            max(senders, key=lambda p: p.live).records_in += len(fresh)
        now = wall_ms()
        self.broadcast.note(fresh)
        live = [link for link in self._links.values() if link.peer.live]
        others = [link for link in live if source is None or link.peer.node_id != source]
        # Whole records along the eager links (a spanning tree once duplicates pruned the
        # rest), ids only to a few lazy ones. A node left with no eager link grafts one
        # (pushes to one peer, whose "ok" grafts its end too) rather than flooding every
        # peer: a flood's duplicates prune links all over the zone, and leave more nodes
        # with none (docs/decisions.md "Dissemination").
        if others and not any(link.mode.eager for link in live):
            random.choice(others).mode.set(True, "graft_alone")
        lazy = []
        for link in others:
            if link.mode.eager:
                link.pusher.offer(fresh, now)
            else:
                lazy.append(link)
        until, picked = self._told
        if time.monotonic() >= until or not picked & {link.peer.url for link in lazy}:
            chosen = random.sample(lazy, min(LAZY_FANOUT, len(lazy)))
            picked = frozenset(link.peer.url for link in chosen)
            self._told = (time.monotonic() + self.timing.announce_delay_s, picked)
        for link in lazy:
            if link.peer.url in picked:
                link.pusher.announce(fresh, now)
        self.broadcast.feed(fresh, source)
        if live:
            self.settler.note()
        # A node record of a key not trusted here: the peer it came from may trust it by
        # now, and says so in its info (docs/decisions.md "Identity").
        if any(r.kind == "node" and r.author not in self.store.node_keys for r in fresh):
            for link in self._links.values():
                if source is not None and link.peer.node_id == source:
                    link.reread_info()

    def _settle_check(self) -> None:
        """A burst of new records is over: one digest round with a random live peer.

        A lazy one if there is any: the eager ones are the tree, which gave us the records
        or took them from us; a node the tree missed is behind a lazy link.
        """
        live = [link for link in self._links.values() if link.peer.live]
        lazy = [link for link in live if not link.mode.eager]
        if lazy or live:
            random.choice(lazy or live).settle()

    def send_typing(self, zone: str, entries: Sequence[TypingEntry], exclude: str = "") -> None:
        """Pass typing notices on to every live peer but ``exclude`` (best effort)."""
        clients = [link.client for link in self._links.values()]
        self.gossip.send_typing(zone, entries, exclude, clients)

    def sole(self, mode: LinkMode) -> bool:
        """Tell whether ``mode`` is the only live eager link of this node."""
        return not any(
            link.mode is not mode and link.mode.eager and link.peer.live
            for link in self._links.values()
        )

    def find_link(self, node_id: str, address: str) -> PeerLink | None:
        """Return our link to the node ``node_id`` (or a prefix) reached at ``address``."""
        if len(node_id) < 16:
            return None
        for link in self._links.values():
            peer = link.peer
            if peer.node_id.startswith(node_id) and address in peer.addresses:
                return link
        return None

    def inbound(self) -> list[dict[str, Any]]:
        """Return the peers that called us lately, for ``/api/v1/status`` (``inbound``)."""
        now = time.time()
        watching = self.broadcast.watching()
        out = []
        for node_id, address, ago in self.contacts.callers(now, INBOUND_S)[:100]:
            link = self.find_link(node_id, address)
            held = [p for (nid, a), p in watching.items() if a == address and nid == node_id]
            out.append(
                {
                    "node_id": node_id,
                    "address": address,
                    "last_called": round(now - ago, 3),
                    "watching": bool(held and held[0]),
                    "peer": link.peer.url if link is not None else None,
                }
            )
        return out

    def heard_from(self, node_id: str, address: str) -> None:
        """A peer called us: if our calls to it were failing, the link is back; sync now.

        Only from the address we reach that peer at: the node id header is not proof.
        """
        for link in self._links.values():
            peer = link.peer
            if peer.failures and peer.node_id.startswith(node_id) and address in peer.addresses:
                link.trigger()

    async def presence_loop(self) -> None:
        """Send this node's presence changes to its peers as they happen."""
        await self.gossip.run(lambda: list(self._links.values()))

    def presence_heard(self, zone: str, applied: Sequence[Update], source: str) -> None:
        """Pass on presence changes a peer sent (and we applied), along the tree."""
        self.gossip.forward(zone, applied, source, list(self._links.values()))
