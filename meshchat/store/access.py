"""What one reader is shown (DESIGN §10): a zone's access rules applied at read time.

``Access`` is a zone's rules as this node computes them from its log (``store.rights``
for channels, ``store.moderation`` for the trusted operators' hides and bans) and from its
own node-local hides. ``Access.reader(key, callsign)`` is what one reader may see, as a
``ReadFilter`` that answers in Python (``shows``) and as a SQL condition over ``records``
(``sql``): a page, a search, a count and a live event hold back the same records. A filter
with nothing to hold back adds no SQL. No I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from meshchat.records import Record
from meshchat.store import resolve
from meshchat.store.moderation import Moderation
from meshchat.store.rights import Channel
from meshchat.store.schema import SHOWN_PUBLIC

ZONE_HIDE, NODE_HIDE = "zone", "node"


@dataclass(frozen=True, slots=True)
class Hidden:
    """A hidden record: who hid it, and whose it is (its author still sees it, marked)."""

    by: str  # "zone": a zone operator this node trusts; "node": this node's operator
    author: bytes
    callsign: str | None  # what a record signed by a node key names
    via: bool  # signed by a node key for a callsign-only user


def post_channel(record: Record) -> str | None:
    """Return the channel a record is a post in (None: a direct message, or not a post)."""
    cols = resolve.columns(record)
    return cols.channel if cols.shown == SHOWN_PUBLIC else None


def _tag(channel: str, author: bytes) -> str:
    # A channel name holds no control character, so the newline cannot be forged.
    return f"{channel}\n{author.hex().upper()}"


@dataclass(frozen=True, slots=True)
class ReadFilter:
    """The records one reader is not shown, and the marks on its own hidden ones."""

    denied: frozenset[str] = frozenset()  # restricted channels the reader does not read
    gated: Mapping[str, Channel] = field(default_factory=dict)  # restricted ones it reads
    hidden: frozenset[bytes] = frozenset()  # record ids
    banned: frozenset[bytes] = frozenset()  # author keys
    marks: Mapping[bytes, str] = field(default_factory=dict)  # hidden id -> zone | node
    marked_authors: frozenset[bytes] = frozenset()  # banned keys (their records: "zone")

    @property
    def empty(self) -> bool:
        """Tell whether the filter holds nothing back and marks nothing."""
        return not (self.denied or self.gated or self.hidden or self.banned or self.marks) and (
            not self.marked_authors
        )

    def shows(self, record_id: bytes, author: bytes, channel: str | None, ts: int) -> bool:
        """Tell whether a record is shown; ``channel`` only for a post in a channel."""
        if record_id in self.hidden or author in self.banned:
            return False
        if channel is None:
            return True
        if channel in self.denied:
            return False
        gate = self.gated.get(channel)
        return gate is None or gate.shows(author, ts)

    def shows_record(self, record: Record) -> bool:
        """Tell whether ``record`` is shown (a direct message is in no channel)."""
        return self.shows(record.id, record.author, post_channel(record), record.ts)

    def counts(self, related: Record, channel: str | None) -> bool:
        """Tell whether an edit, delete or reaction counts on a post in ``channel``.

        Hidden and banned ones never do; in a restricted channel a reaction counts only
        from whom could post there (an author's own edits and deletes always count).
        """
        if related.id in self.hidden or related.author in self.banned:
            return False
        if related.kind != "react" or channel is None:
            return True
        gate = self.gated.get(channel)
        return gate is None or gate.shows(related.author, related.ts)

    def mark(self, record: Record) -> str | None:
        """Return how a record shown to its own author was hidden (None: it was not)."""
        if record.id in self.marks:
            return self.marks[record.id]
        return ZONE_HIDE if record.author in self.marked_authors else None

    def sees_channel(self, name: str) -> bool:
        """Tell whether the reader sees the channel ``name`` at all."""
        return name not in self.denied

    def sql(self, params: dict[str, Any], prefix: str = "") -> str:
        """Return `` AND ...`` terms over ``records`` (columns as ``prefix``+name)."""
        p = prefix
        terms: list[str] = []
        if self.denied:
            params["acl_denied"] = json.dumps(sorted(self.denied))
            terms.append(
                f"({p}shown != 1 OR {p}channel NOT IN (SELECT value FROM json_each(:acl_denied)))"
            )
        if self.gated:
            params["acl_gated"] = json.dumps(sorted(self.gated))
            members = [_tag(n, k) for n, c in self.gated.items() for k in c.members]
            params["acl_members"] = json.dumps(sorted(members))
            tag = f"({p}channel || char(10) || hex({p}author))"
            allowed = f"{tag} IN (SELECT value FROM json_each(:acl_members))"
            former = [[_tag(n, k), ts] for n, c in self.gated.items() for k, ts in c.former.items()]
            if former:
                params["acl_former"] = json.dumps(sorted(former))
                allowed += (
                    " OR EXISTS (SELECT 1 FROM json_each(:acl_former) "
                    f"WHERE json_extract(value, '$[0]') = {tag} "
                    f"AND json_extract(value, '$[1]') > {p}ts)"
                )
            terms.append(
                f"({p}shown != 1 OR {p}channel NOT IN (SELECT value FROM json_each(:acl_gated))"
                f" OR {allowed})"
            )
        if self.hidden:
            params["acl_hidden"] = json.dumps(sorted(i.hex().upper() for i in self.hidden))
            terms.append(f"hex({p}id) NOT IN (SELECT value FROM json_each(:acl_hidden))")
        if self.banned:
            params["acl_banned"] = json.dumps(sorted(k.hex().upper() for k in self.banned))
            terms.append(f"hex({p}author) NOT IN (SELECT value FROM json_each(:acl_banned))")
        return "".join(" AND " + t for t in terms)


OPEN = ReadFilter()  # a zone without restricted channels, hides or bans


@dataclass(frozen=True, slots=True)
class Access:
    """A zone's access rules as computed on this node."""

    zone: str
    channels: Mapping[str, Channel] = field(default_factory=dict)  # names with records
    hidden: Mapping[bytes, Hidden] = field(default_factory=dict)  # those held here
    moderation: Moderation = field(default_factory=Moderation)
    local: frozenset[bytes] = frozenset()  # ids hidden by this node's operator

    @property
    def hidden_ids(self) -> frozenset[bytes]:
        """Return every hidden id, held here or not yet (a hide may come before its target)."""
        return self.moderation.hidden | self.local

    @property
    def banned(self) -> frozenset[bytes]:
        """Return the author keys banned from the zone by a trusted operator."""
        return self.moderation.banned

    def channel(self, name: str) -> Channel | None:
        """Return the channel ``name`` as its records make it, or None when it has none."""
        return self.channels.get(name)

    def _restricted(self) -> dict[str, Channel]:
        return {n: c for n, c in self.channels.items() if c.restricted}

    def _marks(self) -> dict[str, Any]:
        return {
            "marks": {i: h.by for i, h in self.hidden.items()},
            "marked_authors": self.banned,
        }

    def reader(self, key: bytes | None, callsign: str | None = None) -> ReadFilter:
        """Return what a reader holding ``key`` sees (None: callsign-only or no session).

        The author of a hidden record, or a banned author, still sees its own records:
        marked, so it knows others do not.
        """
        restricted = self._restricted()
        denied = frozenset(n for n, c in restricted.items() if not c.may_read(key))
        gated = {n: c for n, c in restricted.items() if n not in denied}
        own = {i for i, h in self.hidden.items() if _own(h, key, callsign)}
        banned = self.banned - {key} if key is not None else self.banned
        hidden = self.hidden_ids - own
        if not (denied or gated or self.hidden_ids or self.banned):
            return OPEN
        return ReadFilter(denied, gated, hidden, banned, **self._marks())

    def public(self) -> ReadFilter:
        """What nobody in particular sees: legacy nodes, action rules, a reader without key."""
        return self.reader(None)

    def members_view(self) -> ReadFilter:
        """Every channel, restricted ones with their members' posts only (no reader)."""
        gated = self._restricted()
        if not (gated or self.hidden_ids or self.banned):
            return OPEN
        return ReadFilter(frozenset(), gated, self.hidden_ids, self.banned, **self._marks())

    def everything(self) -> ReadFilter:
        """Hold nothing back; only mark what is hidden (the live hub filters per socket)."""
        if not (self.hidden_ids or self.banned):
            return OPEN
        return ReadFilter(**self._marks())


def _own(hidden: Hidden, key: bytes | None, callsign: str | None) -> bool:
    if key is not None:
        return hidden.author == key and not hidden.via
    return hidden.via and callsign is not None and hidden.callsign == callsign
