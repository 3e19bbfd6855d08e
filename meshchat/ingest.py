"""The ingest pipeline: validate envelopes, store them, count rejects, tell subscribers.

Every record enters the log here, whether posted locally, pushed or fetched by sync, or
imported: DESIGN §2.2's checks run cheapest first, signatures off the event loop, and a
record is reported accepted only after its transaction commits.

An envelope with an empty signature is a peer's stub of a deleted record
(``meshchat.stubs``): it is kept only in place of a record a delete here retracts. Stubs,
and records that arrive already deleted, are told only to the subscribers that asked for
them (the sync index): nothing else may show, push or act on words that are gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from meshchat import records, stubs
from meshchat.clock import HybridClock, wall_ms
from meshchat.errors import RecordRejected
from meshchat.horizon import Horizon
from meshchat.records import Policy, Record
from meshchat.store.db import Store

log = logging.getLogger(__name__)

Subscriber = Callable[[Sequence[Record], str], None]
# Below this many envelopes, verifying inline (~0.15 ms each) beats a thread hop.
INLINE_BATCH = 4
# Larger batches are verified in chunks on VERIFY_THREADS threads (PyNaCl releases the
# GIL), and each chunk is stored while the next ones are still being verified.
CHUNK = 256
VERIFY_THREADS = 2
MAX_FUTURE = 10_000  # ids remembered as refused for the future


class Ingestor:
    """Validates and stores records for one node; owns the reject counters."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        clock: HybridClock,
        quota_per_hour: int,
        horizon: Horizon | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        # Below a zone's floor the record cap keeps nothing: refused as past the horizon.
        self.horizon = horizon or Horizon(policy.horizon_ms or 0)
        self.clock = clock
        self.quota_per_hour = quota_per_hour
        self.rejects: Counter[str] = Counter()
        self._subscribers: list[tuple[Subscriber, bool]] = []
        self._executor: ThreadPoolExecutor | None = None
        # Records refused for a timestamp ahead of our clock, by id: sync does not fetch
        # them again until they would be accepted (id -> ts).
        self._future: dict[bytes, int] = {}

    def subscribe(self, subscriber: Subscriber, *, gone: bool = False) -> None:
        """Call ``subscriber(records, origin)`` with every batch of newly stored records.

        With ``gone``, also with the stubs kept (records that are in the log but whose
        words are not); without it, a record that arrived already deleted is not told.
        """
        self._subscribers.append((subscriber, gone))

    async def close(self) -> None:
        """Stop the verification thread (if one was started) without blocking the loop."""
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=True)

    async def submit(self, envelopes: Sequence[tuple[bytes, bytes]], origin: str) -> list[str]:
        """Validate and store envelopes; return "ok" | "dup" | "reject:<reason>" for each."""
        now = wall_ms()
        if len(envelopes) <= INLINE_BATCH:
            checked = [self._above_floor(r) for r in _validate_all(envelopes, self.policy, now)]
            valid = [r for r in checked if isinstance(r, Record)]
            stored = await self._store(valid, origin) if valid else []
        else:
            checked, stored = await self._pipelined(envelopes, origin, now)
        results: list[str] = []
        outcome = iter(stored)
        for envelope, item in zip(envelopes, checked, strict=True):
            result = next(outcome) if isinstance(item, Record) else f"reject:{item}"
            if result.startswith("reject:"):
                self.rejects[result.removeprefix("reject:")] += 1
            if result == "reject:future":
                self._note_future(envelope)
            results.append(result)
        return results

    def _above_floor(self, item: Record | str) -> Record | str:
        if isinstance(item, Record) and item.ts < self.horizon.floor(item.zone):
            return "too_old"
        return item

    async def _pipelined(
        self, envelopes: Sequence[tuple[bytes, bytes]], origin: str, now: int
    ) -> tuple[list[Record | str], list[str]]:
        """Verify chunks on the threads while storing each verified one, in order."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                VERIFY_THREADS, thread_name_prefix="meshchat-verify"
            )
        loop = asyncio.get_running_loop()
        size = max(INLINE_BATCH, min(CHUNK, -(-len(envelopes) // VERIFY_THREADS)))
        futures = [
            loop.run_in_executor(
                self._executor, _validate_all, envelopes[i : i + size], self.policy, now
            )
            for i in range(0, len(envelopes), size)
        ]
        checked: list[Record | str] = []
        stored: list[str] = []
        try:
            for future in futures:
                part = [self._above_floor(r) for r in await future]
                checked += part
                valid = [r for r in part if isinstance(r, Record)]
                if valid:
                    stored += await self._store(valid, origin)
        except BaseException:
            for future in futures:
                future.cancel()
            await asyncio.gather(*futures, return_exceptions=True)
            raise
        return checked, stored

    def _note_future(self, envelope: tuple[bytes, bytes]) -> None:
        if len(self._future) >= MAX_FUTURE:
            self.refused_future()  # drops what is due; if still full, forget the oldest
            if len(self._future) >= MAX_FUTURE:
                self._future.pop(next(iter(self._future)))
        self._future[records.record_id(envelope[0])] = records.load_trusted(*envelope).ts

    def refused_future(self) -> frozenset[bytes]:
        """Return the ids refused as from the future that would still be refused now."""
        limit = wall_ms() + self.policy.max_future_skew_ms
        self._future = {i: ts for i, ts in self._future.items() if ts > limit}
        return frozenset(self._future)

    async def add_local(self, record: Record) -> str:
        """Store a record signed on this node; return "ok" or "dup" after the commit."""
        records.check_policy(record, self.policy, wall_ms())
        (result,) = await self._store([record], "local")
        if result.startswith("reject:"):
            reason = result.removeprefix("reject:")
            self.rejects[reason] += 1
            raise RecordRejected(reason, "local record refused by the store")
        return result

    async def _store(self, valid: Sequence[Record], origin: str) -> list[str]:
        now = wall_ms()
        signed = [r for r in valid if not r.gone]
        buried = [r for r in valid if r.gone]
        results, gone = await self.store.insert_records(
            signed, origin=origin, received_at_ms=now, quota_per_hour=self.quota_per_hour
        )
        kept = await self.store.bury(buried, origin=origin, received_at_ms=now)
        outcome = {False: iter(results), True: iter(kept)}
        stored = [next(outcome[r.gone]) for r in valid]
        fresh = [r for r, res in zip(valid, stored, strict=True) if res == "ok"]
        real = [r.ts for r in fresh if not r.gone]
        if real:
            self.clock.observe(max(real))
        if fresh:
            self._tell(fresh, origin, gone)
        return stored

    def _tell(self, fresh: Sequence[Record], origin: str, gone: set[bytes]) -> None:
        words = [r for r in fresh if not r.gone and r.id not in gone]
        for subscriber, wants_gone in self._subscribers:
            batch = fresh if wants_gone else words
            if not batch:
                continue
            try:
                subscriber(batch, origin)
            except Exception:  # one broken subscriber must not cost the others the record
                log.exception("record subscriber %r failed", subscriber)


def _validate_all(
    envelopes: Sequence[tuple[bytes, bytes]], policy: Policy, now: int
) -> list[Record | str]:
    """Validate each envelope; a Record where it passed, else its reject reason."""
    out: list[Record | str] = []
    for signed, sig in envelopes:
        try:
            if sig == b"":  # a peer's stub of a deleted record
                stub = stubs.load_stub(signed)
                records.check_policy(stub, policy, now)
                out.append(stub)
            else:
                out.append(records.validate(signed, sig, policy, now))
        except RecordRejected as exc:
            out.append(exc.reason)
    return out
