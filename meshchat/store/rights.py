"""Who owns, runs, reads and posts in a channel, from its ``channel`` records (no I/O).

docs/decisions.md "Access control" states the rule; in short:

- The **genesis** is the first ``channel`` record of the name *seen here* that names no
  ``genesis`` of its own (arrival order, never a timestamp: a newcomer takes its source's
  order through ``GET /sync/v1/firsts``). Its author **owns** the channel for good.
- Every other record of the name that names this genesis, or none, is a **change**.
  Changes apply in (ts, id) order, the same on every node whatever order they came in,
  each with the rights its author holds at that point of the order: the owner sets
  everything; an operator the topic and the members, but never the owner or an operator
  away; anyone else nothing. A change is a whole state (the latest applied wins).
- Rights belong to keys. A key that signed a ``node`` record signs for callsign-only
  users and holds none: a genesis it signed makes a public channel whose topic that key
  *and callsign* set (as before access control), and its changes elsewhere count for
  nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshchat import callsign as callsigns
from meshchat.records import Record

OWNER, OPERATOR, MEMBER = "owner", "operator", "member"
NEVER = 2**62  # "shown until": a member's posts show whatever their timestamp


@dataclass(frozen=True, slots=True)
class Channel:
    """What the records of one channel name add up to on this node."""

    name: str
    genesis: Record | None = None
    owner: bytes | None = None  # None: no genesis here, or one signed by a node key
    topic: str = ""
    restricted: bool = False
    members: Mapping[bytes, str] = field(default_factory=dict)  # key -> callsign, owner too
    operators: frozenset[bytes] = frozenset()
    former: Mapping[bytes, int] = field(default_factory=dict)  # key -> ts of its removal
    latest_ts: int = 0  # a new change is stamped after every record of the name
    contested: bool = False  # another key founded the name too, or changed another genesis
    unknown: bool = False  # changes of a genesis not held here that say restricted

    def role(self, key: bytes | None) -> str | None:
        """Return owner | operator | member for ``key``, or None."""
        if key is None or key not in self.members:
            return None
        if key == self.owner:
            return OWNER
        return OPERATOR if key in self.operators else MEMBER

    def may_read(self, key: bytes | None) -> bool:
        """Tell whether ``key`` reads the channel (and posts in it)."""
        if self.unknown:
            return False
        return not self.restricted or (key is not None and key in self.members)

    def may_manage(self, key: bytes | None) -> bool:
        """Tell whether ``key`` invites, kicks and sets the topic (owner or operator)."""
        return self.owner is not None and self.role(key) in (OWNER, OPERATOR)

    def shown_until(self, author: bytes) -> int:
        """Return the timestamp below which ``author``'s posts show here (0: none)."""
        if not self.restricted:
            return NEVER
        if author in self.members:
            return NEVER
        return self.former.get(author, 0)

    def shows(self, author: bytes, ts: int) -> bool:
        """Tell whether a post by ``author`` stamped ``ts`` is shown in the channel.

        In a restricted channel only members' posts are, and a former member's from before
        the change that removed it: a kick does not rewrite the log's past.
        """
        return not self.unknown and ts < self.shown_until(author)

    def roles(self) -> dict[str, str]:
        """Return callsign -> role for every member known by a callsign."""
        return {call: str(self.role(key)) for key, call in self.members.items() if call}


def pointer(record: Record) -> bytes | None:
    """Return the genesis a channel record changes (None: it founds the channel)."""
    value = record.body.get("genesis")
    return bytes(value) if isinstance(value, bytes) and len(value) == 32 else None


def body_callsign(record: Record) -> str:
    """Return the callsign a channel record names for its author ("" when none)."""
    value = record.body.get("callsign")
    return value if isinstance(value, str) and callsigns.is_valid(value) else ""


def body_members(body: Mapping[str, Any]) -> dict[bytes, str] | None:
    """Return key -> callsign from ``members`` and ``member_keys``; None if not both valid."""
    names, keys = body.get("members"), body.get("member_keys")
    if not isinstance(names, list) or not isinstance(keys, list) or len(names) != len(keys):
        return None
    out: dict[bytes, str] = {}
    for name, key in zip(names, keys, strict=True):
        if not isinstance(key, bytes) or len(key) != 32:
            return None
        if not isinstance(name, str) or not callsigns.is_valid(name):
            return None
        out[key] = name
    return out


def body_keys(body: Mapping[str, Any], name: str) -> frozenset[bytes] | None:
    """Return a list of 32-byte keys of ``body[name]``; None when absent or malformed."""
    value = body.get(name)
    if not isinstance(value, list) or not all(isinstance(k, bytes) and len(k) == 32 for k in value):
        return None
    return frozenset(value)


def _order(record: Record) -> tuple[int, bytes]:
    return (record.ts, record.id)


