"""The legacy bridge's counters, shown in ``GET /api/v1/status`` under ``legacy``.

``events`` counts what happened (polls, lines imported, lines that came back, answers
refused for a bad MD5 or size, floods); ``refused`` counts lines refused, by reason: the
line grammar (``fields``, ``id``, ``epoch``, ``break``, ``utf8``) or an ingest reason
(``future``, ``too_old``, ``quota``, ...). docs/legacy-threat-model.md says what each bounds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class LegacyStats:
    """Counters of one node's legacy bridge."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def count(self, event: str, n: int = 1) -> None:
        """Add ``n`` to an event counter (nothing when ``n`` is 0)."""
        if n:
            self.events[event] += n

    def refuse(self, reason: str, n: int = 1) -> None:
        """Count ``n`` lines refused for ``reason``."""
        if n:
            self.refused[reason] += n

    def status(self) -> dict[str, Any]:
        """Return the counters as the status page shows them."""
        events, refused = sorted(self.events.items()), sorted(self.refused.items())
        return {"events": dict(events), "refused": dict(refused)}
