"""The HTTP half of the composition root: each surface's handlers, mounted on a bare root.

``build_app`` builds the web handler objects from the services ``app.open_node`` made and
mounts each surface as its own sub-application (DESIGN §6, docs/architecture.md); its
cleanup context starts and stops the node's background work with the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from meshchat.accessconfig import hex_keys
from meshchat.actions import http as actions_http
from meshchat.config import Config
from meshchat.legacy.cgi import PREFIX as LEGACY_PREFIX
from meshchat.sync.wire import MAX_BODY_BYTES, PREFIX
from meshchat.web import routes
from meshchat.web.channels import ChannelsApi
from meshchat.web.files import FilesApi
from meshchat.web.history import HistoryApi
from meshchat.web.login import LoginApi, access_middleware, can_read, require_session
from meshchat.web.members import MembersApi
from meshchat.web.messages import MessagesApi
from meshchat.web.moderation import ModerationApi
from meshchat.web.presence import PresenceApi
from meshchat.web.ratelimit import RateLimiter
from meshchat.web.status import StatusApi

if TYPE_CHECKING:
    from meshchat.app import Node


def access_password(cfg: Config) -> str:
    """Return what a login must present under ``web.access`` ("" when the node is open)."""
    if cfg.web.access == "password":
        return cfg.web.password
    if cfg.web.access == "zone_secret":
        return cfg.sync.zone_secret
    return ""


def build_app(node: Node) -> web.Application:
    """Mount each surface as its own sub-application on a bare root (DESIGN §6)."""
    cfg = node.config
    zones = cfg.node.zones
    login = LoginApi(
        node.sessions,
        RateLimiter(cfg.web.login_attempts_per_minute, node.timing.login_window_s),
        cfg.web.session_ttl_s,
        node.visits,
        node.presence,
        zones,
        access_password(cfg),
    )
    messages = MessagesApi(node.store, node.outbox, node.sessions, zones, cfg.web.max_text_bytes)
    history = HistoryApi(node.store, node.sessions, zones)
    channels = ChannelsApi(node.store, node.outbox, node.sessions, zones, cfg.node.default_channel)
    members = MembersApi(node.store, node.outbox, node.sessions, zones)
    moderation = ModerationApi(
        node.store, node.outbox, node.sessions, zones, hex_keys(cfg.node.operators)
    )
    status = StatusApi(
        cfg,
        node.store,
        node.ingestor,
        node.key_hex,
        node.peers.status,
        node.timing.for_ui(),
        node.sync.errors,
        node.presence,
    )
    presence = PresenceApi(node.store, node.sessions, zones, node.presence)
    actions = actions_http.ActionsApi(node.actions)
    status.actions = actions.summary
    status.sections["legacy"] = node.legacy.status
    status.inbound = node.scheduler.inbound
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
    # smaller one itself.
    # Its one middleware counts requests for the connection guard (it maps no errors).
    root = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[node.guard.middleware])
    root.add_routes(routes.top_routes())
    root.add_subapp(PREFIX, node.sync.app())
    closed = cfg.web.access != "open"
    gate = access_middleware(node.sessions, closed)
    api = routes.api_app(
        login, messages, history, channels, members, moderation, status, presence, node.live, gate
    )
    status.full = can_read(node.sessions, closed)
    api.add_routes(actions_http.routes(inbound, actions, contacts))
    api.add_routes(routes.files_routes(files))
    root.add_subapp(routes.API, api)
    root.add_subapp(routes.UI, routes.ui_app())
    if node.legacy.enabled:
        root.add_subapp(LEGACY_PREFIX, node.legacy.app())

    async def background(app: web.Application) -> AsyncIterator[None]:
        del app
        # Keep idle peer connections open across a sync interval: a new TCP handshake
        # per round costs more airtime than the round itself.
        connector = aiohttp.TCPConnector(limit_per_host=4, keepalive_timeout=120)
        node.http = aiohttp.ClientSession(connector=connector)
        node.tasks.spawn(node.retention.run(node.timing.prune_interval_s), "prune")
        await node.scheduler.start(node.http)
        node.tasks.spawn(node.scheduler.presence_loop(), "presence")
        node.tasks.spawn(node.live.run(), "live")
        if node.actions.rules:
            await node.actions.prepare()  # the cursor exists before the first post
            node.tasks.spawn(node.actions.run(), "actions")
        if node.legacy.enabled:
            node.tasks.spawn(node.legacy.run(node.http), "legacy poll")
        node.tasks.spawn(node.fetcher.run(), "blob fetch")
        yield
        await node.close()

    async def close_sockets(app: web.Application) -> None:
        del app
        node.scheduler.broadcast.close()  # held watches answer now, not at their deadline
        await node.live.close()

    root.on_shutdown.append(close_sockets)
    root.cleanup_ctx.append(background)
    return root
