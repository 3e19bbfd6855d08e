"""The one composition root (STYLE.md 6): config → store → identity → sync → web.

Nothing else constructs services. ``open_node`` builds them (no sockets yet);
``build_app`` mounts each surface as its own sub-application on a bare root; ``start``
serves a node on its listening socket and hands back a handle that tests and the CLI stop
the same way. docs/architecture.md says what is handed to whom.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from nacl.signing import SigningKey

from meshchat import identity, nodeinfo
from meshchat.actions import http as actions_http
from meshchat.actions.inbound import Gateway
from meshchat.actions.offline import OfflineWatch
from meshchat.actions.rules import load_rules
from meshchat.actions.service import ActionService
from meshchat.clock import HybridClock
from meshchat.config import Config
from meshchat.ingest import Ingestor
from meshchat.outbox import Outbox
from meshchat.peers import PeerTable
from meshchat.presence import PresenceService, TypingEntry
from meshchat.records import Policy
from meshchat.retention import Retention
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
from meshchat.sync.wire import MAX_BODY_BYTES, PREFIX
from meshchat.tasks import TaskGroup
from meshchat.timing import Timing, horizon_ms
from meshchat.web import routes
from meshchat.web.auth import RateLimiter, Sessions
from meshchat.web.files import FilesApi
from meshchat.web.history import ChannelsApi, HistoryApi
from meshchat.web.live import LiveHub
from meshchat.web.login import LoginApi, Visits, require_session
from meshchat.web.messages import MessagesApi
from meshchat.web.presence import PresenceApi
from meshchat.web.status import StatusApi

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
    blobs: BlobStore  # files' bytes; the legacy bridge reads local_files / local_file here
    fetcher: BlobFetcher
    http: aiohttp.ClientSession | None = None  # the one client pool, open while serving

    @property
    def key_hex(self) -> str:
        """Return the node's public key as hex."""
        return bytes(self.node_key.verify_key).hex()


async def open_node(config: Config, timing: Timing | None = None) -> Node:
    """Open the data dir, key and database of a node and wire its services (no sockets yet)."""
    timing = timing or Timing.from_config(config)
    zones = config.node.zones
    # A bad rule stops the node before anything is opened (a ConfigError, exit code 2).
    rules = await load_rules(config.actions, config.action_runner, config.source)
    # Files are touched off the event loop (STYLE.md 8), even at start.
    node_key = await asyncio.to_thread(identity.load_or_create_node_key, config.node.data_dir)
    key_hex = bytes(node_key.verify_key).hex()
    store = await Store.open(db_path(config), node_key=bytes(node_key.verify_key))
    clock = HybridClock()
    ingestor = Ingestor(store, policy_for(config), clock, config.store.author_quota_per_hour)
    outbox = Outbox(ingestor, clock, node_key, config.node.name)
    presence = PresenceService(config.node.name, zones, timing)
    sessions = Sessions(node_key, config.web.session_ttl_s, presence)
    index = ZoneIndex(store, horizon_ms(config))
    peers = PeerTable()
    contacts = ContactLog()
    tasks = TaskGroup()

    def met_peer(node_id: str, vouched: Sequence[str]) -> None:
        if not tasks.closing:
            tasks.spawn(store.note_peer(node_id, vouched), "note a direct peer")

    scheduler = SyncScheduler(
        config, store, ingestor, index, key_hex, peers, presence, timing, contacts, met_peer
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
        horizon_ms(config),
        blobs,
        fetcher.before_serving,
    )
    retention = Retention(store, config.store, horizon_ms(config), zones, index.invalidate)
    offline_ms = int(config.action_runner.offline_after_s * 1000)
    offline = OfflineWatch(ContactStore(store), presence, zones, offline_ms)
    runs = ActionStore(store)
    actions = ActionService(runs, store, rules, config.action_runner, offline, tasks)
    gateway = Gateway(outbox, zones, config.gateway_senders, config.web.max_text_bytes)
    # The index must see a record before a peer can ask about it; push comes after.
    ingestor.subscribe(index.added)
    ingestor.subscribe(scheduler.on_records)
    ingestor.subscribe(live.on_records)
    ingestor.subscribe(actions.on_records)
    ingestor.subscribe(fetcher.on_records)
    return Node(
        config,
        timing,
        node_key,
        store,
        clock,
        ingestor,
        outbox,
        presence,
        sessions,
        index,
        peers,
        contacts,
        scheduler,
        sync,
        live,
        visits,
        retention,
        tasks,
        actions,
        gateway,
        blobs,
        fetcher,
    )


