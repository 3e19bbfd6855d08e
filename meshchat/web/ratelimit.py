"""Login budgets: per client address, in all, and a bounded queue of key derivations.

Each address has its own sliding one-minute window, and all addresses share a total one,
so a spray of addresses cannot buy a spray of logins (issue 11). Argon2id costs 64 MiB and
a good part of a second: at most ``KDF_QUEUE`` derivations wait at once, the next login
with a passphrase is told to come back (429) rather than queued behind them.
"""

from __future__ import annotations

import time
from collections import deque

MAX_ADDRESSES = 10_000  # addresses remembered before idle ones are dropped
KDF_QUEUE = 4


class RateLimiter:
    """Sliding windows of attempts: per client address and in all."""

    def __init__(self, per_minute: int, window_s: float = 60.0, total: int = 0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self.total_per_window = total or 10 * per_minute
        self._attempts: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def allow(self, client: str) -> bool:
        """Record an attempt by ``client``; tell whether it is within both limits."""
        now = time.monotonic()
        cutoff = now - self.window_s
        while self._all and self._all[0] <= cutoff:
            self._all.popleft()
        window = self._attempts.setdefault(client, deque())
        while window and window[0] <= cutoff:
            window.popleft()
        if len(window) >= self.per_minute or len(self._all) >= self.total_per_window:
            return False
        window.append(now)
        self._all.append(now)
        if len(self._attempts) > MAX_ADDRESSES:  # bound memory under a spray of addresses
            self._attempts = {k: v for k, v in self._attempts.items() if v and v[-1] > cutoff}
        return True


class KdfQueue:
    """Counts the key derivations waiting or running; refuses one past the bound."""

    def __init__(self, bound: int = KDF_QUEUE) -> None:
        self.bound = bound
        self.waiting = 0

    def enter(self) -> bool:
        """Take a place in the queue; False when it is full."""
        if self.waiting >= self.bound:
            return False
        self.waiting += 1
        return True

    def leave(self) -> None:
        """Give the place back."""
        self.waiting -= 1
