"""Reusable builders for tests: fixed keys, valid bodies of every kind, signed records."""

from __future__ import annotations

from typing import Any

from nacl.signing import SigningKey

from meshchat import records
from meshchat.clock import HybridClock
from meshchat.records import Record

ZONE = "MeshChat"
# Fixed seeds so that golden bytes, ids and signatures are reproducible.
NODE_SEED = bytes(range(32))
USER_SEED = bytes(range(32, 64))
TARGET = bytes(range(100, 132))  # a stand-in record id for edit/delete/react targets
# A fixed, plausible timestamp (2023-11-14T22:13:20Z) for tests that pin bytes.
FIXED_TS = 1_700_000_000_000

_clock = HybridClock()


def node_key() -> SigningKey:
    """Return the test node key (always the same)."""
    return SigningKey(NODE_SEED)


def user_key() -> SigningKey:
    """Return a second, different test key (always the same)."""
    return SigningKey(USER_SEED)


def default_body(kind: str) -> dict[str, Any]:
    """Return a minimal valid body of ``kind`` (required keys only)."""
    bodies: dict[str, dict[str, Any]] = {
        "msg": {"callsign": "W1AW", "channel": "", "text": "hello mesh", "node": "node-1"},
        "edit": {"target": TARGET, "text": "edited"},
        "delete": {"target": TARGET},
        "react": {"target": TARGET, "emoji": "+1"},
        "file": {
            "callsign": "W1AW",
            "channel": "",
            "name": "map.png",
            "size": 1234,
            "mime": "image/png",
            "sha256": bytes(32),
            "node": "node-1",
        },
        "channel": {"name": "ops", "topic": "Operations"},
        "node": {"name": "node-1", "platform": "pi", "version": "0.1.0"},
    }
    return dict(bodies[kind])


def legacy_line(
    epoch: int = FIXED_TS // 1000,
    text: str = "hello from a legacy node",
    callsign: str = "K1ABC",
    node: str = "legacy-node",
    platform: str = "node",
    channel: str = "",
    line_id: str = "0badc0de",
) -> str:
    """Return one legacy TSV message line (LEGACY.md "The message line")."""
    return "\t".join((line_id, str(epoch), text, callsign, node, platform, channel))


def make_record(
    kind: str = "msg",
    zone: str = ZONE,
    ts: int | None = None,
    *,
    key: SigningKey | None = None,
    **body: Any,
) -> Record:
    """Sign a valid record of ``kind``; ``body`` keys override the kind's default body.

    ``ts`` defaults to a strictly increasing wall-clock time, so that records made in a row
    differ and pass the default ingest window. A ``legacy`` record is built from
    ``legacy_line(**body)`` with ts = its epoch in ms (``key`` is ignored: legacy is unsigned).
    """
    if kind == "legacy":
        epoch = body.pop("epoch", (ts if ts is not None else _clock.now()) // 1000)
        line = legacy_line(epoch=epoch, **body)
        return records.make_legacy(zone, epoch * 1000, line)
    merged = default_body(kind)
    merged.update(body)
    return records.sign(key or node_key(), zone, kind, _clock.now() if ts is None else ts, merged)
