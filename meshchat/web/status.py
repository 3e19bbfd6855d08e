"""``GET /api/v1/status``: what the node is, what it holds and what it refused."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from meshchat import __version__
from meshchat.clock import wall_ms
from meshchat.config import Config
from meshchat.ingest import Ingestor
from meshchat.presence import PresenceService
from meshchat.store.db import Store
from meshchat.store.nodemap import logged_nodes
from meshchat.web.zonemap import zone_nodes

PeersProvider = Callable[[], list[dict[str, Any]]]
ActionsProvider = Callable[[], Awaitable[dict[str, Any]]]


class StatusApi:
    """Reports node identity, zone sizes, uptime, reject counters and (with sync) peers."""

    def __init__(
        self,
        config: Config,
        store: Store,
        ingestor: Ingestor,
        node_key_hex: str,
        peers: PeersProvider | None = None,
        timing: dict[str, float] | None = None,
        sync_errors: Mapping[str, int] | None = None,
        presence: PresenceService | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.ingestor = ingestor
        self.node_key_hex = node_key_hex
        self.peers = peers
        self.timing = timing or {}
        self.sync_errors = sync_errors if sync_errors is not None else {}
        self.presence = presence
        self.started = time.monotonic()
        self.actions: ActionsProvider | None = None  # the action log's last runs (root sets it)
        self.full: Callable[[web.Request], bool] = lambda request: True  # web.access
        self.sections: dict[str, Callable[[], Any]] = {}  # more of the body by key (root sets)
        self.inbound: PeersProvider | None = None  # peers that call us (the root sets it)

    def _public(self) -> dict[str, Any]:
        """Return what the login page needs: the node's name and its zones, nothing else."""
        return {
            "node": {"name": self.config.node.name, "version": __version__},
            "zones": [{"name": z} for z in self.config.node.zones],
            "access": self.config.web.access,
        }

    async def status(self, request: web.Request) -> web.Response:
        """Answer 200 as soon as the node is ready; tests and tools poll this."""
        if not self.full(request):  # web.access is set and nobody is logged in
            return web.json_response(self._public())
        counts = await self.store.counts()
        body: dict[str, Any] = {
            "node": {
                "name": self.config.node.name,
                "key": self.node_key_hex,
                "version": __version__,
            },
            "zones": [{"name": z, "count": counts.get(z, 0)} for z in self.config.node.zones],
            "uptime_s": round(time.monotonic() - self.started, 3),
            "rejects": dict(sorted(self.ingestor.rejects.items())),
            "timing": self.timing,
            "sync_refused": dict(sorted(self.sync_errors.items())),
        }
        peers = self.peers() if self.peers is not None else []
        if self.peers is not None:
            body["peers"] = peers
            # A peer whose clock is off by more than the future window: its records are
            # refused here (or ours there) until someone sets the clock right.
            window = self.config.store.max_future_skew_s
            body["clock_warnings"] = [
                {"url": p["url"], "name": p.get("name", ""), "skew_s": p["clock_skew_s"]}
                for p in peers
                if isinstance(p.get("clock_skew_s"), int) and abs(p["clock_skew_s"]) > window
            ]
        if self.inbound is not None:
            # Who calls us, listed or not among our own peers (one-way peering).
            body["inbound"] = self.inbound()
        if self.actions is not None:
            body["actions"] = await self.actions()
        # Every node of each zone, not only the direct peers (the status page's picture).
        body["zone_nodes"] = {
            zone: zone_nodes(
                self.config.node.name,
                self.node_key_hex,
                wall_ms(),
                await logged_nodes(self.store, zone),
                self.presence.zone(zone) if self.presence is not None else [],
                peers,
            )
            for zone in self.config.node.zones
        }
        body.update({key: section() for key, section in self.sections.items()})
        return web.json_response(body)
