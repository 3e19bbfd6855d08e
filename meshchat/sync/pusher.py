"""Eager push and lazy announcements to one peer (DESIGN §5.2, docs/decisions.md).

New records go out in puts as soon as they commit while the link is **eager**; on a
**lazy** link only their id prefixes go out, batched, in ``ihave`` announcements, and
the peer names what it lacks. The link's mode follows what the peer reports (Plumtree):
a push that brought the peer nothing new makes the link lazy, a push that brought it
something, or an announcement it wanted, makes it eager again. The queues are bounded
and deduplicated by id; what does not fit, or what a failed call carried, is left to
anti-entropy, which delivers it once the peer is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from meshchat.errors import PeerError
from meshchat.records import Record
from meshchat.sync import announce, wire
from meshchat.sync.client import PeerClient
from meshchat.sync.session import put_batches

PUSH_QUEUE = 10_000


def _never_sole(mode: LinkMode) -> bool:
    del mode
    return False


class LinkMode:
    """Whether a link carries whole records (eager) or ids only (lazy); shared both ways.

    ``sole`` tells whether a mode is the node's last live eager link: that one is kept
    through a duplicate, so no node drops out of the tree (docs/decisions.md). Each
    change is counted by its cause in ``changes`` (the status page shows them).
    """

    def __init__(
        self,
        eager: bool = True,
        changes: dict[str, int] | None = None,
        sole: Callable[[LinkMode], bool] = _never_sole,
    ) -> None:
        self.eager = eager
        self.changes = changes if changes is not None else {}
        self.sole = sole

    def set(self, eager: bool, cause: str) -> None:
        """Make the link eager (a graft) or lazy (a prune), counting a change by ``cause``."""
        if eager != self.eager:
            self.eager = eager
            self.changes[cause] = self.changes.get(cause, 0) + 1

    def took(self, results: Sequence[str], keep: bool = False) -> bool:
        """Follow a push's outcome: nothing new → lazy, anything new → eager (Plumtree).

        Not when nothing was new but the other end asks to ``keep`` the link (it is its
        last eager one), or it is our last eager link: then the link stays eager, or is
        grafted when ``keep`` finds it lazy, and True says so. A put of no records with
        ``keep`` is such a graft (the other end kept a link we had pruned).
        """
        if not results or all(r == "dup" for r in results):
            if keep or (results and self.eager and self.sole(self)):
                if self.eager:
                    self.changes["kept"] = self.changes.get("kept", 0) + 1
                self.set(True, "graft_asked")
                return True
            if results:
                self.set(False, "prune_dup")
        elif "ok" in results:
            self.set(True, "graft_new")
        return False


class Pusher:
    """The push and announcement queues of one peer and the loops that drain them."""

    def __init__(
        self,
        client: PeerClient,
        delay_s: float,
        on_failure: Callable[[PeerError], None],
        mode: LinkMode | None = None,
        announce_s: float = 1.0,
    ) -> None:
        self.client = client
        self.delay_s = delay_s  # gather records posted together into one put
        self.announce_s = announce_s  # gather announcements into one ihave
        self.on_failure = on_failure
        self.mode = mode if mode is not None else LinkMode()
        self._pending: dict[bytes, Record] = {}
        self._announce: dict[bytes, Record] = {}  # id prefix -> record
        self._ready = asyncio.Event()
        self._announce_ready = asyncio.Event()
        self._sending = False

    @property
    def idle(self) -> bool:
        """Tell whether nothing is queued and no call is in flight."""
        return not self._pending and not self._announce and not self._sending

    def _accepts(self, record: Record, now_ms: int) -> bool:
        horizon = self.client.peer.zones.get(record.zone)
        # Never offer a peer what its horizon refuses (DESIGN §2.4).
        return horizon is not None and record.ts >= now_ms - horizon

    def offer(self, fresh: Sequence[Record], now_ms: int) -> None:
        """Queue new records for a put."""
        for record in fresh:
            if self._accepts(record, now_ms) and len(self._pending) < PUSH_QUEUE:
                self._pending[record.id] = record
        self.wake()

    def announce(self, fresh: Sequence[Record], now_ms: int) -> None:
        """Queue the ids of new records for an ``ihave``."""
        for record in fresh:
            if self._accepts(record, now_ms) and len(self._announce) < PUSH_QUEUE:
                self._announce[record.id[: announce.ID_PREFIX]] = record
        if self._announce:
            self._announce_ready.set()

    def wake(self) -> None:
        """Send what is queued (the peer answered again after a failure)."""
        if self._pending:
            self._ready.set()
        if self._announce:
            self._announce_ready.set()

    async def run(self) -> None:
        """Send queued records and announcements whenever some wait, until cancelled."""
        await asyncio.gather(self._push_loop(), self._announce_loop())

    async def _push_loop(self) -> None:
        while True:
            await self._ready.wait()
            await asyncio.sleep(self.delay_s)
            self._ready.clear()
            pending, self._pending = self._pending, {}
            by_zone: dict[str, list[tuple[bytes, bytes]]] = {}
            for record in pending.values():
                by_zone.setdefault(record.zone, []).append(record.envelope)
            self._sending = True
            try:
                results: list[str] = []
                keep = False
                for zone, envelopes in by_zone.items():
                    for chunk in put_batches(envelopes):
                        sole = self.mode.eager and self.mode.sole(self.mode)
                        reply = await self.client.push(wire.Put(zone, chunk), keep=sole)
                        results += reply.results
                        keep = keep or reply.keep
                if self.mode.took(results, keep) and not keep:
                    # We kept our last eager link but the other end pruned it: graft it.
                    await self.client.push(wire.Put(zone, ()), keep=True)
            except PeerError as exc:
                # The records are safe here; anti-entropy delivers them once the peer is back.
                self.on_failure(exc)
            finally:
                self._sending = False

    async def _announce_loop(self) -> None:
        while True:
            await self._announce_ready.wait()
            await asyncio.sleep(self.announce_s)
            self._announce_ready.clear()
            told, self._announce = self._announce, {}
            by_zone: dict[str, list[bytes]] = {}
            for prefix, record in told.items():
                by_zone.setdefault(record.zone, []).append(prefix)
            self._sending = True
            try:
                wanted: list[Record] = []
                for zone, prefixes in by_zone.items():
                    for start in range(0, len(prefixes), announce.MAX_IHAVE):
                        part = tuple(prefixes[start : start + announce.MAX_IHAVE])
                        reply = await self.client.ihave(announce.IHave(zone, part))
                        wanted += [told[p] for p in reply.want if p in told]
                if wanted:
                    # The peer missed them: the tree is broken there. Graft the link.
                    self.mode.set(True, "graft_wanted")
                    for record in wanted:
                        self._pending[record.id] = record
                    self._ready.set()
            except PeerError:
                pass  # announcements are hints; anti-entropy is the backstop
            finally:
                self._sending = False
