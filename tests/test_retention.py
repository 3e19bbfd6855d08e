"""Retention keeps the record cap's floor: stored, reloaded under its cap, reopened by another."""

from __future__ import annotations

from pathlib import Path

from nacl.signing import SigningKey

from meshchat.clock import HybridClock, wall_ms
from meshchat.config import StoreConfig
from meshchat.horizon import Horizon
from meshchat.ingest import Ingestor
from meshchat.records import Policy
from meshchat.retention import Retention, load_horizon
from meshchat.store.db import Store
from tests.factories import ZONE, make_record

DAY = 86_400_000


async def test_the_floor_is_stored_with_its_cap(tmp_path: Path, node_key: SigningKey) -> None:
    store = await Store.open(tmp_path / "db.sqlite", node_key=bytes(node_key.verify_key))
    try:
        base = wall_ms() - DAY
        made = [make_record(ts=base + i * 1000, text=f"n {i}") for i in range(20)]
        assert await store.insert(made, origin="import", received_at_ms=wall_ms()) == ["ok"] * 20
        capped = StoreConfig(max_records=5)
        horizon = await load_horizon(store, capped, 365 * DAY, (ZONE,))
        pruned: list[None] = []
        retention = Retention(store, capped, horizon, (ZONE,), lambda: pruned.append(None))
        assert await retention.prune_once() == 15 and pruned
        assert horizon.floor(ZONE) == made[15].ts + 1  # just above the oldest kept

        again = await load_horizon(store, capped, 365 * DAY, (ZONE,))
        assert again.floor(ZONE) == made[15].ts + 1
        # Raising or lifting the cap opens the older history again.
        for other in (StoreConfig(max_records=50), StoreConfig(max_records=0)):
            assert (await load_horizon(store, other, 365 * DAY, (ZONE,))).floor(ZONE) == 0
        # Under the cap nothing is pruned and no floor is set.
        roomy = StoreConfig(max_records=50)
        open_horizon = await load_horizon(store, roomy, 365 * DAY, (ZONE,))
        assert await Retention(store, roomy, open_horizon, (ZONE,), lambda: None).prune_once() == 0
        assert open_horizon.floor(ZONE) == 0
    finally:
        await store.close()


async def test_ingest_refuses_what_the_floor_has_cut(tmp_path: Path, node_key: SigningKey) -> None:
    store = await Store.open(tmp_path / "db.sqlite", node_key=bytes(node_key.verify_key))
    try:
        now = wall_ms()
        horizon = Horizon(365 * DAY, {ZONE: now - DAY})
        policy = Policy(zones=frozenset({ZONE}), horizon_ms=365 * DAY)
        ingestor = Ingestor(store, policy, HybridClock(), 0, horizon)
        below, above = make_record(ts=now - 2 * DAY), make_record(ts=now - DAY + 1000)
        results = await ingestor.submit([below.envelope, above.envelope], "peer:x")
        assert results == ["reject:too_old", "ok"]
        assert ingestor.rejects["too_old"] == 1
    finally:
        await store.close()
