"""The one composition root: config → identity → store → ingest → web (STYLE.md 6).

Nothing else constructs services. ``start`` runs a node on a listening socket and hands
back a handle that tests and the CLI stop the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform as _platform
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web
from nacl.signing import SigningKey

from meshchat import __version__, identity, records
from meshchat.clock import HybridClock, wall_ms
from meshchat.config import Config
from meshchat.ingest import Ingestor
from meshchat.records import Policy
from meshchat.store.db import Store
from meshchat.sync import discovery, wire
from meshchat.sync.index import ZoneIndex
from meshchat.sync.peers import ContactLog, PeerTable
from meshchat.sync.presence import PresenceTable
from meshchat.sync.scheduler import SyncScheduler, Timing
from meshchat.sync.server import SyncServer
from meshchat.timing import Timing as CoreTiming
from meshchat.web import routes
from meshchat.web.auth import RateLimiter, Sessions
from meshchat.web.live import LiveHub
from meshchat.web.login import LoginApi, Visits
from meshchat.web.messages import MessagesApi
from meshchat.web.presence import PresenceApi, local_presence, zone_presence
from meshchat.web.status import StatusApi

log = logging.getLogger(__name__)

DB_FILE = "meshchat.db"
DAY_MS = 86_400_000


def db_path(config: Config) -> Path:
    """Return where the node's database lives."""
    return config.node.data_dir / DB_FILE


def policy_for(config: Config) -> Policy:
    """Return the ingest policy the config asks for (DESIGN §2.2)."""
    return Policy(
        zones=frozenset(config.node.zones),
        max_record_bytes=config.store.max_record_bytes,
        max_future_skew_ms=config.store.max_future_skew_s * 1000,
        horizon_ms=config.store.max_age_days * DAY_MS,
    )


def node_platform() -> str:
    """Return ``openwrt``, ``pi`` or ``linux`` (shown to peers in the node record)."""
    if Path("/etc/openwrt_release").exists():
        return "openwrt"
    with contextlib.suppress(OSError):
        if "raspberry" in Path("/proc/device-tree/model").read_text().lower():
            return "pi"
    return _platform.system().lower() or "unknown"


@dataclass
class Node:
    """Every long-lived service of one node, built once here and shared by reference."""

    config: Config
    node_key: SigningKey
    store: Store
    clock: HybridClock
    ingestor: Ingestor
    sessions: Sessions
    index: ZoneIndex
    peers: PeerTable
    presence: dict[str, PresenceTable]
    scheduler: SyncScheduler
    live: LiveHub
    visits: Visits
    ui_timing: dict[str, float] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def key_hex(self) -> str:
        """Return the node's public key as hex."""
        return bytes(self.node_key.verify_key).hex()


async def open_node(config: Config, timing: Timing | None = None) -> Node:
    """Open the data dir, key and database of a node and wire its services (no sockets yet)."""
    config.node.data_dir.mkdir(parents=True, exist_ok=True)
    node_key = identity.load_or_create_node_key(config.node.data_dir)
    store = await Store.open(db_path(config), node_key=bytes(node_key.verify_key))
    clock = HybridClock()
    ingestor = Ingestor(store, policy_for(config), clock, config.store.author_quota_per_hour)
    sessions = Sessions(node_key, config.web.session_ttl_s)
    index = ZoneIndex(store, config.store.max_age_days * DAY_MS)
    peers = PeerTable()
    presence: dict[str, PresenceTable] = {}
    timing = timing or Timing(sync_interval_s=config.sync.sync_interval_s)
    local = local_presence(sessions, config.node.name)
    contacts = ContactLog()
    scheduler = SyncScheduler(
        config,
        store,
        ingestor,
        index,
        bytes(node_key.verify_key).hex(),
        peers,
        presence,
        local,
        timing,
        contacts,
    )
    visits = Visits(store)
    live = LiveHub(
        store,
        sessions,
        config.node.zones,
        config.node.name,
        zone_presence(local, presence),
        visits,
        lambda zone, entry: scheduler.send_typing(zone, [entry]),
    )
    # The index must see a record before a peer can ask about it; push comes after.
    ingestor.subscribe(index.added)
    ingestor.subscribe(scheduler.on_records)
    ingestor.subscribe(live.on_records)
    return Node(
        config,
        node_key,
        store,
        clock,
        ingestor,
        sessions,
        index,
        peers,
        presence,
        scheduler,
        live,
        visits,
        CoreTiming.from_config(config, sync_interval_s=timing.sync_interval_s).for_ui(),
    )


