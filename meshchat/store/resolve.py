"""Read-time meaning of records (DESIGN §2.1): columns, effective text, reactions, trust.

Pure functions over decoded records; the same code decides what a page shows and what the
full-text index holds, so search and display cannot disagree.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from meshchat import callsign as callsigns
from meshchat import legacyline
from meshchat.errors import RemoteProtocolError
from meshchat.records import ZERO_AUTHOR, Record
from meshchat.store.models import MessageView, Reaction
from meshchat.store.schema import SHOWN_DIRECT, SHOWN_NONE, SHOWN_PUBLIC

SHOWN_KINDS = frozenset({"msg", "file", "legacy"})


class Columns(NamedTuple):
    """The indexed columns derived from a record at ingest."""

    shown: int
    channel: str | None
    callsign: str | None
    target: bytes | None
    to_callsign: str | None
    dm_pair: str | None
    reply_to: bytes | None = None


def dm_pair(a: str, b: str) -> str:
    """Return the key of the conversation between two callsigns (order does not matter)."""
    # A newline cannot occur in a valid callsign, so the key is unambiguous.
    return "\n".join(sorted((a, b)))


def legacy_of(record: Record) -> legacyline.LegacyLine | None:
    """Return the parsed line of a ``legacy`` record, or None if it does not parse."""
    try:
        return legacyline.parse(record.body["line"])
    except RemoteProtocolError:
        return None


def columns(record: Record) -> Columns:
    """Return the indexed columns of a validated record."""
    body = record.body
    kind = record.kind
    if kind in ("msg", "file"):
        to = body.get("to") if kind == "msg" else None
        reply = body.get("reply_to") if kind == "msg" else None
        if to is not None:
            pair = dm_pair(body["callsign"], to)
            return Columns(SHOWN_DIRECT, body["channel"], body["callsign"], None, to, pair, reply)
        return Columns(SHOWN_PUBLIC, body["channel"], body["callsign"], None, None, None, reply)
    if kind == "legacy":
        line = legacy_of(record)
        if line is None:
            return Columns(SHOWN_PUBLIC, "", None, None, None, None)
        return Columns(SHOWN_PUBLIC, line.channel, line.callsign, None, None, None)
    if kind in ("edit", "delete", "react"):
        return Columns(SHOWN_NONE, None, react_callsign(record), body["target"], None, None)
    if kind == "channel":
        return Columns(SHOWN_NONE, body["name"], None, None, None, None)
    return Columns(SHOWN_NONE, None, None, None, None, None)


def react_callsign(record: Record) -> str | None:
    """Return the optional callsign a reaction names (an unchecked body key, so verify it)."""
    value = record.body.get("callsign") if record.kind == "react" else None
    return value if isinstance(value, str) and callsigns.is_valid(value) else None


@dataclass(frozen=True, slots=True)
class Effective:
    """A message's state after its edits, deletes and reactions."""

    text: str
    edited: int | None
    deleted: bool
    reactions: tuple[Reaction, ...]


def base_text(record: Record) -> str:
    """Return the text a message was posted with (file: its caption)."""
    if record.kind == "msg":
        return str(record.body["text"])
    if record.kind == "file":
        return str(record.body.get("caption", ""))
    line = legacy_of(record)
    return line.message if line is not None else ""


def _key(record: Record) -> tuple[int, bytes]:
    return (record.ts, record.id)


def actor_callsign(record: Record) -> str | None:
    """Return the callsign a record says it was made for (None when it names none)."""
    if record.kind == "legacy":
        return None
    value = record.body.get("callsign")
    return value if isinstance(value, str) and callsigns.is_valid(value) else None


def same_actor(a: Record, b: Record, node_keys: Collection[bytes]) -> bool:
    """Tell whether ``a`` and ``b`` were made by the same person (docs/decisions.md).

    A user key is one person. A node key signs for all the callsign-only users of its
    node, so there it is the key and the callsign: what one of them did cannot be undone
    by another. (A record of a node key naming no callsign, from before that rule, still
    counts for the key.)
    """
    if a.author != b.author:
        return False
    if a.author not in node_keys:
        return True
    one, two = actor_callsign(a), actor_callsign(b)
    return one is None or two is None or one == two


