"""Presence as changes between nodes (docs/decisions.md "Presence"), sans-I/O.

Each node is the *origin* of its own users' entries and numbers its list with a version
(milliseconds, only growing). A change travels as an ``Update``: the origin, its new
version, the version it follows (``prev``; none for a whole list) and the entries set
and gone. A node applies an update that follows the version it holds, and asks for the
whole list when one is missing in between. A short ``digest`` over every (origin,
version) held, carried by each anti-entropy round, tells two nodes whether they agree.
An origin with users repeats its version now and then (``presence_refresh_s``), so one
that falls silent (a node that went away) expires after ``presence_ttl_s``.

Presence is unauthenticated gossip (docs/sync-threat-model.md): the tables are bounded
per zone and per reporting source, versions cannot run ahead of our clock by more than
a minute, and our own node's entries are ours alone to say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshchat import callsign as callsigns
from meshchat import schemas
from meshchat.errors import RemoteProtocolError

STATUSES = ("online", "away", "busy")
MAX_ENTRIES = 1000  # entries per zone, and per request
MAX_PER_SOURCE = MAX_ENTRIES // 2
MAX_AHEAD_MS = 60_000  # a version may run this far ahead of our clock
DIGEST_BYTES = 8
KEY_BYTES = 32
UPDATE_KEYS = frozenset({"node", "v", "prev", "users", "gone", "keys"})
U63 = 2**63 - 1

User = tuple[str, str, int]  # (callsign, status, since)


def _need(cond: bool, detail: str) -> None:
    if not cond:
        raise RemoteProtocolError(detail)


def _user(value: Any) -> User:
    _need(
        isinstance(value, list | tuple) and len(value) == 3, "a user is [callsign, status, since]"
    )
    call, status, since = value
    _need(isinstance(call, str) and callsigns.is_valid(call), "bad callsign")
    _need(status in STATUSES, f"status must be one of {STATUSES}")
    _need(type(since) is int and 0 <= since <= U63, "since must be an integer")
    return (call, status, since)


@dataclass(frozen=True, slots=True)
class Update:
    """One origin's change (``prev`` None: its whole list)."""

    node: str
    version: int
    prev: int | None = None
    users: tuple[User, ...] = ()  # set (or, for a whole list, all)
    gone: tuple[str, ...] = ()  # callsigns that left
    # The users among ``users`` whose session signs with its own key, and that key (as the
    # origin says: presence is unsigned); the others are callsign-only logins.
    keys: tuple[tuple[str, bytes], ...] = ()

    def __post_init__(self) -> None:
        """Refuse a value no node would accept."""
        _need(isinstance(self.node, str) and schemas.valid_zone(self.node), "bad node name")
        _need(type(self.version) is int and 0 < self.version <= U63, "bad version")
        _need(
            self.prev is None or (type(self.prev) is int and 0 <= self.prev < self.version), "prev"
        )
        _need(len(self.users) + len(self.gone) <= MAX_ENTRIES, f"at most {MAX_ENTRIES} entries")
        for call in self.gone:
            _need(isinstance(call, str) and callsigns.is_valid(call), "bad callsign")
        named = {u[0] for u in self.users}
        for call, key in self.keys:
            _need(call in named, "a key for a user the update does not set")
            _need(isinstance(key, bytes) and len(key) == KEY_BYTES, "a key is 32 bytes")

    @classmethod
    def parse(cls, value: Any) -> Update:
        """Build from a decoded map; RemoteProtocolError if it is not one."""
        _need(isinstance(value, dict), "an update is a map")
        _need(set(value) <= UPDATE_KEYS, "unknown keys in an update")
        users, gone = value.get("users", []), value.get("gone", [])
        keys = value.get("keys", {})
        _need(isinstance(keys, dict) and len(keys) <= MAX_ENTRIES, "keys: a map")
        _need(isinstance(users, list) and isinstance(gone, list), "users and gone are lists")
        _need(len(users) + len(gone) <= MAX_ENTRIES, f"at most {MAX_ENTRIES} entries")
        return cls(
            value.get("node"),
            value.get("v"),
            value.get("prev"),
            tuple(_user(u) for u in users),
            tuple(gone),
            tuple(keys.items()),
        )

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready map (empty parts left out)."""
        body: dict[str, Any] = {"node": self.node, "v": self.version}
        if self.prev is not None:
            body["prev"] = self.prev
        if self.users:
            body["users"] = [list(u) for u in self.users]
        if self.gone:
            body["gone"] = list(self.gone)
        if self.keys:
            body["keys"] = dict(self.keys)
        return body


def parse_updates(value: Any) -> tuple[Update, ...]:
    """Parse a request's ``updates`` list, bounded in entries overall."""
    _need(isinstance(value, list) and len(value) <= MAX_ENTRIES, "updates: a list")
    updates = tuple(Update.parse(u) for u in value)
    _need(sum(len(u.users) + len(u.gone) for u in updates) <= MAX_ENTRIES, "too many entries")
    return updates


