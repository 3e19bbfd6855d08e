"""How fast runs may start: a token bucket per rule, and the back-off between retries.

Pure arithmetic on millisecond clocks the caller passes in; nothing here sleeps.
"""

from __future__ import annotations

MINUTE_MS = 60_000
MAX_BACKOFF_MS = 3_600_000


class TokenBucket:
    """At most ``per_minute`` starts a minute, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, now_ms: int) -> None:
        self.per_minute = per_minute
        self.tokens = float(per_minute)
        self.at = now_ms

    def _refill(self, now_ms: int) -> None:
        if now_ms > self.at:
            gained = (now_ms - self.at) * self.per_minute / MINUTE_MS
            self.tokens = min(float(self.per_minute), self.tokens + gained)
            self.at = now_ms

    def take(self, now_ms: int) -> bool:
        """Spend one start if one is left; tell whether it was."""
        self._refill(now_ms)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_ms(self, now_ms: int) -> int:
        """Return how long until the next start is allowed (0: now)."""
        self._refill(now_ms)
        missing = 1 - self.tokens
        return 0 if missing <= 0 else int(missing * MINUTE_MS / self.per_minute) + 1


def backoff_ms(base_s: float, attempts: int) -> int:
    """Return the delay before retry number ``attempts`` (1, 2, …): base, 2 x base, 4 x base…"""
    return min(MAX_BACKOFF_MS, int(base_s * 1000 * 2 ** max(0, attempts - 1)))