def effective(
    target: Record, related: Iterable[Record], node_keys: Collection[bytes] = ()
) -> Effective:
    """Apply edits, deletes and reactions aimed at ``target`` or at those records.

    ``related`` holds records whose target is ``target.id`` and deletes whose target is one
    of them. An edit counts only from the target's author on a ``msg``; the latest wins. A
    delete counts only from the target's author. A delete by a reaction's or an edit's
    author retracts it. "Author" is ``same_actor``: for a node key, also the callsign. One
    reaction per key and emoji (per key, callsign and emoji for a node key).
    """
    if target.gone:  # its author deleted it and its words were dropped (store.tombstones)
        return Effective("", None, True, ())
    direct: list[Record] = []
    retracts: list[Record] = []
    for rec in related:
        if rec.gone:
            continue  # a retracted edit or reaction, or an edit of a deleted message
        (direct if rec.body.get("target") == target.id else retracts).append(rec)
    by_id = {r.id: r for r in direct}
    retracted = {
        d.body["target"]
        for d in retracts
        if d.kind == "delete"
        and d.body["target"] in by_id
        and same_actor(by_id[d.body["target"]], d, node_keys)
    }
    live = sorted((r for r in direct if r.id not in retracted), key=_key)
    if any(r.kind == "delete" and same_actor(target, r, node_keys) for r in live):
        return Effective("", None, True, ())
    text, edited = base_text(target), None
    if target.kind == "msg":
        edits = [r for r in live if r.kind == "edit" and same_actor(target, r, node_keys)]
        if edits:
            text, edited = str(edits[-1].body["text"]), edits[-1].ts
    reacts = (r for r in live if r.kind == "react")
    return Effective(text, edited, False, _reactions(reacts, node_keys))


def _reactions(reacts: Iterable[Record], node_keys: Collection[bytes]) -> tuple[Reaction, ...]:
    seen: set[tuple[bytes, str | None, str]] = set()
    by_emoji: dict[str, list[tuple[str | None, str]]] = {}
    for rec in reacts:
        emoji = str(rec.body["emoji"])
        who = react_callsign(rec)
        # A user key reacts once per emoji, whatever callsigns it names (issue 11).
        actor = who if rec.author in node_keys else None
        if (rec.author, actor, emoji) in seen:
            continue
        seen.add((rec.author, actor, emoji))
        by_emoji.setdefault(emoji, []).append((who, rec.id_hex))
    out = []
    for emoji, reactors in by_emoji.items():
        # One entry per callsign (the first reaction), with the id that retracts it.
        named = dict[str, str]()
        for who, rid in reactors:
            if who is not None:
                named.setdefault(who, rid)
        out.append(Reaction(emoji, len(reactors), tuple(named), tuple(named.values())))
    return tuple(out)


def search_text(record: Record, state: Effective) -> str | None:
    """Return what the full-text index holds for a message, or None when it must not match."""
    if state.deleted:
        return None
    if record.kind == "file":
        return f"{record.body['name']} {state.text}"
    return state.text


def claimed_callsign(record: Record) -> str:
    """Return the callsign a shown record claims (legacy: as typed on the line)."""
    if record.kind == "legacy":
        line = legacy_of(record)
        return line.callsign if line is not None else ""
    return str(record.body["callsign"])


def verified(record: Record, node_keys: Collection[bytes], bound: bytes | None) -> str:
    """Return legacy | via | key | conflict for a shown record (DESIGN §3, docs/decisions.md).

    A callsign bound to a user key is that key's alone: a node's record claiming it is a
    conflict as much as another user key's.
    """
    if record.kind == "legacy" or record.author == ZERO_AUTHOR:
        return "legacy"
    if record.author in node_keys:
        return "via" if bound is None else "conflict"
    return "key" if bound == record.author else "conflict"


def view(record: Record, state: Effective, trust: str, hidden: str | None = None) -> MessageView:
    """Assemble the view of one shown record (``hidden``: how, when shown to its author)."""
    body: Mapping[str, Any] = record.body
    line = legacy_of(record) if record.kind == "legacy" else None
    deleted = state.deleted
    file: dict[str, Any] | None = None
    if record.kind == "file" and not deleted:
        file = {
            "name": body["name"],
            "size": body["size"],
            "mime": body["mime"],
            "sha256": bytes(body["sha256"]).hex(),
            "caption": body.get("caption", ""),
        }
    geo = body.get("geo") if record.kind == "msg" and not deleted else None
    reply_to = body.get("reply_to") if record.kind == "msg" else None
    mentions: Sequence[str] = body.get("mentions", ()) if record.kind == "msg" else ()
    return MessageView(
        id=record.id.hex(),
        ts=record.ts,
        zone=record.zone,
        channel=line.channel if line is not None else str(body.get("channel", "")),
        callsign=claimed_callsign(record),
        text=state.text,
        node=line.node if line is not None else str(body.get("node", "")),
        author=record.author.hex(),
        verified=trust,
        reply_to=bytes(reply_to).hex() if reply_to is not None else None,
        to=body.get("to") if record.kind == "msg" else None,
        edited=state.edited,
        deleted=deleted,
        reactions=state.reactions,
        kind=record.kind,
        mentions=() if deleted else tuple(mentions),
        geo=(int(geo[0]), int(geo[1])) if geo is not None else None,
        file=file,
        hidden=hidden,
    )
