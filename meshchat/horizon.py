"""Where each zone's history starts on this node (DESIGN §2.4).

Two limits prune a zone: its age (``store.max_age_days``) and its size
(``store.max_records``, which keeps the newest records). What either limit pruned the
node must never ask for again, or every round would fetch it and every prune drop it.
So the history of a zone starts at the later of its age horizon and its *floor*, the
timestamp below which the record cap keeps nothing. Ingest refuses records below the
start, the sync server reconciles and pages only above it and says so in ``info``, and
the sync client asks only above it. The floor only rises; retention raises and stores it.
"""

from __future__ import annotations

from collections.abc import Mapping

# The age horizon moves with the clock, a peer's clock differs from ours and a prune runs
# only now and then: a reconcile asked from up to this far before our age horizon is
# honoured (the records there are mostly still held), so two nodes with the same horizon
# agree on the range instead of starting again at every round.
AGE_SLACK_MS = 10 * 60_000


class Horizon:
    """The start of each zone's history: the age horizon or the record cap's floor."""

    def __init__(self, age_ms: int, floors: Mapping[str, int] | None = None) -> None:
        self.age_ms = age_ms
        self._floors = dict(floors or {})

    def start(self, zone: str, now_ms: int) -> int:
        """Return the earliest timestamp of ``zone`` this node keeps (and so asks for)."""
        return max(0, now_ms - self.age_ms, self._floors.get(zone, 0))

    def reconcile_start(self, zone: str, now_ms: int) -> int:
        """Return the earliest range start a peer's reconcile of ``zone`` is answered from."""
        return max(0, now_ms - self.age_ms - AGE_SLACK_MS, self._floors.get(zone, 0))

    def span_ms(self, zone: str, now_ms: int) -> int:
        """Return how far back from ``now_ms`` the zone's history reaches (``info``'s horizon)."""
        return max(0, now_ms - self.start(zone, now_ms))

    def floor(self, zone: str) -> int:
        """Return the record cap's floor of ``zone`` (0: the cap has pruned nothing)."""
        return self._floors.get(zone, 0)

    def raise_floor(self, zone: str, ts: int) -> bool:
        """Raise the floor of ``zone`` to ``ts``; tell whether it rose."""
        if ts <= self._floors.get(zone, 0):
            return False
        self._floors[zone] = ts
        return True
