"""The peer table: one entry per peer URL with its kind, health, back-off and traffic.

Shared by the native sync, the legacy bridge, discovery and the status page, so it lives
below all of them (docs/architecture.md).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

BACKOFF_BASE_S = 1.0


@dataclass
class Peer:
    """What this node knows about one peer; times are ``time.time()`` seconds."""

    url: str
    source: str
    kind: str = "unknown"  # "native" | "legacy" | "unknown" (not probed or unreachable)
    node_id: str = ""
    name: str = ""
    addresses: tuple[str, ...] = ()  # what its URL resolves to (a contact must match one)
    clock_skew_s: int | None = None  # its clock minus ours, from its last reply's Date
    zones: dict[str, int] = field(default_factory=dict)  # zone -> horizon_ms of the peer
    encodings: tuple[str, ...] = ()  # the sync body codings its info lists (``enc``)
    last_seen: float | None = None
    last_sync: float | None = None
    failures: int = 0
    backoff_s: float = 0.0
    retry_at: float = 0.0
    last_error: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    records_in: int = 0
    records_out: int = 0
    # Bytes of our calls to it by route (both ways), and how often our link to it was
    # pruned to lazy or grafted back to eager, by cause (docs/decisions.md "Dissemination").
    route_bytes: dict[str, int] = field(default_factory=dict)
    link_changes: dict[str, int] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        """Tell whether the peer answered its last call (eager push goes to live peers)."""
        return self.kind == "native" and self.failures == 0

    def succeeded(self, now: float) -> bool:
        """Record an answered call; return True when the peer just came back."""
        came_back = self.failures > 0 or self.last_seen is None
        self.last_seen = now
        self.failures = 0
        self.backoff_s = 0.0
        self.retry_at = 0.0
        self.last_error = ""
        return came_back

    def failed(self, now: float, error: str, cap_s: float, base_s: float = BACKOFF_BASE_S) -> float:
        """Record a failed call; return the jittered exponential back-off before a retry."""
        self.failures += 1
        self.last_error = error[:200]
        delay = base_s * 2 ** min(self.failures - 1, 30) * random.uniform(0.8, 1.2)
        self.backoff_s = round(min(cap_s, delay), 3)  # the jitter never passes the cap
        self.retry_at = now + self.backoff_s
        return self.backoff_s

    def to_status(self) -> dict[str, Any]:
        """Return the peer as ``/api/v1/status`` shows it."""
        return {
            "url": self.url,
            "kind": self.kind,
            "source": self.source,
            "name": self.name,
            "node_id": self.node_id,
            "last_seen": self.last_seen,
            "last_sync": self.last_sync,
            "failures": self.failures,
            "backoff_s": self.backoff_s,
            "last_error": self.last_error,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "records_in": self.records_in,
            "records_out": self.records_out,
            "route_bytes": dict(self.route_bytes),
            "link_changes": dict(self.link_changes),
            "clock_skew_s": self.clock_skew_s,
        }


class PeerTable:
    """Peers by URL, merged from every discovery source."""

    def __init__(self) -> None:
        self._peers: dict[str, Peer] = {}

    def add(self, url: str, source: str) -> tuple[Peer, bool]:
        """Add a peer (or return the known one); tell whether it is new."""
        url = url.rstrip("/")
        peer = self._peers.get(url)
        if peer is not None:
            return peer, False
        peer = Peer(url, source)
        self._peers[url] = peer
        return peer, True

    def remove(self, url: str) -> Peer | None:
        """Forget a peer (its announcement went away); return it if it was known."""
        return self._peers.pop(url.rstrip("/"), None)

    def get(self, url: str) -> Peer | None:
        """Return the peer for ``url``."""
        return self._peers.get(url.rstrip("/"))

    def all(self) -> list[Peer]:
        """Return every peer, in the order they were added."""
        return list(self._peers.values())

    def status(self) -> list[dict[str, Any]]:
        """Return the table as ``/api/v1/status`` shows it."""
        return [p.to_status() for p in self._peers.values()]
