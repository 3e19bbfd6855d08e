"""What the store answers to readers: query and view values for the web API (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from meshchat import callsign as callsigns
from meshchat.errors import RemoteProtocolError

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """A page of messages; results are always in ascending (ts, id) order.

    No cursor: the newest ``limit``. ``before``: the newest ``limit`` strictly before that
    record. ``after``: the oldest ``limit`` strictly after it. ``since_ts``: the oldest
    ``limit`` with ts >= since_ts. ``channel`` None means every channel; direct messages
    appear only with ``dm=(A, B)``. ``q`` is user text for a full-text search.
    """

    zone: str
    channel: str | None = None
    limit: int = 50
    before: bytes | None = None
    after: bytes | None = None
    q: str | None = None
    since_ts: int | None = None
    dm: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        """Refuse a query that cannot be answered (a client's fault, hence remote)."""
        if type(self.limit) is not int or not 1 <= self.limit <= MAX_PAGE:
            raise RemoteProtocolError(f"limit must be 1..{MAX_PAGE}")
        cursors = (self.before, self.after, self.since_ts)
        if sum(c is not None for c in cursors) > 1:
            raise RemoteProtocolError("give at most one of before, after, since_ts")
        for cursor in (self.before, self.after):
            if cursor is not None and (not isinstance(cursor, bytes) or len(cursor) != 32):
                raise RemoteProtocolError("a cursor is a 32-byte record id")
        if self.since_ts is not None and (type(self.since_ts) is not int or self.since_ts < 0):
            raise RemoteProtocolError("since_ts must be a non-negative integer")
        if self.dm is not None:
            if self.channel is not None:
                raise RemoteProtocolError("a direct-message query has no channel")
            if len(self.dm) != 2 or not all(
                isinstance(c, str) and callsigns.is_valid(c) for c in self.dm
            ):
                raise RemoteProtocolError("dm must be two normalised callsigns")


@dataclass(frozen=True, slots=True)
class Reaction:
    """One emoji on a message: how many distinct reactors, and the callsigns they gave."""

    emoji: str
    count: int
    callsigns: tuple[str, ...]
    ids: tuple[str, ...] = ()  # ids[i]: the hex id of callsigns[i]'s react record

    def to_json(self) -> dict[str, Any]:
        """Return the JSON API form."""
        return {
            "emoji": self.emoji,
            "count": self.count,
            "callsigns": list(self.callsigns),
            "ids": list(self.ids),
        }


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message as shown: edits, deletes and reactions applied at read time (DESIGN §2.1)."""

    id: str
    ts: int
    zone: str
    channel: str
    callsign: str
    text: str
    node: str
    author: str
    verified: str  # "key" | "via" | "conflict" | "legacy"
    reply_to: str | None
    to: str | None
    edited: int | None
    deleted: bool
    reactions: tuple[Reaction, ...]
    kind: str  # "msg" | "file" | "legacy"
    mentions: tuple[str, ...]
    geo: tuple[int, int] | None
    file: dict[str, Any] | None
    hidden: str | None = None  # "zone" | "node": hidden from others (shown to its author)

    def to_json(self) -> dict[str, Any]:
        """Return exactly the JSON API's field set."""
        return {
            "id": self.id,
            "ts": self.ts,
            "zone": self.zone,
            "channel": self.channel,
            "callsign": self.callsign,
            "text": self.text,
            "node": self.node,
            "author": self.author,
            "verified": self.verified,
            "reply_to": self.reply_to,
            "to": self.to,
            "edited": self.edited,
            "deleted": self.deleted,
            "reactions": [r.to_json() for r in self.reactions],
            "kind": self.kind,
            "mentions": list(self.mentions),
            "geo": list(self.geo) if self.geo is not None else None,
            "file": dict(self.file) if self.file is not None else None,
            "hidden": self.hidden,
        }


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel of a zone; ``created_by`` is the hex author of its genesis (its owner).

    ``members`` are callsigns and ``roles`` each one's role (owner | operator | member);
    ``you`` is the reader's own role (None: not a member); ``genesis`` the hex id of the
    record that founded it, which every change names.
    """

    name: str
    topic: str
    count: int
    last_ts: int | None
    created_by: str | None
    restricted: bool = False
    members: tuple[str, ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)
    you: str | None = None
    genesis: str | None = None
    contested: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the JSON API form."""
        return {
            "name": self.name,
            "topic": self.topic,
            "count": self.count,
            "last_ts": self.last_ts,
            "created_by": self.created_by,
            "restricted": self.restricted,
            "members": list(self.members),
            "roles": dict(self.roles),
            "you": self.you,
            "genesis": self.genesis,
            "contested": self.contested,
        }
