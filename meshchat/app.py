"""The one composition root (STYLE.md 6): config → store → identity → sync → web.

Nothing else constructs services. ``open_node`` builds them (no sockets yet);
``build_app`` mounts each surface as its own sub-application on a bare root; ``start``
serves a node on its listening socket and hands back a handle that tests and the CLI stop
the same way. docs/architecture.md says what is handed to whom.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from nacl.signing import SigningKey

from meshchat import identity, mount, nodeinfo
from meshchat.accessconfig import hex_keys
from meshchat.actions.inbound import Gateway
from meshchat.actions.offline import OfflineWatch
from meshchat.actions.rules import load_rules
from meshchat.actions.service import ActionService
from meshchat.clock import HybridClock, wall_ms
from meshchat.config import Config
from meshchat.guard import ConnectionGuard, GuardedSite, default_max_connections
from meshchat.ingest import Ingestor
from meshchat.legacy.bridge import LegacyBridge
from meshchat.legacy.files import BlobFiles, blob_lists
from meshchat.outbox import Outbox
from meshchat.peers import PeerTable
from meshchat.presence import PresenceService, TypingEntry
from meshchat.records import Policy
from meshchat.retention import Retention, load_horizon
from meshchat.store.actions import ActionStore
from meshchat.store.blobs import BlobStore
from meshchat.store.contacts import ContactStore
from meshchat.store.db import Store
from meshchat.sync import discovery
from meshchat.sync.blobfetch import BlobFetcher
from meshchat.sync.contacts import ContactLog
from meshchat.sync.index import ZoneIndex
from meshchat.sync.scheduler import SyncScheduler
from meshchat.sync.server import SyncServer
from meshchat.tasks import TaskGroup
from meshchat.timing import Timing, horizon_ms
from meshchat.web.auth import Sessions
from meshchat.web.live import LiveHub
from meshchat.web.login import Visits

log = logging.getLogger(__name__)

DB_FILE = "meshchat.db"


def db_path(config: Config) -> Path:
    """Return where the node's database lives."""
    return config.node.data_dir / DB_FILE


def policy_for(config: Config) -> Policy:
    """Return the ingest policy the config asks for (DESIGN §2.2)."""
    return Policy(
        zones=frozenset(config.node.zones),
        max_record_bytes=config.store.max_record_bytes,
        max_future_skew_ms=config.store.max_future_skew_s * 1000,
        horizon_ms=horizon_ms(config),
    )


@dataclass
class Node:
    """Every long-lived service of one node, built once here and shared by reference."""

    config: Config
    timing: Timing
    node_key: SigningKey
    store: Store
    clock: HybridClock
    ingestor: Ingestor
    outbox: Outbox
    presence: PresenceService
    sessions: Sessions
    index: ZoneIndex
    peers: PeerTable
    contacts: ContactLog
    scheduler: SyncScheduler
    sync: SyncServer
    live: LiveHub
    visits: Visits
    retention: Retention
    tasks: TaskGroup
    actions: ActionService
    gateway: Gateway  # posts gateway messages; the legacy send_message gets ``gateway.post``
    guard: ConnectionGuard
    legacy: LegacyBridge
    blobs: BlobStore  # files' bytes; the legacy bridge reads local_files / local_file here
    fetcher: BlobFetcher
    http: aiohttp.ClientSession | None = None  # the one client pool, open while serving

    @property
    def key_hex(self) -> str:
        """Return the node's public key as hex."""
        return bytes(self.node_key.verify_key).hex()

    async def close(self) -> None:
        """Stop the background work and close what the node holds, in that order."""
        # Tasks first: a discovery loop must not add a peer while the scheduler stops.
        await self.tasks.close()
        await self.scheduler.stop()
        if self.http is not None:
            await self.http.close()
            self.http = None
        await self.ingestor.close()
        await self.sessions.close()
        await self.store.close()


