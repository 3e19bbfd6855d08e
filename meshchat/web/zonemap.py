"""A picture of a whole zone for the status page: every node the log, presence and the
peer table know of, when each was last heard from, and how many users are on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from meshchat.presence import PresenceEntry
from meshchat.store.nodemap import LoggedNode


def _heard(node: dict[str, Any], ms: float | None, how: str) -> None:
    """Keep the newest sign of life and what it was."""
    if ms is None:
        return
    if node["last_heard"] is None or ms > node["last_heard"]:
        node["last_heard"] = int(ms)
        node["heard_by"] = how


def _blank(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "key": None,
        "kind": "unknown",  # native | legacy | unknown
        "platform": "",
        "version": "",
        "self": False,
        "peer": None,  # the URL when it is a direct peer of this node
        "users": 0,
        "callsigns": [],
        "last_heard": None,  # ms since the epoch
        "heard_by": None,  # sync | presence | message | announce | self
    }


def zone_nodes(
    self_name: str,
    self_key: str,
    now_ms: int,
    logged: Iterable[LoggedNode],
    presence: Iterable[PresenceEntry],
    peers: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Merge what is known about the zone's nodes into one list: this node first, then by name."""
    nodes: dict[str, dict[str, Any]] = {}
    by_key: dict[str, str] = {}

    def node(name: str) -> dict[str, Any]:
        return nodes.setdefault(name, _blank(name))

    me = node(self_name)
    me.update({"key": self_key, "kind": "native", "self": True})
    _heard(me, now_ms, "self")
    by_key[self_key] = self_name
    for seen in logged:
        if seen.key is not None and seen.key == self_key:
            me["platform"], me["version"] = seen.platform, seen.version  # its own record
            continue
        entry = node(seen.name)
        if seen.key is not None:
            entry.update({"key": seen.key, "kind": "native"})
            by_key[seen.key] = seen.name
        elif entry["kind"] == "unknown" and seen.legacy:
            entry["kind"] = "legacy"
        entry["platform"] = entry["platform"] or seen.platform
        entry["version"] = entry["version"] or seen.version
        _heard(entry, seen.announced, "announce")
        _heard(entry, seen.last_message, "message")
    for peer in peers:
        key = str(peer.get("node_id") or "")
        name = by_key.get(key) or str(peer.get("name") or "") or str(peer.get("url", ""))
        entry = node(name)
        entry["peer"] = peer.get("url")
        if key:
            entry["key"] = entry["key"] or key
        if peer.get("kind") in ("native", "legacy"):
            entry["kind"] = peer["kind"]
        for field in ("last_seen", "last_sync"):
            at = peer.get(field)
            _heard(entry, at * 1000 if isinstance(at, int | float) else None, "sync")
    for user in presence:
        entry = node(user.node)
        if user.callsign not in entry["callsigns"]:
            entry["callsigns"].append(user.callsign)
        _heard(entry, user.last_seen, "presence")
    for entry in nodes.values():
        entry["callsigns"].sort()
        entry["users"] = len(entry["callsigns"])
    others = sorted((n for n in nodes.values() if not n["self"]), key=lambda n: n["name"].lower())
    return [me, *others]
