"""Who is a node and who owns a callsign, computed from what this node saw (docs/decisions.md).

Pure functions (no database): the store feeds them its node records, its direct peers,
what they vouch for, and its claims in arrival order.

- A key is a **node key** (its records show as "via NODE" and bind no callsign) when it
  signed a ``node`` record and it is this node's own key, a peer this node completed a sync
  round with, or a key such a peer's ``info`` names as a node it trusts. Signing one
  ``node`` record is not enough: a node of the zone must have synced with the key.
- A callsign is **bound** to the first key, in arrival order on this node, that claimed it
  and is not a node key. Timestamps are the author's choice and never decide it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from meshchat.records import ZERO_AUTHOR


def node_keys(
    own: bytes | None,
    announced: Collection[bytes],
    direct: Collection[bytes],
    vouches: Mapping[bytes, Collection[bytes]],
) -> frozenset[bytes]:
    """Return the trusted node keys (``announced``: the authors of ``node`` records)."""
    trusted = {key for key in direct if key in announced}
    for via in list(trusted):
        trusted.update(key for key in vouches.get(via, ()) if key in announced)
    if own is not None:
        trusted.add(own)
    return frozenset(trusted)


def bindings(claims: Iterable[tuple[str, bytes]], nodes: Collection[bytes]) -> dict[str, bytes]:
    """Return callsign → bound key from (callsign, author) claims in arrival order."""
    bound: dict[str, bytes] = {}
    for callsign, author in claims:
        if callsign not in bound and author != ZERO_AUTHOR and author not in nodes:
            bound[callsign] = author
    return bound


def disputes(
    claims: Sequence[tuple[str, bytes]], nodes: Collection[bytes]
) -> dict[str, list[bytes]]:
    """Return callsign → [bound key, other claimants...] where more than one key claims it."""
    keys: dict[str, list[bytes]] = {}
    for callsign, author in claims:
        if author == ZERO_AUTHOR or author in nodes:
            continue
        found = keys.setdefault(callsign, [])
        if author not in found:
            found.append(author)
    return {callsign: found for callsign, found in keys.items() if len(found) > 1}
