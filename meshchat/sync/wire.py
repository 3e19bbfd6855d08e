"""Sync API values (DESIGN §5.2): frozen dataclasses that validate on construction.

A peer's decoded msgpack body becomes one of these or a RemoteProtocolError; nothing else
of a request reaches the node. Bounds here are part of the threat model
(docs/sync-threat-model.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshchat import callsign as callsigns
from meshchat import schemas
from meshchat.errors import RemoteProtocolError

PROTOCOL = 1
MAX_NEG_BYTES = 64 * 1024 + 1024  # a frame is at most 64 KiB (config bound) plus slack
MAX_GET_IDS = 1024
MAX_PUT_RECORDS = 256
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_RANGE_LIMIT = 1000
MAX_PRESENCE = 1000
GET_REPLY_BYTES = 64 * 1024  # DESIGN §5.2: a get reply stops at 64 KiB, the rest in `more`
U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1  # SQLite's largest INTEGER: a larger range cursor cannot be queried
STATUSES = ("online", "away", "busy")
MAX_TYPING = 100
TYPING_TTL_MS = 6000


def _need(cond: bool, detail: str) -> None:
    if not cond:
        raise RemoteProtocolError(detail)


def _map(value: Any, allowed: frozenset[str]) -> Mapping[str, Any]:
    _need(isinstance(value, dict), "the body must be a map")
    unknown = set(value) - allowed
    _need(not unknown, f"unknown keys: {sorted(map(str, unknown))[:5]}")
    return value  # type: ignore[no-any-return]


def _zone(value: Any) -> str:
    _need(isinstance(value, str) and schemas.valid_zone(value), "zone must be a zone name")
    return value  # type: ignore[no-any-return]


def _id(value: Any) -> bytes:
    _need(isinstance(value, bytes) and len(value) == 32, "ids are 32-byte binaries")
    return value  # type: ignore[no-any-return]


def _digits(value: str, name: str, low: int, top: int) -> int:
    # ASCII only: str.isdigit() accepts "²", which int() refuses.
    ok = value.isascii() and value.isdigit() and len(value) <= 20 and low <= int(value) <= top
    _need(ok, f"{name} must be an integer {low}..{top}")
    return int(value)


def _uint(value: Any, name: str, top: int = U64_MAX) -> int:
    _need(type(value) is int and 0 <= value <= top, f"{name} must be an integer 0..{top}")
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Reconcile:
    """``POST /sync/v1/reconcile {zone, neg, since?}``; ``since`` narrows the range start."""

    zone: str
    neg: bytes
    since: int | None = None

    @classmethod
    def parse(cls, body: Any) -> Reconcile:
        """Validate a decoded request body."""
        m = _map(body, frozenset({"zone", "neg", "since"}))
        neg: Any = m.get("neg")
        _need(isinstance(neg, bytes) and 0 < len(neg) <= MAX_NEG_BYTES, "neg: 1..65 KiB binary")
        since = None if m.get("since") is None else _uint(m["since"], "since")
        return cls(_zone(m.get("zone")), neg, since)


@dataclass(frozen=True, slots=True)
class Get:
    """``POST /sync/v1/get {zone, ids}``."""

    zone: str
    ids: tuple[bytes, ...]

    @classmethod
    def parse(cls, body: Any) -> Get:
        """Validate a decoded request body."""
        m = _map(body, frozenset({"zone", "ids"}))
        ids: Any = m.get("ids")
        _need(isinstance(ids, list), "ids must be a list")
        _need(len(ids) <= MAX_GET_IDS, f"at most {MAX_GET_IDS} ids per get")
        return cls(_zone(m.get("zone")), tuple(_id(i) for i in ids))


@dataclass(frozen=True, slots=True)
class Put:
    """``POST /sync/v1/put {zone, records}``; each record is an ``[S, sig]`` envelope."""

    zone: str
    records: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def parse(cls, body: Any) -> Put:
        """Validate a decoded request body (record contents are checked by ingest)."""
        m = _map(body, frozenset({"zone", "records"}))
        recs: Any = m.get("records")
        _need(isinstance(recs, list), "records must be a list")
        _need(len(recs) <= MAX_PUT_RECORDS, f"at most {MAX_PUT_RECORDS} records per put")
        out = []
        for env in recs:
            _need(
                isinstance(env, list)
                and len(env) == 2
                and isinstance(env[0], bytes)
                and isinstance(env[1], bytes),
                "each record is [S: bin, sig: bin]",
            )
            out.append((env[0], env[1]))
        return cls(_zone(m.get("zone")), tuple(out))


@dataclass(frozen=True, slots=True)
class Range:
    """``GET /sync/v1/range?zone&after_ts&after_id&limit``: one bootstrap page."""

    zone: str
    after_ts: int
    after_id: bytes
    limit: int

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Range:
        """Validate the query string."""
        names = set(query)
        extra = names - {"zone", "after_ts", "after_id", "limit"}
        _need(not extra, f"unknown parameters: {sorted(extra)[:5]}")
        # A multidict counts a repeated name in len() but not in its keys.
        _need(len(query) == len(names), "a parameter is repeated")
        ts = _digits(query.get("after_ts", "0"), "after_ts", 0, I64_MAX)
        limit = _digits(query.get("limit", "500"), "limit", 1, MAX_RANGE_LIMIT)
        hex_id = query.get("after_id", "")
        _need(len(hex_id) in (0, 64), "after_id must be 32 bytes of hex")
        try:
            after_id = bytes.fromhex(hex_id)
        except ValueError:
            raise RemoteProtocolError("after_id must be hex") from None
        _need(len(after_id) in (0, 32), "after_id must be 32 bytes of hex")
        return cls(_zone(query.get("zone")), ts, after_id, limit)


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    """One user online somewhere in the zone; ephemeral, never written to the log."""

    callsign: str
    node: str
    status: str
    since: int
    last_seen: int

    @classmethod
    def parse(cls, value: Any) -> PresenceEntry:
        """Validate one entry of a presence body."""
        m = _map(value, frozenset({"callsign", "node", "status", "since", "last_seen"}))
        callsign: Any = m.get("callsign")
        node: Any = m.get("node")
        status: Any = m.get("status")
        _need(isinstance(callsign, str) and callsigns.is_valid(callsign), "bad callsign")
        _need(isinstance(node, str) and schemas.valid_zone(node), "bad node name")
        _need(status in STATUSES, f"status must be one of {STATUSES}")
        return cls(
            callsign,
            node,
            status,
            _uint(m.get("since"), "since"),
            _uint(m.get("last_seen"), "last_seen"),
        )

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready map."""
        return {
            "callsign": self.callsign,
            "node": self.node,
            "status": self.status,
            "since": self.since,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True, slots=True)
