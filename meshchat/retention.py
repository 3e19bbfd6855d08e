"""Retention: what passes the horizon is pruned, on start and then periodically (DESIGN §2.4).

The age horizon comes from ``timing.horizon_ms``, the one place it is computed. After a
prune, the record cap's floor is raised in the node's ``Horizon`` and stored, so what
either limit pruned is never asked for again (ingest refuses it, sync does not ask).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from meshchat.clock import wall_ms
from meshchat.config import StoreConfig
from meshchat.horizon import Horizon
from meshchat.store.db import Store

log = logging.getLogger(__name__)


def floor_key(zone: str) -> str:
    """Return the meta key of the record cap's floor of ``zone``."""
    return f"cap_floor:{zone}"


async def load_horizon(
    store: Store, config: StoreConfig, age_ms: int, zones: tuple[str, ...]
) -> Horizon:
    """Return the node's horizon with the floors stored under the current record cap.

    A floor is stored with the cap it came from: raising or lifting ``store.max_records``
    opens the older history again, lowering it lets the next prune raise the floor.
    """
    floors: dict[str, int] = {}
    for zone in zones:
        stored = await store.meta_get(floor_key(zone))
        cap, _, ts = (stored or "").partition(" ")
        if config.max_records > 0 and cap == str(config.max_records) and ts.isdigit():
            floors[zone] = int(ts)
    return Horizon(age_ms, floors)


class Retention:
    """Prunes the zones of one store by the config's horizon and record cap."""

    def __init__(
        self,
        store: Store,
        config: StoreConfig,
        horizon: Horizon,
        zones: tuple[str, ...],
        pruned: Callable[[], None],
    ) -> None:
        self.store = store
        self.config = config
        self.horizon = horizon
        self.zones = zones
        self.pruned = pruned  # told when records went (the sync index must reload)

    async def prune_once(self) -> int:
        """Drop what has passed the retention horizon; return how many records went."""
        cfg = self.config
        cutoff = wall_ms() - self.horizon.age_ms
        dropped = 0
        for zone in self.zones:
            # The floor first: from the moment a record goes, no one may hand it back.
            await self._raise_floor(zone)
            dropped += await self.store.prune(
                zone, older_than_ts=cutoff, pinned=cfg.pinned_channels, max_records=cfg.max_records
            )
        if dropped:
            self.pruned()
            log.info("pruned %d records past the retention horizon", dropped)
        return dropped

    async def _raise_floor(self, zone: str) -> None:
        cap_ts = await self.store.cap_floor(zone, self.config.max_records)
        # Records at cap_ts itself may have gone too (ties break by id): start just above.
        if cap_ts is not None and self.horizon.raise_floor(zone, cap_ts + 1):
            floor = self.horizon.floor(zone)
            await self.store.meta_set(floor_key(zone), f"{self.config.max_records} {floor}")

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
