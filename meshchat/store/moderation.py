"""Zone moderation from the signed records of the operators a node trusts (no I/O).

A zone operator hides a record with ``delete {target: ID, moderation: "hide"}`` and bans
an author key with ``delete {target: KEY, moderation: "ban"}`` (docs/decisions.md
"Access control"). It is a body on an existing kind, so nodes that predate moderation
store the record, pass it on and ignore it (a delete by anyone but the target's author
retracts nothing there). An operator takes its own hide or ban back the way any record
is retracted: a plain ``delete`` of it. Only the set of records counts, never their
order or timestamps, so every node that trusts the same operators agrees.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from meshchat.records import Record

HIDE, BAN = "hide", "ban"
ACTIONS = (HIDE, BAN)
MAX_REASON = 200


def action(record: Record) -> str | None:
    """Return ``hide`` or ``ban`` for a moderation record, None for any other."""
    value = record.body.get("moderation") if record.kind == "delete" else None
    return value if value in ACTIONS else None


@dataclass(frozen=True, slots=True)
class Moderation:
    """What the trusted operators' records in force hide and ban."""

    hidden: frozenset[bytes] = frozenset()  # record ids
    banned: frozenset[bytes] = frozenset()  # author keys
    acts: Mapping[bytes, Record] = field(default_factory=dict)  # id -> moderation record

    def by(self, author: bytes, verb: str, target: bytes) -> list[Record]:
        """Return ``author``'s records in force that ``verb`` (hide | ban) ``target``."""
        return [
            r
            for r in self.acts.values()
            if r.author == author and action(r) == verb and r.body["target"] == target
        ]


def moderate(deletes: Iterable[Record], operators: Collection[bytes]) -> Moderation:
    """Return the moderation in force from ``deletes`` (any order) by ``operators``."""
    mine = [r for r in deletes if r.kind == "delete" and r.author in operators]
    retracted = {(r.author, bytes(r.body["target"])) for r in mine if action(r) is None}
    acts = {r.id: r for r in mine if action(r) is not None and (r.author, r.id) not in retracted}
    hidden = frozenset(bytes(r.body["target"]) for r in acts.values() if action(r) == HIDE)
    banned = frozenset(bytes(r.body["target"]) for r in acts.values() if action(r) == BAN)
    return Moderation(hidden, banned, acts)