class _State:
    """The state of a key-owned channel while its changes are applied in order."""

    def __init__(self, genesis: Record) -> None:
        body = genesis.body
        self.owner = genesis.author
        self.topic = str(body.get("topic", ""))
        self.restricted = body.get("restricted") is True
        self.members = body_members(body) or {}
        self.members[self.owner] = body_callsign(genesis) or self.members.get(self.owner, "")
        ops = body_keys(body, "operators") or frozenset()
        self.operators = frozenset(ops & self.members.keys()) - {self.owner}
        self.former: dict[bytes, int] = {}

    def apply(self, change: Record, rightless: Collection[bytes]) -> None:
        """Apply one change with the rights its author holds now (none: ignored)."""
        author = change.author
        is_owner = author == self.owner
        if author in rightless or not (is_owner or author in self.operators):
            return
        body = change.body
        self.topic = str(body.get("topic", self.topic))
        members = body_members(body)
        if members is not None:
            # Nobody takes the owner away (nor renames it); an operator no operator either.
            members[self.owner] = self.members[self.owner]
            if not is_owner:
                for key in self.operators:
                    members.setdefault(key, self.members[key])
            for key in self.members.keys() - members.keys():
                self.former[key] = change.ts
            for key in members:
                self.former.pop(key, None)
            self.members = members
        if is_owner:
            if "restricted" in body:
                self.restricted = body["restricted"] is True
            named = body_keys(body, "operators")
            if named is not None:
                self.operators = named
        self.operators = frozenset(self.operators & self.members.keys()) - {self.owner}


def _node_owned(
    name: str, genesis: Record, changes: Sequence[Record], contested: bool, latest: int
) -> Channel:
    """A channel founded through a node key: public; that key and callsign set the topic."""
    actor = body_callsign(genesis)
    mine = [genesis, *(r for r in changes if r.author == genesis.author and _same(actor, r))]
    topic = str(max(mine, key=_order).body.get("topic", ""))
    return Channel(name, genesis, None, topic, contested=contested, latest_ts=latest)


def _same(actor: str, record: Record) -> bool:
    """Same callsign-only user: both name the callsign, or one of them names none."""
    other = body_callsign(record)
    return not actor or not other or actor == other


def fold(name: str, defs: Iterable[Record], rightless: Collection[bytes]) -> Channel:
    """Return the channel ``name`` from its records in **arrival order** (module docstring).

    ``defs`` holds only the records that count here (hidden or banned ones left out);
    ``rightless`` are the keys that hold no right (node keys, the zero author).
    """
    records = list(defs)
    genesis = next((r for r in records if pointer(r) is None), None)
    if genesis is None:
        # Only changes of a genesis this node lacks: when one of them says "restricted",
        # nobody reads the channel here rather than everybody (fail safe).
        unknown = any(r.body.get("restricted") is True for r in records)
        return Channel(name, restricted=unknown, unknown=unknown)
    changes = sorted(
        (r for r in records if r is not genesis and pointer(r) in (None, genesis.id)), key=_order
    )
    contested = any(
        (pointer(r) is None and r.author != genesis.author) or pointer(r) not in (None, genesis.id)
        for r in records
    )
    latest = max(r.ts for r in records)
    if genesis.author in rightless:
        return _node_owned(name, genesis, changes, contested, latest)
    state = _State(genesis)
    for change in changes:
        state.apply(change, rightless)
    return Channel(
        name,
        genesis,
        state.owner,
        state.topic,
        state.restricted,
        dict(state.members),
        state.operators,
        dict(state.former),
        latest,
        contested,
    )


def channel_body(
    channel: Channel,
    maker: str,
    *,
    topic: str | None = None,
    restricted: bool | None = None,
    members: Mapping[bytes, str] | None = None,
    operators: Collection[bytes] | None = None,
) -> dict[str, Any]:
    """Return the body of the next change of ``channel``: its whole state with the edits."""
    assert channel.genesis is not None
    keep = dict(channel.members if members is None else members)
    ops = channel.operators if operators is None else frozenset(operators)
    keys = sorted(keep, key=lambda k: (k != channel.owner, keep[k], k))
    return {
        "callsign": maker,
        "genesis": channel.genesis.id,
        "member_keys": keys,
        "members": [keep[k] for k in keys],
        "name": channel.name,
        "operators": sorted(k for k in ops if k in keep and k != channel.owner),
        "restricted": channel.restricted if restricted is None else restricted,
        "topic": channel.topic if topic is None else topic,
    }


def genesis_body(
    name: str, maker: str, key: bytes, topic: str, restricted: bool, members: Mapping[bytes, str]
) -> dict[str, Any]:
    """Return the body that founds a key-owned channel (the maker is its owner)."""
    keep = {key: maker, **{k: v for k, v in members.items() if k != key}}
    keys = [key, *sorted((k for k in keep if k != key), key=lambda k: (keep[k], k))]
    return {
        "callsign": maker,
        "member_keys": keys,
        "members": [keep[k] for k in keys],
        "name": name,
        "operators": [],
        "restricted": restricted,
        "topic": topic,
    }
