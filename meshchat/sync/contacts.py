"""When each peer last started a reconciliation with us (server side, docs/decisions.md)."""

from __future__ import annotations

from collections.abc import Callable

from meshchat.sync.wire import CONTACT_ID_CHARS


class ContactLog:
    """When each peer last started a reconciliation with us (server side).

    Two peers need only one periodic anti-entropy round between them: it settles both
    sides. The side with the larger node id skips its round when the other side has
    just reconciled with it, which halves the idle traffic on a radio link.
    """

    def __init__(self) -> None:
        self._reconciled: dict[str, float] = {}
        # Told about every call, so a link that was failing is retried at once.
        self.listener: Callable[[str], None] = lambda node_id: None

    def heard(self, node_id: str, now: float, *, reconcile: bool = False) -> None:
        """Note a call (``reconcile``: a reconciliation) from the node ``node_id``."""
        key = node_id[:CONTACT_ID_CHARS]
        if len(self._reconciled) > 10_000:  # bound memory under a spray of made-up names
            self._reconciled.clear()
        if reconcile:
            self._reconciled[key] = now
        self.listener(key)

    def since(self, node_id: str, now: float) -> float | None:
        """Return how long ago that node last reconciled with us, or None."""
        when = self._reconciled.get(node_id[:CONTACT_ID_CHARS])
        return None if when is None else now - when
