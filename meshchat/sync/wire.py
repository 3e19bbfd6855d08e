"""Sync API values and constants (DESIGN §5.2): frozen dataclasses that validate on construction.

A peer's decoded msgpack body becomes one of these or a RemoteProtocolError; nothing else
of a request reaches the node, and a value this node builds to send is checked the same
way, so an invalid one cannot exist (STYLE.md 3). Bounds here are part of the threat model
(docs/sync-threat-model.md). The client and the server both take their constants from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshchat import schemas
from meshchat.errors import RemoteProtocolError
from meshchat.presence import (
    MAX_PRESENCE,
    MAX_TYPING,
    STATUSES,
    TYPING_TTL_MS,
    U64_MAX,
    PresenceEntry,
    TypingEntry,
)
from meshchat.presencedelta import DIGEST_BYTES, Update, parse_updates

__all__ = [
    "MAX_PRESENCE",
    "MAX_TYPING",
    "STATUSES",
    "TYPING_TTL_MS",
    "PresenceEntry",
    "TypingEntry",
]

PROTOCOL = 1
PREFIX = "/sync/v1"
MSGPACK = "application/msgpack"
NODE_HEADER = "X-Meshchat-Node"  # who claims to call (put, presence; reconcile: a prefix)
# On a put: this link is the caller's last eager one, keep it (docs/decisions.md).
KEEP_HEADER = "X-Meshchat-Keep"
CONTACT_ID_CHARS = 16  # a reconcile names its sender by this many hex digits of its key
MAX_NEG_BYTES = 64 * 1024 + 1024  # a frame is at most 64 KiB (config bound) plus slack
MAX_GET_IDS = 1024
MAX_PUT_RECORDS = 256
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_RANGE_LIMIT = 1000
GET_REPLY_BYTES = 64 * 1024  # DESIGN §5.2: a get reply stops at 64 KiB, the rest in `more`
RANGE_REPLY_BYTES = 256 * 1024  # a range page stops here even below its limit
I64_MAX = 2**63 - 1  # SQLite's largest INTEGER: a larger range cursor cannot be queried
MAX_INFO_NODES = 1024  # info.nodes: the node keys a node trusts, as it tells its peers
MAX_INFO_ENC = 8  # info.enc: the body codings a node takes and sends (sync/bodyenc.py)
MAX_FIRSTS = 4096  # firsts: the records that made each callsign claim, in arrival order


def _need(cond: bool, detail: str) -> None:
    if not cond:
        raise RemoteProtocolError(detail)


def _map(value: Any, allowed: frozenset[str]) -> Mapping[str, Any]:
    _need(isinstance(value, dict), "the body must be a map")
    unknown = set(value) - allowed
    _need(not unknown, f"unknown keys: {sorted(map(str, unknown))[:5]}")
    return value  # type: ignore[no-any-return]


def _zone(value: Any) -> None:
    _need(isinstance(value, str) and schemas.valid_zone(value), "zone must be a zone name")


def _id(value: Any) -> None:
    _need(isinstance(value, bytes) and len(value) == 32, "ids are 32-byte binaries")


def _digits(value: str, name: str, low: int, top: int) -> int:
    # ASCII only: str.isdigit() accepts "²", which int() refuses.
    ok = value.isascii() and value.isdigit() and len(value) <= 20 and low <= int(value) <= top
    _need(ok, f"{name} must be an integer {low}..{top}")
    return int(value)


def _uint(value: Any, name: str, top: int = U64_MAX) -> None:
    _need(type(value) is int and 0 <= value <= top, f"{name} must be an integer 0..{top}")


@dataclass(frozen=True, slots=True)
class Reconcile:
    """``POST /sync/v1/reconcile {zone, neg, since?}``; ``since`` narrows the range start."""

    zone: str
    neg: bytes
    since: int | None = None
    pres: bytes | None = None  # the caller's presence digest (docs/decisions.md "Presence")

    def __post_init__(self) -> None:
        """Refuse an impossible request."""
        _zone(self.zone)
        neg = self.neg
        _need(isinstance(neg, bytes) and 0 < len(neg) <= MAX_NEG_BYTES, "neg: 1..65 KiB binary")
        if self.since is not None:
            _uint(self.since, "since")
        pres = self.pres
        _need(pres is None or (isinstance(pres, bytes) and len(pres) == DIGEST_BYTES), "pres")

    @classmethod
    def parse(cls, body: Any) -> Reconcile:
        """Build from a decoded request body."""
        m: Any = _map(body, frozenset({"zone", "neg", "since", "pres"}))
        return cls(m.get("zone"), m.get("neg"), m.get("since"), m.get("pres"))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        body: dict[str, Any] = {"zone": self.zone, "neg": self.neg}
        if self.since is not None:
            body["since"] = self.since
        if self.pres is not None:
            body["pres"] = self.pres
        return body


@dataclass(frozen=True, slots=True)
class Get:
    """``POST /sync/v1/get {zone, ids}``."""

    zone: str
    ids: tuple[bytes, ...]

    def __post_init__(self) -> None:
        """Refuse an impossible request."""
        _zone(self.zone)
        _need(isinstance(self.ids, tuple), "ids must be a list")
        _need(len(self.ids) <= MAX_GET_IDS, f"at most {MAX_GET_IDS} ids per get")
        for item in self.ids:
            _id(item)

    @classmethod
    def parse(cls, body: Any) -> Get:
        """Build from a decoded request body."""
        m: Any = _map(body, frozenset({"zone", "ids"}))
        ids: Any = m.get("ids")
        _need(isinstance(ids, list), "ids must be a list")
        return cls(m.get("zone"), tuple(ids))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        return {"zone": self.zone, "ids": list(self.ids)}


@dataclass(frozen=True, slots=True)
class Put:
    """``POST /sync/v1/put {zone, records}``; each record is an ``[S, sig]`` envelope."""

    zone: str
    records: tuple[tuple[bytes, bytes], ...]

    def __post_init__(self) -> None:
        """Refuse an impossible request (record contents are checked by ingest)."""
        _zone(self.zone)
        _need(isinstance(self.records, tuple), "records must be a list")
        _need(len(self.records) <= MAX_PUT_RECORDS, f"at most {MAX_PUT_RECORDS} records per put")
        for env in self.records:
            _need(
                isinstance(env, tuple)
                and len(env) == 2
                and isinstance(env[0], bytes)
                and isinstance(env[1], bytes),
                "each record is [S: bin, sig: bin]",
            )

    @classmethod
    def parse(cls, body: Any) -> Put:
        """Build from a decoded request body."""
        m: Any = _map(body, frozenset({"zone", "records"}))
        recs: Any = m.get("records")
        _need(isinstance(recs, list), "records must be a list")
        _need(len(recs) <= MAX_PUT_RECORDS, f"at most {MAX_PUT_RECORDS} records per put")
        envelopes = tuple(tuple(env) if isinstance(env, list) else env for env in recs)
        return cls(m.get("zone"), envelopes)

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        return {"zone": self.zone, "records": [list(env) for env in self.records]}


@dataclass(frozen=True, slots=True)
class Range:
    """``GET /sync/v1/range?zone&after_ts&after_id&limit``: one bootstrap page."""

    zone: str
    after_ts: int
    after_id: bytes
    limit: int

    def __post_init__(self) -> None:
        """Refuse a cursor no store can be queried with."""
        _zone(self.zone)
        _uint(self.after_ts, "after_ts", I64_MAX)
        _need(isinstance(self.after_id, bytes), "after_id must be bytes")
        _need(len(self.after_id) in (0, 32), "after_id must be 32 bytes of hex")
        _need(type(self.limit) is int, "limit must be an integer")
        _need(1 <= self.limit <= MAX_RANGE_LIMIT, f"limit must be 1..{MAX_RANGE_LIMIT}")

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Range:
        """Build from a query string."""
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
        return cls(query.get("zone"), ts, after_id, limit)  # type: ignore[arg-type]

    def to_query(self) -> dict[str, str | int]:
        """Return the query parameters."""
        return {
            "zone": self.zone,
            "after_ts": self.after_ts,
            "after_id": self.after_id.hex(),
            "limit": self.limit,
        }


@dataclass(frozen=True, slots=True)
class Firsts:
    """``GET /sync/v1/firsts?zone``: the records that made each claim, in arrival order.

    A newcomer ingests them before it pages the rest in, so it sees the claims in the order
    its bootstrap source saw them, whatever their timestamps (docs/decisions.md).
    """

    zone: str
    since: int = 0  # only records from here on (the asker's range start, DESIGN §2.4)

    def __post_init__(self) -> None:
        """Refuse an impossible request."""
        _zone(self.zone)
        _uint(self.since, "since", I64_MAX)

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Firsts:
        """Build from a query string."""
        names = set(query)
        _need(names <= {"zone", "since"} and len(query) == len(names), "firsts takes zone, since")
        since = _digits(query.get("since", "0"), "since", 0, I64_MAX)
        return cls(query.get("zone"), since)  # type: ignore[arg-type]

    def to_query(self) -> dict[str, str | int]:
        """Return the query parameters."""
        return {"zone": self.zone, "since": self.since}


@dataclass(frozen=True, slots=True)
class Presence:
    """``POST /sync/v1/presence {zone, updates?, typing?, digest?}`` (docs/decisions.md).

    ``updates``: presence changes (or whole lists) by origin node; ``digest``: the
    sender's digest of every (origin, version) it holds, asking for the whole lists
    back when the receiver's differs.
    """

    zone: str
    updates: tuple[Update, ...] = ()
    typing: tuple[TypingEntry, ...] = ()
    digest: bytes | None = None

    def __post_init__(self) -> None:
        """Refuse a request over the bounds."""
        _zone(self.zone)
        _need(sum(len(u.users) + len(u.gone) for u in self.updates) <= MAX_PRESENCE, "entries")
        _need(len(self.typing) <= MAX_TYPING, f"typing: at most {MAX_TYPING}")
        _need(all(isinstance(u, Update) for u in self.updates), "updates: presence updates")
        _need(all(isinstance(t, TypingEntry) for t in self.typing), "typing: typing entries")
        _need(self.digest is None or isinstance(self.digest, bytes), "digest: bytes")
        _need(self.digest is None or len(self.digest) == DIGEST_BYTES, "digest: 8 bytes")

    @classmethod
    def parse(cls, body: Any) -> Presence:
        """Build from a decoded request body."""
        m: Any = _map(body, frozenset({"zone", "updates", "typing", "digest"}))
        typing: Any = m.get("typing", [])
        _need(isinstance(typing, list) and len(typing) <= MAX_TYPING, "typing: a list, <= 20")
        return cls(
            m.get("zone"),
            parse_updates(m.get("updates", [])),
            tuple(TypingEntry.parse(t) for t in typing),
            m.get("digest"),
        )

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body (empty parts left out)."""
        body: dict[str, Any] = {"zone": self.zone}
        if self.updates:
            body["updates"] = [u.to_wire() for u in self.updates]
        if self.typing:
            body["typing"] = [t.to_wire() for t in self.typing]
        if self.digest is not None:
            body["digest"] = self.digest
        return body
