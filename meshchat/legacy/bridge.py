"""The legacy bridge of one node: what the composition root builds, mounts and runs.

It joins one zone (``legacy.zone``, by default the node's first) to the legacy nodes of
the same name: the ``/cgi-bin/meshchat`` sub-application answers them (``cgi``), the
poller pulls from every peer of kind ``legacy`` in the shared peer table (``poller``),
and imported lines enter the log as ``legacy`` records that sync natively like any
other. docs/architecture.md says what the root hands it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp import web

from meshchat.config import Config
from meshchat.ingest import Ingestor
from meshchat.legacy.cgi import LegacyCgi, PostMessage
from meshchat.legacy.files import FileLists, FileSource, NoFiles
from meshchat.legacy.importer import LineImporter
from meshchat.legacy.poller import LegacyPoller
from meshchat.legacy.stats import LegacyStats
from meshchat.legacy.ui import LegacyUi
from meshchat.legacy.users import LegacyBrowsers
from meshchat.legacy.window import ExportWindow
from meshchat.peers import PeerTable
from meshchat.presence import PresenceService
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.store.legacy import LegacyStore
from meshchat.timing import Timing


class LegacyBridge:
    """Serves, polls and counts for the legacy zone."""

    def __init__(
        self,
        config: Config,
        store: Store,
        ingestor: Ingestor,
        presence: PresenceService,
        peers: PeerTable,
        timing: Timing,
        post: PostMessage,
        files: FileSource | None = None,
        file_lists: FileLists | None = None,
    ) -> None:
        legacy = config.legacy
        # A zone secret closes the zone to whoever cannot sign: legacy nodes cannot.
        self.enabled = legacy.enabled and not config.sync.zone_secret
        self.zone = config.legacy_zone
        self.stats = LegacyStats()
        self.store = LegacyStore(store)
        self.window = ExportWindow(self.store, self.zone)
        importer = LineImporter(
            ingestor, self.store, self.window, self.zone, self.stats, legacy.max_lines
        )
        name = config.node.name
        self.poller = LegacyPoller(
            peers,
            importer,
            self.window,
            presence,
            name,
            timing,
            self.stats,
            legacy.max_body_bytes,
            file_lists,
        )
        browsers = LegacyBrowsers(presence, timing.idle_s)
        ui = LegacyUi(
            self.window, presence, browsers, peers, self.poller.known_users, self.poller.files
        )
        files = files or NoFiles()
        self.cgi = LegacyCgi(
            self.window, ui, files, post, presence, name, self.stats, legacy.send_message
        )

    def on_records(self, fresh: Sequence[Record], origin: str) -> None:
        """Ingest subscriber: the window this node serves may have changed."""
        self.window.on_records(fresh, origin)

    def app(self) -> web.Application:
        """Return the ``/cgi-bin/meshchat`` sub-application."""
        return self.cgi.app()

    async def run(self, http: aiohttp.ClientSession) -> None:
        """Poll the legacy peers until cancelled (a ``TaskGroup`` task of the root)."""
        await self.poller.run(http)

    def status(self) -> dict[str, Any]:
        """Return what ``/api/v1/status`` shows under ``legacy``."""
        window = self.window.last
        return {
            "zone": self.zone,
            "enabled": self.enabled,
            "peers": len(self.poller.legacy_peers()),
            "lines": len(window.lines) if window else 0,
            "version": window.version if window else None,
            **self.stats.status(),
        }
