"""Retention: what passes the horizon is pruned, on start and then periodically (DESIGN §2.4).

The horizon comes from ``timing.horizon_ms``, the one place it is computed; ingest
refuses records past it and sync never asks for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from meshchat.clock import wall_ms
from meshchat.config import StoreConfig
from meshchat.store.db import Store

log = logging.getLogger(__name__)


class Retention:
    """Prunes the zones of one store by the config's horizon and record cap."""

    def __init__(
        self,
        store: Store,
        config: StoreConfig,
        horizon_ms: int,
        zones: tuple[str, ...],
        pruned: Callable[[], None],
    ) -> None:
        self.store = store
        self.config = config
        self.horizon_ms = horizon_ms
        self.zones = zones
        self.pruned = pruned  # told when records went (the sync index must reload)

    async def prune_once(self) -> int:
        """Drop what has passed the retention horizon; return how many records went."""
        cfg = self.config
        cutoff = wall_ms() - self.horizon_ms
        dropped = 0
        for zone in self.zones:
            dropped += await self.store.prune(
                zone, older_than_ts=cutoff, pinned=cfg.pinned_channels, max_records=cfg.max_records
            )
        if dropped:
            self.pruned()
            log.info("pruned %d records past the retention horizon", dropped)
        return dropped

    async def run(self, interval_s: float) -> None:
        """Prune on start and then every ``interval_s`` (0: only at start)."""
        while True:
            try:
                await self.prune_once()
            except Exception:
                log.exception("retention prune failed; retrying at the next interval")
            if interval_s <= 0:
                return
            await asyncio.sleep(interval_s)
