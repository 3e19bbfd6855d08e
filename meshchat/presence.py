"""Presence: who is online on which node and who is typing; gossiped, never logged.

One ``PresenceService`` per node owns both tables: the local users (one entry per open
browser session, fed by the web layer) and what peers reported (fed by sync), with one
TTL. Web and sync get the same service from the composition root. The entry types are
wire values (DESIGN §5.2 ``presence``) that validate on construction (STYLE.md 3), so an
invalid one cannot exist, wherever it was built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshchat import callsign as callsigns
from meshchat import schemas
from meshchat.clock import wall_ms
from meshchat.errors import RemoteProtocolError
from meshchat.presencedelta import OriginTable, Update, digest
from meshchat.timing import Timing

STATUSES = ("online", "away", "busy")
MAX_PRESENCE = 1000  # entries per zone table and per request (docs/sync-threat-model.md)
MAX_TYPING = 20  # typing notices per request: a few people type at once
TYPING_TTL_MS = 6000  # the longest a typing notice may last
U64_MAX = 2**64 - 1


def _need(cond: bool, detail: str) -> None:
    if not cond:
        raise RemoteProtocolError(detail)


def _fields(value: Any, names: frozenset[str]) -> Mapping[str, Any]:
    _need(isinstance(value, dict), "an entry must be a map")
    unknown = set(value) - names
    _need(not unknown, f"unknown keys: {sorted(map(str, unknown))[:5]}")
    return value  # type: ignore[no-any-return]


def _uint(value: Any, name: str, top: int = U64_MAX) -> None:
    _need(type(value) is int and 0 <= value <= top, f"{name} must be an integer 0..{top}")


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    """One user online somewhere in the zone."""

    callsign: str
    node: str
    status: str
    since: int
    last_seen: int
    # The key its session signs with, as its node says (None: a callsign-only login, a
    # legacy user, or a node that does not say); not part of the wire map.
    key: bytes | None = None

    def __post_init__(self) -> None:
        """Refuse a value that no peer would accept."""
        _need(isinstance(self.callsign, str) and callsigns.is_valid(self.callsign), "bad callsign")
        _need(isinstance(self.node, str) and schemas.valid_zone(self.node), "bad node name")
        _need(self.status in STATUSES, f"status must be one of {STATUSES}")
        _uint(self.since, "since")
        _uint(self.last_seen, "last_seen")

    @classmethod
    def parse(cls, value: Any) -> PresenceEntry:
        """Build an entry from a decoded map; RemoteProtocolError if it is not one."""
        m: Any = _fields(value, frozenset({"callsign", "node", "status", "since", "last_seen"}))
        return cls(
            m.get("callsign"), m.get("node"), m.get("status"), m.get("since"), m.get("last_seen")
        )

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack- and JSON-ready map."""
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

    def __post_init__(self) -> None:
        """Refuse a value that no peer would accept (a channel with a control character)."""
        _need(isinstance(self.callsign, str) and callsigns.is_valid(self.callsign), "bad callsign")
        _need(isinstance(self.node, str) and schemas.valid_zone(self.node), "bad node name")
        _need(isinstance(self.channel, str) and schemas.valid_channel(self.channel), "bad channel")
        _uint(self.ttl_ms, "ttl_ms", TYPING_TTL_MS)

    @classmethod
    def parse(cls, value: Any) -> TypingEntry:
        """Build a notice from a decoded map; RemoteProtocolError if it is not one."""
        m: Any = _fields(value, frozenset({"callsign", "node", "channel", "ttl_ms"}))
        return cls(m.get("callsign"), m.get("node"), m.get("channel"), m.get("ttl_ms"))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready map."""
        return {
            "callsign": self.callsign,
            "node": self.node,
            "channel": self.channel,
            "ttl_ms": self.ttl_ms,
        }


def combined(local: list[PresenceEntry], remote: list[PresenceEntry]) -> list[PresenceEntry]:
    """Return local entries followed by remote ones, one per (callsign, node), bounded."""
    seen: dict[tuple[str, str], PresenceEntry] = {}
    for entry in [*local, *remote]:
        seen.setdefault((entry.callsign, entry.node), entry)
    return list(seen.values())[:MAX_PRESENCE]


@dataclass
class _Local:
    """One browser session on this node, present while a tab of it is open."""

    callsign: str
    since_ms: int
    last_seen_ms: int
    tabs: int = 0  # open live sockets
    left_ms: int | None = None  # when its last tab closed
    user_key: bytes | None = None  # the session's own key (None: callsign-only)


class PresenceService:
    """The node's one view of presence: its own users and what peers told it.

    A session counts as present while it has a live socket open (a tab), and for
    ``leave_grace`` after its last one closed (a reload is not a leave); a logout leaves
    at once. Logging in or posting through the API makes nobody present (a CLI or a
    gateway is not a person at a screen).
    """

    def __init__(
        self,
        node_name: str,
        zones: Iterable[str],
        timing: Timing,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.node_name = node_name
        self.ttl_ms = int(timing.presence_ttl_s * 1000)
        self.idle_ms = int(timing.idle_s * 1000)
        self.leave_grace_ms = int(timing.leave_grace_s * 1000)
        self._clock = clock
        self._local: dict[str, _Local] = {}
        self._status: dict[str, str] = {}  # callsign -> online | away | busy, as they set it
        self.refresh_ms = int(timing.presence_repeat_s * 1000)
        self._remote = {zone: OriginTable(self.ttl_ms) for zone in zones}
        # What this node last told its peers of its own users (docs/decisions.md).
        self._version = 0
        self._version_at = 0
        # callsign -> (status, since, own key or None), as last told to the peers
        self._published: dict[str, tuple[str, int, bytes | None]] = {}
        # Told of every change, local or heard (the gossip publishes, the live hub shows).
        self.listeners: list[Callable[[], None]] = []

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

    # -- this node's users (the web layer reports them) ---------------------------------

    def opened(self, key: str, callsign: str, user_key: bytes | None = None) -> None:
        """A tab of the session ``key`` opened its live socket (``user_key``: its own key)."""
        now = self._clock()
        local = self._local.get(key)
        if local is None:
            local = self._local[key] = _Local(callsign, now, now, user_key=user_key)
        local.tabs += 1
        local.left_ms = None
        local.last_seen_ms = now
        self._changed()

    def closed(self, key: str) -> None:
        """A tab of the session closed; the session stays for the leave grace."""
        local = self._local.get(key)
        if local is not None:
            local.tabs = max(0, local.tabs - 1)
            if not local.tabs:
                local.left_ms = self._clock()
                self._changed()

    def seen(self, key: str) -> None:
        """The session's browser is still there."""
        local = self._local.get(key)
        if local is not None:
            local.last_seen_ms = self._clock()

    def leave(self, key: str) -> None:
        """The session ended (a logout): it is gone at once."""
        if self._local.pop(key, None) is not None:
            self._changed()

    def set_status(self, callsign: str, status: str) -> None:
        """Set online / away / busy for ``callsign`` on this node (every tab of it)."""
        if status not in STATUSES:
            raise RemoteProtocolError(f"status must be one of {', '.join(STATUSES)}")
        self._status[callsign] = status
        self._changed()
        if len(self._status) > MAX_PRESENCE:
            present = {local.callsign for local in self._local.values()}
            self._status = {c: v for c, v in self._status.items() if c in present}

    def status_of(self, callsign: str) -> str:
        """Return the status ``callsign`` set here ("online" unless told otherwise)."""
        return self._status.get(callsign, "online")

    def local(self, zone: str) -> list[PresenceEntry]:
        """Return this node's users who are not idle (a session is in every zone served)."""
        del zone
        now = self._clock()
        gone = [
            k for k, v in self._local.items() if v.left_ms and v.left_ms < now - self.leave_grace_ms
        ]
        for key in gone:
            del self._local[key]
        latest: dict[str, PresenceEntry] = {}
        for local in self._local.values():
            if local.last_seen_ms < now - self.idle_ms:
                continue
            status = self.status_of(local.callsign)
            entry = PresenceEntry(
                local.callsign, self.node_name, status, local.since_ms, now, local.user_key
            )
            known = latest.get(entry.callsign)
            if known is None or entry.since < known.since:
                latest[entry.callsign] = entry
        return list(latest.values())

    # -- what this node tells its peers (docs/decisions.md "Presence") ------------------

    def publish(self) -> Update | None:
        """Return this node's change since it last told its peers, or a due refresh."""
        now = self._clock()
        users = {e.callsign: (e.status, e.since, e.key) for e in self.local("")}
        changed = users != self._published
        if not changed and not (users and now - self._version_at >= self.refresh_ms):
            return None
        prev, self._version = self._version, max(now, self._version + 1)
        self._version_at = now
        before, self._published = self._published, users
        fresh = {c: user for c, user in users.items() if before.get(c) != user}
        return Update(
            self.node_name,
            self._version,
            prev,
            tuple((c, status, since) for c, (status, since, _) in fresh.items()),
            tuple(c for c in before if c not in users),
            tuple((c, key) for c, (_, _, key) in fresh.items() if key),
        )

    def whole(self, zone: str, names: Iterable[str] | None = None) -> list[Update]:
        """Return the whole lists of the origins held for ``zone`` (ours first)."""
        wanted = None if names is None else set(names)
        out = []
        if self._version and (wanted is None or self.node_name in wanted):
            users = tuple((c, s, t) for c, (s, t, _) in self._published.items())
            keys = tuple((c, k) for c, (_, _, k) in self._published.items() if k)
            out.append(Update(self.node_name, self._version, None, users, keys=keys))
        table = self._remote.get(zone)
        if table is not None:
            table.expire(self._clock())
            out += table.whole(wanted)
        return out

    def digest(self, zone: str) -> bytes:
        """Return the digest of every (origin, version) held for ``zone``."""
        table = self._remote.get(zone)
        versions = {} if table is None else {n: o.version for n, o in table.origins.items()}
        if self._version:
            versions[self.node_name] = self._version
        return digest(versions)

    # -- what peers reported (sync reports it) -------------------------------------------

    def take(
        self, zone: str, updates: Iterable[Update], source: str = ""
    ) -> tuple[list[Update], list[str]]:
        """Apply updates ``source`` sent; return (the applied ones, origins wanted whole)."""
        table = self._remote.get(zone)
        if table is None:
            return [], []
        now = self._clock()
        table.expire(now)
        applied, wanted = [], []
        for update in updates:
            ok, whole = table.apply(update, now, self.node_name, source)
            if ok:
                applied.append(update)
            elif whole:
                wanted.append(update.node)
        if applied:
            self._changed()
        return applied, wanted

    def forget(self, source: str) -> None:
        """Drop what ``source`` reported in every zone (a peer that went away)."""
        for table in self._remote.values():
            table.forget(source)
        self._changed()

    def remote(self, zone: str) -> list[PresenceEntry]:
        """Return the live entries peers reported for ``zone``."""
        table = self._remote.get(zone)
        if table is None:
            return []
        now = self._clock()
        if table.expire(now):
            self._changed()
        return [
            PresenceEntry(
                call,
                name,
                status,
                min(since, origin.heard_ms),
                origin.heard_ms,
                origin.keys.get(call),
            )
            for name, origin in table.origins.items()
            for call, (status, since) in origin.users.items()
        ]

    def zone(self, zone: str) -> list[PresenceEntry]:
        """Return everyone online in ``zone``: this node's users first, then the rest."""
        return combined(self.local(zone), self.remote(zone))