async def close_node(node: Node) -> None:
    """Stop the node's background work and close what it holds, in that order."""
    # Tasks first: a discovery loop must not add a peer while the scheduler stops.
    await node.tasks.close()
    await node.scheduler.stop()
    if node.http is not None:
        await node.http.close()
        node.http = None
    await node.ingestor.close()
    await node.sessions.close()
    await node.store.close()


async def prune_once(node: Node) -> int:
    """Drop what has passed the retention horizon now; return how many records went."""
    return await node.retention.prune_once()


def build_app(node: Node) -> web.Application:
    """Mount each surface as its own sub-application on a bare root (DESIGN §6)."""
    cfg = node.config
    zones = cfg.node.zones
    login = LoginApi(
        node.sessions,
        RateLimiter(cfg.web.login_attempts_per_minute, node.timing.login_window_s),
        cfg.web.session_ttl_s,
        node.visits,
    )
    messages = MessagesApi(node.store, node.outbox, node.sessions, zones, cfg.web.max_text_bytes)
    history = HistoryApi(node.store, node.sessions, zones)
    channels = ChannelsApi(node.store, node.outbox, node.sessions, zones, cfg.node.default_channel)
    status = StatusApi(
        cfg,
        node.store,
        node.ingestor,
        node.key_hex,
        node.peers.status,
        node.timing.for_ui(),
        node.sync.errors,
    )
    presence = PresenceApi(node.sessions, zones, node.presence)
    actions = actions_http.ActionsApi(node.actions)
    status.actions = actions.summary
    contacts = actions_http.ContactsApi(
        node.actions.offline.store,
        lambda request, csrf: require_session(node.sessions, request, csrf=csrf).signer.callsign,
    )
    inbound = actions_http.InboundApi(node.gateway, cfg.inbound.token)
    files = FilesApi(
        node.blobs, node.outbox, node.sessions, zones, cfg.web.max_text_bytes, node.fetcher
    )

    # The root has no middleware of its own: each surface maps its errors its own way.
    # Its body limit is the largest any surface takes (sync puts); the JSON API checks a
    # smaller one itself. Later surfaces mount here too: /cgi-bin/meshchat (legacy).
    root = web.Application(client_max_size=MAX_BODY_BYTES)
    root.add_routes(routes.top_routes())
    root.add_subapp(PREFIX, node.sync.app())
    api = routes.api_app(login, messages, history, channels, status, presence, node.live)
    api.add_routes(actions_http.routes(inbound, actions, contacts))
    api.add_routes(routes.files_routes(files))
    root.add_subapp(routes.API, api)
    root.add_subapp(routes.UI, routes.ui_app())

    async def background(app: web.Application) -> AsyncIterator[None]:
        del app
        # Keep idle peer connections open across a sync interval: a new TCP handshake
        # per round costs more airtime than the round itself.
        connector = aiohttp.TCPConnector(limit_per_host=4, keepalive_timeout=120)
        node.http = aiohttp.ClientSession(connector=connector)
        node.tasks.spawn(node.retention.run(node.timing.prune_interval_s), "prune")
        await node.scheduler.start(node.http)
        node.tasks.spawn(node.scheduler.presence_loop(), "presence")
        node.tasks.spawn(node.fetcher.run(), "blob fetch")
        node.tasks.spawn(node.live.run(), "live")
        if node.actions.rules:
            await node.actions.prepare()  # the cursor exists before the first post
            node.tasks.spawn(node.actions.run(), "actions")
        yield
        await close_node(node)

    async def close_sockets(app: web.Application) -> None:
        del app
        await node.live.close()

    root.on_shutdown.append(close_sockets)
    root.cleanup_ctx.append(background)
    return root


@dataclass
class RunningNode:
    """A node listening on a socket; ``url`` has the real port (tests bind port 0)."""

    node: Node
    runner: web.AppRunner
    url: str

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
        # Keep idle peer connections open across a whole sync interval (60 s ± 20 %).
        runner = web.AppRunner(build_app(node), access_log=None, keepalive_timeout=180.0)
        await runner.setup()
    except BaseException:
        await close_node(node)
        raise
    try:
        site = web.TCPSite(runner, config.listen_host, config.listen_port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    host, port = runner.addresses[0][:2]
    assert node.http is not None  # opened by the cleanup context in runner.setup()
    # Discovery needs the real port (to know itself in service lists, to announce it).
    found = discovery.sources(
        config, node.key_hex, port, node.scheduler, node.peers, node.http, node.timing
    )
    for name, loop in found.items():
        node.tasks.spawn(loop, name)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return RunningNode(node, runner, f"http://{shown}:{port}")
