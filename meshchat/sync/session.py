"""One zone's sync with one peer, as the initiator, without I/O (STYLE.md 1, DESIGN §5).

A ``ZoneSession`` is told up front what it needs to know (the zone, this node's storage
window, the reconcile ``since``, the peer's count, a saved bootstrap cursor, whether the
zone was already paged in from this peer during this contact, the frame limit). The
driver then asks it for the next step and does it, until the step is ``Settled``:

- a request to send (``wire.Range``, ``wire.Reconcile``, ``wire.Get``, ``wire.Put``):
  the driver hands the peer's reply (``replies.*Reply``) back with ``receive``;
- ``Ingest``: submit these envelopes to ingest (a driver may do it, and the
  ``SaveCursor`` steps after it, in order in the background while it sends the
  ``wire.Range`` that follows, never past any other step);
- ``Load``: read the envelopes of these ids and hand them back with ``loaded``;
- ``SaveCursor``: store this bootstrap cursor (``None``: the bootstrap finished).

Order: bootstrap pages (when this node is far behind, or a cut bootstrap left a
cursor), then Negentropy rounds, then ``get`` of what this node lacks, then ``put`` of
what the peer lacks. A peer that keeps a session going, pages without advancing, or
sends what was not asked for raises RemoteProtocolError.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Literal, Protocol

from meshchat import records, stubs
from meshchat.errors import LocalProtocolError, RecordRejected, RemoteProtocolError
from meshchat.sync import wire
from meshchat.sync.negentropy import ItemSource, NegentropyInitiator
from meshchat.sync.replies import (
    Envelope,
    FirstsReply,
    GetReply,
    PutReply,
    RangeReply,
    ReconcileReply,
)
from meshchat.sync.steps import Cursor, Ingest, Load, Reply, SaveCursor, Settled, Step

GET_BATCH = 512
PUT_BATCH = 128
PUT_BYTES = 1024 * 1024
RANGE_PAGE = 500
# Page a peer's records in (rather than reconcile first) when it holds this many more.
CATCH_UP_MIN = RANGE_PAGE // 2
# Records posted elsewhere just before our newest may arrive late: page from a bit earlier.
CATCH_UP_SKEW_MS = 10 * 60_000
# Far above any honest exchange (an empty side against 10^5 items with 4 KiB frames is
# ~820 rounds); a peer that keeps a session going past this is cut off.
MAX_ROUNDS = 4000
# The most ids one session holds (wanted plus offered, 2 MiB of ids): past it the session
# stops reconciling and fetches and pushes what it has; the next round goes on from there.
# A peer claiming ids it cannot serve is then caught by its empty ``get`` reply.
MAX_SESSION_IDS = 65_536


class Window(ItemSource, Protocol):
    """This node's items of the zone from ``since`` on (a ``StorageWindow``)."""

    def __len__(self) -> int:
        """Return how many items the window holds."""
        ...

    def newest_ts(self) -> int | None:
        """Return the newest item's timestamp, or None when the window is empty."""
        ...

    def narrowed(self, min_ts: int) -> Window:
        """Return the view of the same items from ``min_ts`` on."""
        ...


_Phase = Literal["firsts", "range", "reconcile", "get", "put", "settled"]
_ANSWER: dict[type, type] = {
    wire.Firsts: FirstsReply,
    wire.Range: RangeReply,
    wire.Reconcile: ReconcileReply,
    wire.Get: GetReply,
    wire.Put: PutReply,
    Load: list,
}


def since_for(now_ms: int, own_horizon_ms: int, peer_horizon_ms: int) -> int:
    """Return the reconcile range start: the later of both horizon starts (DESIGN §2.4)."""
    return max(0, now_ms - min(own_horizon_ms, peer_horizon_ms))