async def open_node(config: Config, timing: Timing | None = None) -> Node:
    """Open the data dir, key and database of a node and wire its services (no sockets yet)."""
    timing = timing or Timing.from_config(config)
    zones = config.node.zones
    # A bad rule stops the node before anything is opened (a ConfigError, exit code 2).
    rules = await load_rules(config.actions, config.action_runner, config.source)
    # Files are touched off the event loop (STYLE.md 8), even at start.
    node_key = await asyncio.to_thread(identity.load_or_create_node_key, config.node.data_dir)
    key_hex = bytes(node_key.verify_key).hex()
    store = await Store.open(
        db_path(config),
        node_key=bytes(node_key.verify_key),
        zone_operators=hex_keys(config.zone.operators),
    )
    clock = HybridClock()
    horizon = await load_horizon(store, config.store, horizon_ms(config), zones)
    quota = config.store.author_quota_per_hour
    ingestor = Ingestor(store, policy_for(config), clock, quota, horizon)
    outbox = Outbox(ingestor, clock, node_key, config.node.name)
    presence = PresenceService(config.node.name, zones, timing)
    sessions = Sessions(node_key, config.web.session_ttl_s, store)
    await sessions.load()
    index = ZoneIndex(store, horizon_ms(config))
    peers = PeerTable()
    contacts = ContactLog()
    tasks = TaskGroup()

    def met_peer(node_id: str, vouched: Sequence[str]) -> None:
        if not tasks.closing:
            tasks.spawn(store.note_peer(node_id, vouched), "note a direct peer")

    scheduler = SyncScheduler(
        config,
        store,
        ingestor,
        index,
        key_hex,
        peers,
        presence,
        timing,
        contacts,
        met_peer,
        horizon,
    )
    visits = Visits(store)
    live = LiveHub(
        store,
        sessions,
        zones,
        config.node.name,
        presence,
        visits,
        lambda zone, entry: scheduler.send_typing(zone, [entry]),
        timing,
        tasks,
    )
    sessions.ended.append(live.end_session)  # a logout closes every tab of it at once

    def typing_from_peer(zone: str, entries: Sequence[TypingEntry], source: str) -> None:
        """Show typing notices a peer passed on, and pass them on to the other peers."""
        for entry in entries:
            live.typing(zone, entry, local=False)
        scheduler.send_typing(zone, entries, exclude=source)

    blobs = await BlobStore.create(store, config.node.data_dir / "blobs", config.files)
    fetcher = BlobFetcher(blobs, config, timing, key_hex, scheduler.links.values)
    sync = SyncServer(
        config,
        store,
        ingestor,
        index,
        key_hex,
        presence,
        contacts,
        typing_from_peer,
        horizon,
        blobs,
        fetcher.before_serving,
        scheduler.broadcast,
    )
    retention = Retention(store, config.store, horizon, zones, index.invalidate)
    offline_ms = int(config.action_runner.offline_after_s * 1000)
    offline = OfflineWatch(ContactStore(store), presence, zones, offline_ms)
    runs = ActionStore(store)
    actions = ActionService(runs, store, rules, config.action_runner, offline, tasks)
    gateway = Gateway(outbox, zones, config.gateway_senders, config.web.max_text_bytes)
    legacy = LegacyBridge(
        config,
        store,
        ingestor,
        presence,
        peers,
        timing,
        gateway.post,
        BlobFiles(blobs, config.legacy_zone, config.files.max_file_bytes),
        blob_lists(blobs, config.legacy_zone, wall_ms),
    )
    # The index must see a record before a peer can ask about it; push comes after.
    ingestor.subscribe(index.added, gone=True)  # a stub holds its place in sync too
    ingestor.subscribe(scheduler.on_records)
    ingestor.subscribe(live.on_records)
    ingestor.subscribe(actions.on_records)
    ingestor.subscribe(fetcher.on_records)
    ingestor.subscribe(legacy.on_records)
    guard = ConnectionGuard(
        config.web.max_connections or default_max_connections(),
        config.web.max_connections_per_address,
        timing.head_timeout_s,
    )
    return Node(
        config=config,
        timing=timing,
        node_key=node_key,
        store=store,
        clock=clock,
        ingestor=ingestor,
        outbox=outbox,
        presence=presence,
        sessions=sessions,
        index=index,
        peers=peers,
        contacts=contacts,
        scheduler=scheduler,
        sync=sync,
        live=live,
        visits=visits,
        retention=retention,
        tasks=tasks,
        actions=actions,
        gateway=gateway,
        guard=guard,
        legacy=legacy,
        blobs=blobs,
        fetcher=fetcher,
    )


async def close_node(node: Node) -> None:
    """Stop the node's background work and close what it holds, in that order."""
    await node.close()


async def prune_once(node: Node) -> int:
    """Drop what has passed the retention horizon now; return how many records went."""
    return await node.retention.prune_once()


@dataclass
class RunningNode:
    """A node listening on a socket; ``url`` has the real port (tests bind port 0)."""

    node: Node
    runner: web.AppRunner
    url: str
    port: int = 0
    discovery: list[asyncio.Task[None]] = field(default_factory=list)  # SIGHUP restarts them

    async def stop(self) -> None:
        """Close the listener, cancel background work and close the database."""
        await self.runner.cleanup()
        log.info(
            "node %r stopped; data in %s", self.node.config.node.name, db_path(self.node.config)
        )


async def start(config: Config, timing: Timing | None = None) -> RunningNode:
    """Open a node and start serving it on ``config.node.listen``."""
    node = await open_node(config, timing)
    try:
        await nodeinfo.announce(node.outbox, node.store, config.node.zones)
        # Keep idle peer connections open across a whole sync interval (60 s ± 20 %). No
        # body is inflated: a small gzip body could cost far more (issue 11); surfaces
        # refuse encoded bodies before reading them.
        runner = web.AppRunner(
            mount.build_app(node), access_log=None, keepalive_timeout=180.0, auto_decompress=False
        )
        await runner.setup()
    except BaseException:
        await close_node(node)
        raise
    try:
        site = GuardedSite(runner, config.listen_host, config.listen_port, node.guard)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    host, port = runner.addresses[0][:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    running = RunningNode(node, runner, f"http://{shown}:{port}", port)
    running.discovery = start_discovery(node, config, port)
    return running


def start_discovery(node: Node, config: Config, port: int) -> list[asyncio.Task[None]]:
    """Start the discovery loops ``config`` turns on; ``port`` is the real listening port."""
    assert node.http is not None  # opened by the cleanup context in runner.setup()
    # Discovery needs the real port (to know itself in service lists, to announce it).
    found = discovery.sources(
        config, node.key_hex, port, node.scheduler, node.peers, node.http, node.timing
    )
    return [node.tasks.spawn(loop, name) for name, loop in found.items()]
