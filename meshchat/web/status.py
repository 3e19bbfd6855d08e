"""``GET /api/v1/status``: what the node is, what it holds and what it refused."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from meshchat import __version__
from meshchat.config import Config
from meshchat.ingest import Ingestor
from meshchat.store.db import Store

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
    ) -> None:
        self.config = config
        self.store = store
        self.ingestor = ingestor
        self.node_key_hex = node_key_hex
        self.peers = peers
        self.timing = timing or {}
        self.sync_errors = sync_errors if sync_errors is not None else {}
        self.started = time.monotonic()
        self.actions: ActionsProvider | None = None  # the action log's last runs (root sets it)
        self.sections: dict[str, Callable[[], Any]] = {}  # more of the body by key (root sets)

    async def status(self, request: web.Request) -> web.Response:
        """Answer 200 as soon as the node is ready; tests and tools poll this."""
        del request
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
        if self.peers is not None:
            body["peers"] = self.peers()
        if self.actions is not None:
            body["actions"] = await self.actions()
        body.update({key: section() for key, section in self.sections.items()})
        return web.json_response(body)
