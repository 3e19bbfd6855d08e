"""Settle checks: a digest round after new records (docs/decisions.md "Dissemination").

The tree and the announcements deliver nearly every record at once, but a record the
tree missed that no announcement named would wait for anti-entropy (a round with each
peer every ``sync_interval_s``). So once new records have stopped for ``settle_s`` (at
the latest ``settle_max_s`` after the first of them), the node asks ``check`` for one
round with a random peer that starts from a digest: one fingerprint of the whole window,
answered in one small round when both hold the same, reconciled as usual when not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Settler:
    """Calls ``check`` once a burst of new records is over."""

    def __init__(
        self,
        quiet_s: float,
        max_s: float,
        check: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet_s = quiet_s
        self.max_s = max_s
        self.check = check
        self.clock = clock
        self.checks = 0  # how many were asked for (tests and benchmarks read it)
        self._first: float | None = None  # the first new record not yet checked
        self._timer: asyncio.TimerHandle | None = None

    def due(self, now: float) -> float:
        """Return when the check is due, given new records up to ``now``."""
        first = now if self._first is None else self._first
        return min(now + self.quiet_s, first + self.max_s)

    def note(self) -> None:
        """New records arrived: (re)arm the check."""
        now = self.clock()
        at = self.due(now)
        if self._first is None:
            self._first = now
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(max(0.0, at - now), self._fire)

    def _fire(self) -> None:
        self._first = None
        self._timer = None
        self.checks += 1
        self.check()

    def close(self) -> None:
        """Cancel a check still waiting."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._first = None