async def close_node(node: Node) -> None:
    """Cancel the node's tasks and close its database."""
    # Tasks first: a discovery loop must not add a peer while the scheduler stops.
    for task in list(node.tasks):
        task.cancel()
    await asyncio.gather(*node.tasks, return_exceptions=True)
    node.tasks.clear()
    await node.scheduler.stop()
    node.ingestor.close()
    node.sessions.close()
    await node.store.close()


def spawn(node: Node, coro: Coroutine[Any, Any, None], name: str) -> None:
    """Start a background task the node owns (kept referenced, cancelled on shutdown)."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    node.tasks.add(task)
    task.add_done_callback(node.tasks.discard)


async def announce(node: Node) -> None:
    """Sign a ``node`` record in each zone when the name or version changed (DESIGN §2.1)."""
    body = {"name": node.config.node.name, "platform": node_platform(), "version": __version__}
    fingerprint = f"{body['name']}|{body['platform']}|{body['version']}"
    for zone in node.config.node.zones:
        key = f"announced:{zone}"
        if await node.store.meta_get(key) == fingerprint:
            continue
        record = records.sign(node.node_key, zone, "node", node.clock.now(), body)
        await node.ingestor.add_local(record)
        await node.store.meta_set(key, fingerprint)


async def prune_once(node: Node) -> int:
    """Drop what has passed the retention horizon (DESIGN §2.4); return how many."""
    cfg = node.config.store
    cutoff = wall_ms() - cfg.max_age_days * DAY_MS
    dropped = 0
    for zone in node.config.node.zones:
        dropped += await node.store.prune(
            zone, older_than_ts=cutoff, pinned=cfg.pinned_channels, max_records=cfg.max_records
        )
    if dropped:
        node.index.invalidate()
        log.info("pruned %d records past the retention horizon", dropped)
    return dropped


async def prune_loop(node: Node) -> None:
    """Prune on start and then every ``store.prune_interval_s``."""
    interval = node.config.store.prune_interval_s
    while True:
        try:
            await prune_once(node)
        except Exception:
            log.exception("retention prune failed; retrying at the next interval")
        if interval <= 0:
            return
        await asyncio.sleep(interval)


def typing_from_peer(
    node: Node, zone: str, entries: Sequence[wire.TypingEntry], source: str
) -> None:
    """Show typing notices a peer passed on, and pass them on to the other peers."""
    for entry in entries:
        node.live.typing(zone, entry, local=False)
    node.scheduler.send_typing(zone, entries, exclude=source)


def build_web(node: Node) -> web.Application:
    """Wire the HTTP handlers to the node's services."""
    cfg = node.config
    login = LoginApi(
        node.sessions,
        RateLimiter(cfg.web.login_attempts_per_minute),
        cfg.web.session_ttl_s,
        node.visits,
    )
    messages = MessagesApi(cfg, node.store, node.ingestor, node.sessions, node.clock)
    status = StatusApi(
        cfg, node.store, node.ingestor, node.key_hex, node.peers.status, node.ui_timing
    )
    local = local_presence(node.sessions, cfg.node.name)
    presence = PresenceApi(node.sessions, cfg.node.zones, zone_presence(local, node.presence))
    sync = SyncServer(
        cfg,
        node.store,
        node.ingestor,
        node.index,
        node.key_hex,
        node.presence,
        local,
        node.scheduler.contacts,
        partial(typing_from_peer, node),
    )
    app = routes.build(login, messages, status, presence, sync, node.live)

    async def background(app: web.Application) -> AsyncIterator[None]:
        del app
        spawn(node, prune_loop(node), "prune")
        await node.scheduler.start()
        spawn(node, node.scheduler.presence_loop(), "presence")
        spawn(node, node.live.run(), "live")
        yield
        await close_node(node)

    async def close_sockets(app: web.Application) -> None:
        del app
        await node.live.close()

    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.append(background)
    return app


@dataclass
class RunningNode:
    """A node listening on a socket; ``url`` has the real port (tests bind port 0)."""

    node: Node
    runner: web.AppRunner
    url: str

    async def stop(self) -> None:
        """Close the listener, cancel background work and close the database."""
        await self.runner.cleanup()


async def start(config: Config, timing: Timing | None = None) -> RunningNode:
    """Open a node and start serving it on ``config.node.listen``."""
    node = await open_node(config, timing)
    try:
        await announce(node)
        # Keep idle peer connections open across a whole sync interval (60 s ± 20 %):
        # a new TCP handshake per round costs more airtime than the round itself.
        runner = web.AppRunner(build_web(node), access_log=None, keepalive_timeout=180.0)
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
    # Discovery needs the real port (to know itself in service lists, to announce it).
    found = discovery.sources(config, node.key_hex, port, node.scheduler, node.peers)
    for name, loop in found.items():
        spawn(node, loop, name)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return RunningNode(node, runner, f"http://{shown}:{port}")