class TypingEntry:
    """Someone is typing in a channel; it lapses after ``ttl_ms`` unless repeated."""

    callsign: str
    node: str
    channel: str
    ttl_ms: int = TYPING_TTL_MS

    @classmethod
    def parse(cls, value: Any) -> TypingEntry:
        """Validate one entry of a presence body's ``typing`` list."""
        m = _map(value, frozenset({"callsign", "node", "channel", "ttl_ms"}))
        callsign: Any = m.get("callsign")
        node: Any = m.get("node")
        channel: Any = m.get("channel")
        _need(isinstance(callsign, str) and callsigns.is_valid(callsign), "bad callsign")
        _need(isinstance(node, str) and schemas.valid_zone(node), "bad node name")
        _need(isinstance(channel, str) and schemas.valid_channel(channel), "bad channel")
        return cls(callsign, node, channel, _uint(m.get("ttl_ms"), "ttl_ms", TYPING_TTL_MS))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready map."""
        return {
            "callsign": self.callsign,
            "node": self.node,
            "channel": self.channel,
            "ttl_ms": self.ttl_ms,
        }


@dataclass(frozen=True, slots=True)
class Presence:
    """``POST /sync/v1/presence {zone, users, typing?}``."""

    zone: str
    users: tuple[PresenceEntry, ...]
    typing: tuple[TypingEntry, ...] = ()

    @classmethod
    def parse(cls, body: Any) -> Presence:
        """Validate a decoded request body."""
        m = _map(body, frozenset({"zone", "users", "typing"}))
        users: Any = m.get("users")
        typing: Any = m.get("typing", [])
        _need(isinstance(users, list) and len(users) <= MAX_PRESENCE, "users: a list, <= 1000")
        _need(isinstance(typing, list) and len(typing) <= MAX_TYPING, "typing: a list, <= 100")
        return cls(
            _zone(m.get("zone")),
            tuple(PresenceEntry.parse(u) for u in users),
            tuple(TypingEntry.parse(t) for t in typing),
        )