@dataclass
class Origin:
    """What one origin node says of its users, as far as we know."""

    version: int
    heard_ms: int
    source: str
    users: dict[str, tuple[str, int]] = field(default_factory=dict)  # callsign -> status, since
    keys: dict[str, bytes] = field(default_factory=dict)  # callsign -> its own key, if any


class OriginTable:
    """The remote origins of one zone: applies updates, bounds them, expires the silent."""

    def __init__(self, ttl_ms: int) -> None:
        self.ttl_ms = ttl_ms
        self.origins: dict[str, Origin] = {}

    def apply(self, update: Update, now_ms: int, own_node: str, source: str) -> tuple[bool, bool]:
        """Apply one update; return (applied, whole list wanted)."""
        if update.node == own_node or update.version > now_ms + MAX_AHEAD_MS:
            return False, False
        known = self.origins.get(update.node)
        if known is not None and update.version <= known.version:
            return False, False
        if update.prev is None:
            users = {u[0]: (u[1], u[2]) for u in update.users}
            keys = dict(update.keys)
        elif known is not None and known.version == update.prev:
            users, keys = dict(known.users), dict(known.keys)
            for call in update.gone:
                users.pop(call, None)
                keys.pop(call, None)
            users.update({u[0]: (u[1], u[2]) for u in update.users})
            for user in update.users:
                keys.pop(user[0], None)
            keys.update(update.keys)
        else:
            return False, True  # a change between went missing: ask for the whole list
        mine = sum(len(o.users) for n, o in self.origins.items() if o.source == source)
        held = sum(len(o.users) for o in self.origins.values())
        before = len(known.users) if known is not None else 0
        if mine - before + len(users) > MAX_PER_SOURCE or held - before + len(users) > MAX_ENTRIES:
            return False, False  # full: what others reported stays
        self.origins[update.node] = Origin(update.version, now_ms, source, users, keys)
        return True, False

    def expire(self, now_ms: int) -> list[str]:
        """Drop origins silent for the TTL; return their names."""
        gone = [n for n, o in self.origins.items() if o.heard_ms <= now_ms - self.ttl_ms]
        for name in gone:
            del self.origins[name]
        return gone

    def forget(self, source: str) -> None:
        """Drop what ``source`` reported."""
        self.origins = {n: o for n, o in self.origins.items() if o.source != source}

    def whole(self, names: Iterable[str] | None = None) -> list[Update]:
        """Return the whole list of each origin held (of ``names``, or all)."""
        wanted = (
            self.origins
            if names is None
            else {n: self.origins[n] for n in names if n in self.origins}
        )
        return [
            Update(
                n,
                o.version,
                None,
                tuple((c, s, t) for c, (s, t) in o.users.items()),
                keys=tuple(o.keys.items()),
            )
            for n, o in wanted.items()
        ]


def digest(versions: Mapping[str, int]) -> bytes:
    """Return the short digest of every (origin, version) held."""
    text = "".join(f"{n}\x00{v}\n" for n, v in sorted(versions.items()))
    return hashlib.sha256(text.encode()).digest()[:DIGEST_BYTES]
