"""Time for record timestamps: a hybrid logical clock in Unix milliseconds (DESIGN §2.1)."""

from __future__ import annotations

import time
from collections.abc import Callable

WallClock = Callable[[], int]
MAX_DRAG_MS = 1000


def wall_ms() -> int:
    """Return the wall clock in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


class HybridClock:
    """Hands out strictly increasing ms timestamps: ``max(wall_ms, last_ts + 1)``.

    A node whose wall clock jumps backwards keeps ordering its own records; one whose
    clock runs ahead is bounded by the peers' ``max_future_skew`` check at ingest.
    """

    def __init__(self, wall: WallClock = wall_ms, max_drag_ms: int = MAX_DRAG_MS) -> None:
        self._wall = wall
        self._last = 0
        self.max_drag_ms = max_drag_ms

    def observe(self, ts: int) -> None:
        """Move the clock past ``ts`` (a timestamp this node has just signed or stored).

        A stamp ahead of the wall clock (a peer's clock runs fast) drags this clock at most
        ``max_drag_ms`` ahead, so this node's next records are not stamped minutes early.
        """
        self._last = max(self._last, min(ts, self._wall() + self.max_drag_ms))

    def now(self) -> int:
        """Return the next timestamp, never equal to or below the previous one."""
        ts = max(self._wall(), self._last + 1)
        self._last = ts
        return ts
