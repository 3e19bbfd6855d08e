"""Lines pulled from a legacy peer become ``legacy`` records (LEGACY.md "Mapping").

A peer is untrusted input (docs/legacy-threat-model.md): only the newest ``max_lines`` of an
answer are looked at, each line must pass the line grammar, and what is left goes through
the one ingest path like any record (``future``, ``too_old``, a per-source quota). A line
that is already a line of the zone — a message exported from here coming back, or a
legacy line imported before — is not imported again; two different lines with the same
id are two messages and both are kept. Lines a peer sent before are skipped cheaply.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from meshchat import records
from meshchat.clock import wall_ms
from meshchat.errors import RecordRejected
from meshchat.ingest import Ingestor
from meshchat.legacy import codec
from meshchat.legacy.stats import LegacyStats
from meshchat.legacy.window import ExportWindow
from meshchat.legacyline import LineRefused
from meshchat.store.legacy import LegacyStore, digest

# A line a little ahead of our clock passes once the clock catches up, and the hour's quota
# renews: such refusals are not remembered. A line a day or more ahead is refused for good.
FAR_FUTURE_MS = 86_400_000
# New lines one peer may add per hour of arrival, on top of a burst of ``max_lines`` (a
# whole window at first contact). Unsigned lines need no key: this is what stops a
# hostile peer from filling the log mesh-wide with lines spread over many hours.
IMPORTS_PER_HOUR = 2000


class SeenLines:
    """What this node remembers of one peer's lines: those that need no second look
    (bounded, the oldest forgotten) and how many new ones it may still import now."""

    def __init__(self, cap: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = cap
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._at = clock()
        self.complete = True  # the last answer was taken in whole: nothing left to retry

    def allowance(self, wanted: int) -> int:
        """Take up to ``wanted`` imports from the peer's budget; return how many it has."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * IMPORTS_PER_HOUR / 3600)
        self._at = now
        granted = min(wanted, int(self._tokens))
        self._tokens -= granted
        return granted

    def refund(self, unused: int) -> None:
        """Give back what was granted but not imported (duplicates, refusals)."""
        self._tokens = min(self._burst, self._tokens + unused)

    def __contains__(self, key: bytes) -> bool:
        return key in self._seen

    def add(self, key: bytes) -> None:
        """Remember ``key`` (the SHA-256 of a raw line)."""
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self.cap:
            self._seen.popitem(last=False)


class LineImporter:
    """Turns the lines of a peer's ``messages_raw`` into records of the bridged zone."""

    def __init__(
        self,
        ingestor: Ingestor,
        store: LegacyStore,
        window: ExportWindow,
        zone: str,
        stats: LegacyStats,
        max_lines: int,
    ) -> None:
        self.ingestor = ingestor
        self.store = store
        self.window = window
        self.zone = zone
        self.stats = stats
        self.max_lines = max_lines

    def seen_lines(self) -> SeenLines:
        """Return an empty memory of lines for one peer."""
        return SeenLines(4 * self.max_lines, self.max_lines)

    async def take(self, source: str, body: bytes, seen: SeenLines) -> int:
        """Import what is new in ``body`` from the peer at ``source``; return how many."""
        seen.complete = True
        raws, dropped = codec.split_body(body, self.max_lines)
        self.stats.count("flood", dropped)
        lines: dict[str, bytes] = {}  # verbatim line -> the key it is remembered by
        for raw in raws:
            key = hashlib.sha256(raw).digest()
            if key in seen:
                continue
            try:
                codec.decode_line(raw)
            except LineRefused as exc:
                self.stats.refuse(exc.reason)
                seen.add(key)
                continue
            lines.setdefault(raw.decode("utf-8"), key)
        if not lines:
            return 0
        await self.window.refresh()  # the id map must know every record stored so far
        known = await self.store.known(self.zone, [digest(line) for line in lines])
        fresh: list[tuple[records.Record, bytes]] = []
        for line, key in lines.items():
            exported = known.get(digest(line))
            if exported is not None:
                self.stats.count("returned" if exported else "known")
                seen.add(key)
                continue
            epoch = int(line.split("\t", 2)[1])
            try:
                fresh.append((records.make_legacy(self.zone, epoch * 1000, line), key))
            except RecordRejected as exc:
                self.stats.refuse(exc.reason)
                seen.add(key)
        granted = seen.allowance(len(fresh))
        self.stats.count("rate_limited", len(fresh) - granted)
        seen.complete = granted == len(fresh)
        fresh = fresh[len(fresh) - granted :]  # the newest; the rest wait for the budget
        if not fresh:
            return 0
        results = await self.ingestor.submit([r.envelope for r, _ in fresh], f"legacy:{source}")
        imported, soon = 0, wall_ms() + FAR_FUTURE_MS
        for (record, key), result in zip(fresh, results, strict=True):
            reason = result.removeprefix("reject:")
            if result == "ok":
                imported += 1
            elif result == "dup":
                self.stats.count("known")
            else:
                self.stats.refuse(reason)
            if reason != "quota" and not (reason == "future" and record.ts < soon):
                seen.add(key)
            else:
                seen.complete = False  # worth another look at the next poll
        seen.refund(len(fresh) - imported)
        self.stats.count("imported", imported)
        return imported
