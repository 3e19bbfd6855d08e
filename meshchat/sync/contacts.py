"""Who called us, from where, and when each last started a reconciliation (docs/decisions.md).

Two peers need only one periodic anti-entropy round between them: it settles both sides,
so the side with the **smaller** node id skips its round when the other has just
reconciled with it, which halves the idle traffic on a radio link. The caller's
``X-Meshchat-Node`` header is not authenticated, so a contact counts only together with
the address it came from: a reconcile claiming another node's id from another address
never makes this node skip a round with that node (issue 11, "spoofed headers").
"""

from __future__ import annotations

from collections.abc import Callable

from meshchat.sync.wire import CONTACT_ID_CHARS

MAX_CONTACTS = 10_000


def plain_address(address: str) -> str:
    """Return an IP address without the IPv4-mapped IPv6 prefix (``::ffff:10.0.0.1``)."""
    return address.removeprefix("::ffff:")


class ContactLog:
    """When each (node id, address) last started a reconciliation with us (server side)."""

    def __init__(self) -> None:
        self._reconciled: dict[tuple[str, str], float] = {}
        # Every caller, for the status page's inbound peers: key -> (node id, last call).
        self._calls: dict[tuple[str, str], tuple[str, float]] = {}
        # Told about every call, so a link that was failing is retried at once.
        self.listener: Callable[[str, str], None] = lambda node_id, address: None

    def heard(self, node_id: str, address: str, now: float, *, reconcile: bool = False) -> None:
        """Note a call (``reconcile``: a reconciliation) claiming ``node_id`` from ``address``."""
        key = (node_id[:CONTACT_ID_CHARS], plain_address(address))
        if len(self._reconciled) > MAX_CONTACTS:  # bound memory under a spray of made-up names
            self._reconciled.clear()
        if len(self._calls) > MAX_CONTACTS:
            self._calls.clear()
        known = self._calls.get(key)
        full = node_id if known is None or len(node_id) >= len(known[0]) else known[0]
        self._calls[key] = (full[:64], now)
        if reconcile:
            self._reconciled[key] = now
        self.listener(*key)

    def since(self, node_id: str, address: str, now: float) -> float | None:
        """Return how long ago that node last reconciled with us from ``address``, or None."""
        when = self._reconciled.get((node_id[:CONTACT_ID_CHARS], plain_address(address)))
        return None if when is None else now - when

    def callers(self, now: float, within_s: float) -> list[tuple[str, str, float]]:
        """Return (node id, address, seconds ago) of callers within ``within_s``, latest first."""
        out = [(nid, addr, now - t) for (_, addr), (nid, t) in self._calls.items()]
        return sorted((c for c in out if c[2] <= within_s), key=lambda c: c[2])