def batches(ids: Sequence[bytes], size: int) -> Iterator[list[bytes]]:
    """Yield ``ids`` in lists of at most ``size``, in order."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def put_batches(envelopes: Iterable[Envelope]) -> Iterator[tuple[Envelope, ...]]:
    """Yield puts of at most ``PUT_BATCH`` envelopes and ``PUT_BYTES`` (a larger one alone)."""
    chunk: list[Envelope] = []
    size = 0
    for env in envelopes:
        n = len(env[0]) + len(env[1])
        if chunk and (len(chunk) >= PUT_BATCH or size + n > PUT_BYTES):
            yield tuple(chunk)
            chunk, size = [], 0
        chunk.append(env)
        size += n
    if chunk:
        yield tuple(chunk)


class ZoneSession:
    """Bootstrap or catch-up, then reconcile, fetch and push one zone with one peer."""

    def __init__(
        self,
        zone: str,
        window: Window,
        *,
        since: int,
        peer_count: int,
        cursor: str | None = None,
        paged_in: bool = False,
        frame_limit: int = 0,
        skip: Collection[bytes] = frozenset(),
        digest: bool = False,
    ) -> None:
        self.zone = zone
        self._digest = digest  # reconcile from one fingerprint of the whole window
        self._skip = skip  # ids not to fetch now (refused here as from the future)
        self.since = since
        self._window = window
        self._frame_limit = frame_limit
        self._ready: deque[Step] = deque()
        self._owed: type | None = None  # the answer the driver must hand back first
        self._initiator: NegentropyInitiator | None = None
        self._have: set[bytes] = set()
        self._need: set[bytes] = set()
        self._rounds = 0
        self._narrowed = False  # started again from the peer's later range start
        self._gone: list[Envelope] = []  # the stubs of deleted records the peer sent
        self._stubs_out: list[Envelope] = []  # ours, put once every record is
        self._gets: Iterator[list[bytes]] = iter(())
        self._asked: tuple[bytes, ...] = ()  # the ids of the get in flight (or left in `more`)
        self._loads: Iterator[list[bytes]] = iter(())
        self._puts: deque[tuple[Envelope, ...]] = deque()
        self._phase: _Phase = "reconcile"
        self._after: tuple[int, bytes] = (since, b"")  # the page asked for starts after this
        # A node far behind its peer (new, or back after a long time away) pages in what
        # it missed, from its own newest record on: reconciling would send every missing
        # id first. Once per contact: the peer's count includes what is past our horizon
        # or refused here, and paging the same records again would only cost airtime.
        held = len(window)
        far = peer_count - held > CATCH_UP_MIN or held * 2 < peer_count
        self._start = (since, b"")  # where paging starts once the firsts are in
        if (far and not paged_in) or cursor:
            newest = window.newest_ts()
            # A node holding next to nothing (its own node record, stamped now) pages the
            # whole range: its newest record says nothing about what it lacks.
            new = held < CATCH_UP_MIN
            start = since if newest is None or new else max(since, newest - CATCH_UP_SKEW_MS)
            saved = Cursor.load(cursor)
            if saved is not None and saved.ts >= start:
                self._phase = "range"
                self._page_after(saved.ts, saved.id)
            elif new:
                # A newcomer first takes in the records that made each callsign claim, in
                # the order its source saw them (docs/decisions.md "Identity").
                self._phase = "firsts"
                self._start = (start, b"")
                self._ready.append(wire.Firsts(zone, since))
            else:  # none, or the horizon moved past it: start there
                self._phase = "range"
                self._page_after(start, b"")

    def next_step(self) -> Step:
        """Return what the driver does next; a request or ``Load`` owes an answer first."""
        if self._owed is not None:
            raise LocalProtocolError(f"hand back the {self._owed.__name__} first")
        if not self._ready:
            self._advance()
        step = self._ready.popleft()
        self._owed = _ANSWER.get(type(step))
        return step

    def receive(self, reply: Reply) -> None:
        """Take the peer's reply to the request last returned by ``next_step``."""
        self._take(type(reply))
        if isinstance(reply, FirstsReply):
            self._gets = batches(list(dict.fromkeys(reply.ids)), GET_BATCH)
        elif isinstance(reply, RangeReply):
            self._on_page(reply)
        elif isinstance(reply, ReconcileReply):
            self._on_reconcile(reply)
        elif isinstance(reply, GetReply):
            self._on_get(reply)
        # A PutReply needs nothing more: the records are safe here either way.

    def loaded(self, envelopes: Sequence[Envelope]) -> None:
        """Take the envelopes a ``Load`` asked for (ids no longer stored are left out).

        Stubs of deleted records go after every record: the peer keeps one only once it
        holds the delete, which may be in a later load.
        """
        self._take(list)
        self._puts.extend(put_batches([e for e in envelopes if e[1]]))
        self._stubs_out.extend(e for e in envelopes if not e[1])

    # -- transitions ------------------------------------------------------------------

    def _take(self, answer: type) -> None:
        if self._owed is not answer:
            owed = "nothing" if self._owed is None else self._owed.__name__
            raise LocalProtocolError(f"got a {answer.__name__}, owed {owed}")
        self._owed = None

    def _page_after(self, ts: int, item_id: bytes) -> None:
        self._after = (ts, item_id)
        self._ready.append(wire.Range(self.zone, ts, item_id, RANGE_PAGE))

    def _on_page(self, reply: RangeReply) -> None:
        if not reply.records:
            self._finish_pages()
            return
        # Checked before anything of the page is taken in or the cursor is saved: a peer
        # that repeats a page, or ends one in a record without a valid cursor, is refused.
        cursor = Cursor.after(self.zone, reply.records[-1])
        if (cursor.ts, cursor.id) <= self._after:
            raise RemoteProtocolError("range: the page does not advance the cursor")
        self._ready += (Ingest(reply.records), SaveCursor(cursor))
        if reply.done:
            self._finish_pages()
        else:
            self._page_after(cursor.ts, cursor.id)

    def _finish_pages(self) -> None:
        self._ready.append(SaveCursor(None))
        self._phase = "reconcile"  # the first message is built once the pages are in

    def _on_reconcile(self, reply: ReconcileReply) -> None:
        assert self._initiator is not None
        self._rounds += 1
        if self._rounds > MAX_ROUNDS:
            raise RemoteProtocolError(f"reconciliation did not finish in {MAX_ROUNDS} rounds")
        if reply.since is not None and reply.since > self.since and not self._narrowed:
            # The peer's history starts later than we asked (its record cap or a shorter
            # horizon): start again from there rather than offer it what it pruned.
            self._narrowed = True
            self.since = reply.since
            self._window = self._window.narrowed(reply.since)
            self._initiator = None  # the next step initiates over the narrowed window
            return
        following, have, need = self._initiator.reconcile(reply.neg)
        self._have.update(have)
        self._need.update(i for i in need if i not in self._skip)
        full = len(self._have) + len(self._need) >= MAX_SESSION_IDS
        if full:
            self._trim_to_cap()
        if following is not None and not full:
            self._ready.append(wire.Reconcile(self.zone, following, self.since))
        else:
            self._phase = "get"
            self._gets = batches(sorted(self._need), GET_BATCH)
            self._loads = batches(sorted(self._have), PUT_BATCH)

    def _trim_to_cap(self) -> None:
        """Keep at most ``MAX_SESSION_IDS`` ids, wanted ones first."""
        need = sorted(self._need)[:MAX_SESSION_IDS]
        self._need = set(need)
        self._have = set(sorted(self._have)[: max(0, MAX_SESSION_IDS - len(need))])

    def _on_get(self, reply: GetReply) -> None:
        asked = set(self._asked)
        if any(records.record_id(signed) not in asked for signed, _ in reply.records):
            raise RemoteProtocolError("get: the peer sent records not asked for")
        if not asked.issuperset(reply.more):
            raise RemoteProtocolError("get: `more` names ids not asked for")
        try:
            gone = [stubs.load_stub(signed) for signed in reply.gone]
        except RecordRejected as exc:
            raise RemoteProtocolError(f"get: a malformed stub in `gone`: {exc.detail}") from None
        if any(stub.id not in asked for stub in gone):
            raise RemoteProtocolError("get: `gone` names records not asked for")
        if len(reply.more) >= len(self._asked) or not (reply.records or gone):
            # It named these ids in its reconcile replies: one that serves none of them
            # claimed what it does not hold (or tries to make us hold a huge id set).
            raise RemoteProtocolError("get: the peer sent nothing for the ids asked")
        if reply.records:
            self._ready.append(Ingest(reply.records))
        # Stubs are kept only in place of what a delete here retracts: after the gets,
        # when the deletes of this session are in.
        self._gone.extend((stub.signed, b"") for stub in gone)
        self._asked = reply.more

    def _advance(self) -> None:
        """Queue the next step of the current phase (nothing is queued or owed)."""
        if self._phase == "firsts":
            ids = self._asked or tuple(next(self._gets, ()))
            if ids:
                self._asked = ids
                self._ready.append(wire.Get(self.zone, ids))
                return
            self._phase = "range"
            self._page_after(*self._start)
            return
        if self._phase == "reconcile" and self._initiator is None:
            # Built now, not when the last page arrived: the window then holds the pages.
            self._initiator = NegentropyInitiator(self._window, self._frame_limit)
            first = self._initiator.initiate(whole=self._digest)
            self._ready.append(wire.Reconcile(self.zone, first, self.since))
            return
        if self._phase == "get":
            ids = self._asked or tuple(next(self._gets, ()))
            if ids:
                self._asked = ids
                self._ready.append(wire.Get(self.zone, ids))
                return
            self._phase = "put"
            if self._gone:
                self._ready.append(Ingest(tuple(self._gone)))
                self._gone = []
                return
        if self._phase == "put":
            if self._puts:
                self._ready.append(wire.Put(self.zone, self._puts.popleft()))
                return
            ids = tuple(next(self._loads, ()))
            if ids:
                self._ready.append(Load(ids))
                return
            if self._stubs_out:
                self._puts.extend(put_batches(self._stubs_out))
                self._stubs_out = []
                self._ready.append(wire.Put(self.zone, self._puts.popleft()))
                return
            self._phase = "settled"
        if self._phase == "settled":
            self._ready.append(Settled(self._rounds, len(self._need), len(self._have)))
            return
        raise LocalProtocolError(f"nothing to do in phase {self._phase}")
