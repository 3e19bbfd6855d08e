"""Builders shared by the store tests."""

from __future__ import annotations

from typing import Any

from nacl.signing import SigningKey

from meshchat.records import Record
from meshchat.store.db import Store
from tests import factories

ZONE = factories.ZONE
T0 = factories.FIXED_TS
NOW = T0 + 10_000_000


def msg(key: SigningKey, ts: int, text: str = "hi", **body: Any) -> Record:
    """A ``msg`` record by ``key`` at ``ts`` (callsign defaults to ALICE)."""
    body.setdefault("callsign", "ALICE")
    return factories.make_record("msg", ts=ts, key=key, text=text, **body)


def rec(kind: str, key: SigningKey, ts: int, **body: Any) -> Record:
    """Any signed record."""
    return factories.make_record(kind, ts=ts, key=key, **body)


async def put(store: Store, *records: Record, quota: int = 0) -> list[str]:
    """Insert ``records`` in one batch as if from a local client."""
    return await store.insert(records, origin="local", received_at_ms=NOW, quota_per_hour=quota)
