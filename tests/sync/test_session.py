"""The zone-sync session as an in-memory pair (STYLE.md 2): no sockets, no sleeps.

Each side is a dict of envelopes and a Negentropy storage; the peer answers through
``sync.responder``, the same code as the server's handlers. A pair is pumped until the
session settles (or refuses a hostile peer), like h11's ``ConnectionPair``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from meshchat import records, stubs
from meshchat.clock import wall_ms
from meshchat.errors import LocalProtocolError, PeerError, RecordRejected, RemoteProtocolError
from meshchat.horizon import AGE_SLACK_MS
from meshchat.records import Policy, Record
from meshchat.sync import responder, session, wire
from meshchat.sync.negentropy import NegentropyStorage, encode_varint
from meshchat.sync.replies import (
    Envelope,
    FirstsReply,
    GetReply,
    PutReply,
    RangeReply,
    ReconcileReply,
)
from meshchat.sync.session import ZoneSession, put_batches, since_for
from meshchat.sync.steps import Cursor, Ingest, Load, Reply, Request, SaveCursor, Settled, Step
from meshchat.timing import DAY_MS
from tests.factories import ZONE, make_record

T = TypeVar("T")
KEY = "bootstrap"
Answer = Callable[[Request], Reply]


@dataclass
class MemoryNode:
    """One side of the pair: what a node's store, index and ingest hold, in memory."""

    horizon_days: int = 365
    frame_limit: int = 16 * 1024
    envelopes: dict[bytes, Envelope] = field(default_factory=dict)
    storage: NegentropyStorage = field(default_factory=NegentropyStorage)
    meta: dict[str, str] = field(default_factory=dict)
    rejects: Counter[str] = field(default_factory=Counter)
    took: list[bytes] = field(default_factory=list)  # ids ingested from the peer, in order
    # The record of each first (callsign, author) claim, in arrival order; answered to a
    # ``firsts`` request only when ``serves_firsts`` (most tests leave the step empty).
    claims: dict[tuple[str, bytes], bytes] = field(default_factory=dict)
    serves_firsts: bool = False
    floor: int = 0  # the record cap's floor: nothing older is kept, asked or answered

    @property
    def horizon_ms(self) -> int:
        return self.horizon_days * DAY_MS

    def hold(self, made: Iterable[Record]) -> MemoryNode:
        """Store records as if posted here (no validation: they are the test's own)."""
        for record in made:
            if record.id not in self.envelopes:
                self.envelopes[record.id] = record.envelope
                self.storage.add(record.ts, record.id)
                callsign = record.body.get("callsign")
                if isinstance(callsign, str):
                    self.claims.setdefault((callsign, record.author), record.id)
        return self

    def ingest(self, envelopes: Iterable[Envelope]) -> list[str]:
        """Validate and store like ``Ingestor.submit`` (DESIGN §2.2)."""
        policy = Policy(zones=frozenset({ZONE}), horizon_ms=self.horizon_ms)
        results = []
        for signed, sig in envelopes:
            try:
                record = records.validate(signed, sig, policy, wall_ms())
            except RecordRejected as exc:
                self.rejects[exc.reason] += 1
                results.append(f"reject:{exc.reason}")
                continue
            self.took.append(record.id)
            results.append("dup" if record.id in self.envelopes else "ok")
            self.hold([record])
        return results

    def ids(self) -> set[bytes]:
        return set(self.envelopes)

    def answer(self, request: Request) -> Reply:
        """Answer one request as ``SyncServer`` does, through ``sync.responder``."""
        start = max(0, wall_ms() - self.horizon_ms, self.floor)
        if isinstance(request, wire.Reconcile):
            # As Horizon.reconcile_start: the age horizon with its slack, so a session the
            # initiator started a millisecond earlier is not narrowed by the clock alone.
            aged = wall_ms() - self.horizon_ms - AGE_SLACK_MS
            since = responder.reconcile_since(request.since, max(0, aged, self.floor))
            window = self.storage.window(since)
            return responder.answer_reconcile(
                window, self.frame_limit, request.neg, request.since, since
            )
        if isinstance(request, wire.Get):
            wanted = dict.fromkeys(request.ids)
            found = [self.envelopes[i] for i in wanted if i in self.envelopes]
            return responder.get_reply(request.zone, found)
        if isinstance(request, wire.Firsts):
            return FirstsReply(tuple(self.claims.values()) if self.serves_firsts else ())
        if isinstance(request, wire.Range):
            after = responder.range_start(request, start)
            items = [item for item in self.storage.items() if item > after][: request.limit]
            return responder.range_reply([self.envelopes[i] for _, i in items], request.limit)
        return PutReply(tuple(self.ingest(request.records)))


@dataclass
class SessionPair:
    """``local`` runs a session against ``peer``; ``answer`` may stand in for the peer."""

    local: MemoryNode
    peer: MemoryNode
    steps: list[Step] = field(default_factory=list)
    skip: frozenset[bytes] = frozenset()  # ids the local node refuses to fetch now

    @property
    def sent(self) -> list[Request]:
        return [
            s
            for s in self.steps
            if isinstance(s, wire.Range | wire.Reconcile | wire.Get | wire.Put)
        ]

    def of(self, kind: type[T]) -> list[T]:
        return [s for s in self.steps if isinstance(s, kind)]

    def run(self, answer: Answer | None = None, *, paged_in: bool = False) -> Settled:
        """Pump the session until it settles; every step is kept in ``steps``."""
        local = self.local
        since = since_for(wall_ms(), local.horizon_ms, self.peer.horizon_ms)
        sess = ZoneSession(
            ZONE,
            local.storage.window(since),
            since=since,
            peer_count=len(self.peer.envelopes),
            cursor=local.meta.get(KEY),
            paged_in=paged_in,
            frame_limit=local.frame_limit,
            skip=self.skip,
        )
        answer = answer or self.peer.answer
        for _ in range(100_000):
            step = sess.next_step()
            self.steps.append(step)
            if isinstance(step, Settled):
                return step
            if isinstance(step, Ingest):
                local.ingest(step.envelopes)
            elif isinstance(step, SaveCursor):
                local.meta[KEY] = step.text
            elif isinstance(step, Load):
                sess.loaded([local.envelopes[i] for i in step.ids if i in local.envelopes])
            else:
                sess.receive(answer(step))
        raise AssertionError("the session never settled")


def notes(n: int, *, ts: int | None = None, every: int = 1, text: str = "note") -> list[Record]:
    """Return ``n`` signed messages at ``ts``, ``ts + every``, … (or now, increasing)."""
    return [
        make_record(ts=None if ts is None else ts + i * every, text=f"{text} {i}") for i in range(n)
    ]


def page_sizes(pair: SessionPair) -> list[int]:
    return [len(s.envelopes) for s in pair.of(Ingest)]


# -- honest peers -------------------------------------------------------------------------


def test_one_session_converges_both_ways() -> None:
    common, mine, theirs = notes(30, text="both"), notes(5, text="mine"), notes(7, text="theirs")
    pair = SessionPair(MemoryNode().hold(common + mine), MemoryNode().hold(common + theirs))

    settled = pair.run()

    assert pair.local.ids() == pair.peer.ids() == {r.id for r in common + mine + theirs}
    assert (settled.fetched, settled.pushed) == (7, 5)
    assert not pair.of(wire.Range)  # close enough to reconcile at once
    # Settled: a second session finds nothing to do in one round.
    again = SessionPair(pair.local, pair.peer)
    assert again.run() == Settled(1, 0, 0)
    assert [type(s) for s in again.sent] == [wire.Reconcile]


def test_a_peer_whose_history_starts_later_is_not_offered_what_it_pruned() -> None:
    base = wall_ms() - DAY_MS
    old, recent = notes(40, ts=base, text="old"), notes(5, ts=base + 60_000, text="recent")
    mine = notes(3, text="mine")
    # The peer's record cap pruned ``old``: its history starts just after them.
    peer = MemoryNode(floor=old[-1].ts + 1).hold(recent)
    pair = SessionPair(MemoryNode().hold(old + recent + mine), peer)

    settled = pair.run()

    assert (settled.fetched, settled.pushed) == (0, 3)
    assert peer.ids() == {r.id for r in recent + mine} and not peer.rejects
    first, again, *_ = pair.of(wire.Reconcile)
    assert again.since == old[-1].ts + 1 > (first.since or 0)  # started again, once
    assert SessionPair(pair.local, peer).run().pushed == 0  # and nothing next time


def test_an_empty_node_bootstraps_by_range_then_reconciles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session, "RANGE_PAGE", 16)
    history = notes(40, text="history")
    pair = SessionPair(MemoryNode(), MemoryNode().hold(history))

    pair.run()

    assert pair.local.ids() == pair.peer.ids()
    ranges = pair.of(wire.Range)
    assert len(ranges) == 3 and page_sizes(pair) == [16, 16, 8]
    assert [type(s) for s in pair.sent][3:4] == [wire.Reconcile]  # after the pages
    since = since_for(wall_ms(), DAY_MS * 365, DAY_MS * 365)
    assert ranges[0].after_ts <= since and ranges[0].after_id == b""
    # Each page starts after the last record of the one before, saved before it is asked.
    by_ts = sorted(history, key=lambda r: (r.ts, r.id))
    assert [(r.after_ts, r.after_id) for r in ranges[1:]] == [
        (by_ts[15].ts, by_ts[15].id),
        (by_ts[31].ts, by_ts[31].id),
    ]
    saves = [s.text for s in pair.of(SaveCursor)]
    assert saves[:2] == [Cursor(r.ts, r.id).dump() for r in (by_ts[15], by_ts[31])]
    assert pair.local.meta[KEY] == ""  # finished, not left half-way
    assert not pair.of(wire.Get)  # the pages brought everything


def test_each_page_is_ingested_then_its_cursor_saved_then_the_next_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order ``zonesync`` overlaps: it runs ingest and save behind the next range."""
    monkeypatch.setattr(session, "RANGE_PAGE", 10)
    pair = SessionPair(MemoryNode(), MemoryNode().hold(notes(25, text="history")))

    pair.run()

    paging_and_ranges = [
        type(s).__name__ for s in pair.steps if isinstance(s, Ingest | SaveCursor | wire.Range)
    ]
    pages = ["Ingest", "SaveCursor", "Range"] * 2
    assert paging_and_ranges == ["Range", *pages, "Ingest", "SaveCursor", "SaveCursor"]
    # The bootstrap's last save comes before the reconcile, which waits for it.
    after = pair.steps.index(pair.of(SaveCursor)[-1]) + 1
    assert isinstance(pair.steps[after], wire.Reconcile)


def test_a_newcomer_takes_in_the_first_claims_before_the_pages() -> None:
    """A back-dated impostor is paged in first by ts, but the source saw the real one first."""
    real_key, impostor_key = SigningKey(bytes([21]) * 32), SigningKey(bytes([22]) * 32)
    now = wall_ms()
    real = make_record(key=real_key, ts=now - 1000, callsign="W1AW", text="the real W1AW")
    forged = make_record(key=impostor_key, ts=now - 86_400_000, callsign="W1AW", text="forged")
    history = [real, forged, *notes(30, text="chatter")]
    peer = MemoryNode(serves_firsts=True).hold(history)  # arrival: real before forged
    pair = SessionPair(MemoryNode(), peer)

    pair.run()

    assert pair.local.ids() == peer.ids()
    took = pair.local.took
    assert took.index(real.id) < took.index(forged.id)
    # The firsts came in by get before the first page was asked for.
    first_range = next(i for i, s in enumerate(pair.steps) if isinstance(s, wire.Range))
    first_get = next(i for i, s in enumerate(pair.steps) if isinstance(s, wire.Get))
    assert first_get < first_range


def test_a_node_far_behind_pages_in_only_from_its_newest_minus_the_skew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session, "RANGE_PAGE", 16)
    monkeypatch.setattr(session, "CATCH_UP_MIN", 10)
    minute = 60_000
    day_ago = wall_ms() - DAY_MS
    common = notes(100, ts=day_ago, every=minute, text="old")  # the newest at day_ago + 99 min
    missed = notes(40, text="while away")
    pair = SessionPair(MemoryNode().hold(common), MemoryNode().hold(common + missed))

    pair.run()

    assert pair.local.ids() == pair.peer.ids()
    (first, *_) = pair.of(wire.Range)
    newest = day_ago + 99 * minute
    assert first.after_ts == newest - session.CATCH_UP_SKEW_MS
    # What it missed, plus its records from newest - skew on (that one included): not 140.
    within_skew = session.CATCH_UP_SKEW_MS // minute + 1
    assert sum(page_sizes(pair)) == 40 + within_skew

    # Once per contact: the next session of the same contact reconciles, even when the
    # peer still counts far more (say, records past our horizon or refused here).
    pair.peer.hold(notes(40, text="more"))
    later = SessionPair(pair.local, pair.peer)
    later.run(paged_in=True)
    assert not later.of(wire.Range) and later.of(wire.Get)
    assert pair.local.ids() == pair.peer.ids()


def test_a_cut_bootstrap_resumes_from_its_saved_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "RANGE_PAGE", 10)
    history = notes(35, text="history")
    by_ts = sorted(history, key=lambda r: (r.ts, r.id))
    peer = MemoryNode().hold(history)
    first = SessionPair(MemoryNode(), peer)
    pages = 0

    def cut_after_two_pages(request: Request) -> Reply:
        nonlocal pages
        if isinstance(request, wire.Range):
            pages += 1
            if pages == 3:
                raise PeerError("range: the link went down")
        return peer.answer(request)

    with pytest.raises(PeerError):
        first.run(cut_after_two_pages)
    assert first.local.meta[KEY] == Cursor(by_ts[19].ts, by_ts[19].id).dump()

    resumed = SessionPair(first.local, peer)
    resumed.run(paged_in=True)  # a saved cursor pages on even within the same contact

    (again, *_) = resumed.of(wire.Range)
    assert (again.after_ts, again.after_id) == (by_ts[19].ts, by_ts[19].id)
    assert page_sizes(resumed) == [10, 5]  # the first 20 were not paged again
    assert resumed.local.ids() == peer.ids() and resumed.local.meta[KEY] == ""


def test_a_cursor_the_horizon_moved_past_restarts_at_the_horizon() -> None:
    recent = notes(5, text="recent")
    local = MemoryNode(horizon_days=7)
    local.meta[KEY] = Cursor(wall_ms() - 30 * DAY_MS, bytes(range(32))).dump()
    pair = SessionPair(local, MemoryNode().hold(recent))
    pair.run()
    (first, *_) = pair.of(wire.Range)
    assert first.after_ts >= wall_ms() - 7 * DAY_MS - 60_000
    assert first.after_id == b""
    assert local.ids() == {r.id for r in recent}


def test_a_shorter_horizon_is_neither_fed_nor_asked_older_records() -> None:
    old = notes(30, ts=wall_ms() - 30 * DAY_MS, text="last month")
    recent = notes(5, ts=wall_ms() - DAY_MS, text="yesterday")
    long, short = MemoryNode().hold(old + recent), MemoryNode(horizon_days=7)

    # The short side starts empty and pages in from the long one: only the recent part.
    SessionPair(short, long).run()
    assert short.ids() == {r.id for r in recent}

    # The long side initiates: the range is the later start, so the old records are not
    # offered (no put carries them), nor is anything asked below it.
    short.hold(fresh := notes(3, text="posted on the short node"))
    pair = SessionPair(long, short)
    pair.run()
    old_ids = {r.id for r in old}
    put_ids = {records.record_id(s) for p in pair.of(wire.Put) for s, _ in p.records}
    asked = {i for g in pair.of(wire.Get) for i in g.ids}
    assert not put_ids & old_ids and not asked & old_ids
    assert asked == {r.id for r in fresh}
    assert short.rejects["too_old"] == 0 and short.ids() == {r.id for r in recent + fresh}
    assert {r.id for r in fresh} <= long.ids()


def test_puts_are_split_by_count_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    small = [(bytes([i % 256]) * 10, bytes(64)) for i in range(300)]
    assert [len(c) for c in put_batches(small)] == [128, 128, 44]
    monkeypatch.setattr(session, "PUT_BYTES", 1000)
    big = [(b"x" * 400, bytes(64))] * 5 + [(b"y" * 5000, bytes(64))]
    assert [len(c) for c in put_batches(big)] == [2, 2, 1, 1]  # a larger one goes alone


def test_gets_go_in_batches_following_more(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "GET_BATCH", 4)
    theirs = notes(10, text="theirs")
    common = notes(40, text="both")
    peer = MemoryNode().hold(common + theirs)
    pair = SessionPair(MemoryNode().hold(common), peer)

    def two_at_a_time(request: Request) -> Reply:
        reply = peer.answer(request)
        if isinstance(reply, GetReply):  # as if each reply hit GET_REPLY_BYTES after two
            return GetReply(
                reply.records[:2], tuple(records.record_id(s) for s, _ in reply.records[2:])
            )
        return reply

    pair.run(two_at_a_time)
    gets = [len(g.ids) for g in pair.of(wire.Get)]
    assert gets == [4, 2, 4, 2, 2]
    assert pair.local.ids() == peer.ids()


def test_the_driver_must_answer_in_order() -> None:
    sess = ZoneSession(ZONE, NegentropyStorage().window(0), since=0, peer_count=0)
    step = sess.next_step()
    assert isinstance(step, wire.Reconcile)
    with pytest.raises(LocalProtocolError):
        sess.next_step()  # the reply is owed first
    with pytest.raises(LocalProtocolError):
        sess.receive(GetReply(()))
    with pytest.raises(LocalProtocolError):
        sess.loaded([])
    sess.receive(responder.answer_reconcile(NegentropyStorage().window(0), 0, step.neg))
    assert sess.next_step() == Settled(1, 0, 0)


# -- hostile peers ------------------------------------------------------------------------


def bogus_fingerprint(request: Request) -> Reply:
    """Always claim the whole range differs: an honest initiator would go on forever."""
    assert isinstance(request, wire.Reconcile)
    return ReconcileReply(b"\x61\x00\x00\x01" + bytes(range(16)))


def test_endless_reconcile_rounds_are_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "MAX_ROUNDS", 50)
    shared = notes(40, text="both")
    pair = SessionPair(MemoryNode().hold(shared), MemoryNode().hold(shared))
    with pytest.raises(RemoteProtocolError, match="did not finish in 50 rounds"):
        pair.run(bogus_fingerprint)
    assert len(pair.of(wire.Reconcile)) == 51
    assert not pair.of(wire.Get) and not pair.of(wire.Put)


def test_a_range_that_repeats_its_page_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "RANGE_PAGE", 16)
    peer = MemoryNode().hold(notes(40, text="history"))
    pair = SessionPair(MemoryNode(), peer)
    first_page = peer.answer(wire.Range(ZONE, 0, b"", 16))
    assert isinstance(first_page, RangeReply) and not first_page.done

    def same_page(request: Request) -> Reply:
        return first_page if isinstance(request, wire.Range) else peer.answer(request)

    with pytest.raises(RemoteProtocolError, match="does not advance"):
        pair.run(same_page)
    assert page_sizes(pair) == [16]  # the repeat was not taken in again
    last = records.load_trusted(*first_page.records[-1])
    assert pair.local.meta[KEY] == Cursor(last.ts, last.id).dump()


def _other_zone() -> Envelope:
    return make_record(zone="Elsewhere").envelope


def _beyond_sqlite() -> Envelope:
    signed = records.encode_signed(ZONE, "msg", bytes(32), wire.I64_MAX + 1, {"text": "x"})
    return signed, bytes(64)


@pytest.mark.parametrize(
    "bad",
    [lambda: (b"\xc1 not msgpack", bytes(64)), _other_zone, _beyond_sqlite],
    ids=["garbage", "other-zone", "ts-beyond-i64"],
)
def test_a_page_ending_in_a_bad_record_is_refused_before_anything_is_saved(
    bad: Callable[[], Envelope],
) -> None:
    peer = MemoryNode().hold(notes(10, text="history"))
    pair = SessionPair(MemoryNode(), peer)

    def spoiled(request: Request) -> Reply:
        reply = peer.answer(request)
        if isinstance(reply, RangeReply):
            return RangeReply((*reply.records, bad()), done=False)
        return reply

    with pytest.raises(RemoteProtocolError, match="range: "):
        pair.run(spoiled)
    assert not pair.of(Ingest) and KEY not in pair.local.meta
    assert not pair.local.ids()


def _differing_pair() -> tuple[SessionPair, MemoryNode]:
    shared = notes(30, text="both")
    peer = MemoryNode().hold(shared + notes(3, text="theirs"))
    return SessionPair(MemoryNode().hold(shared), peer), peer


@pytest.mark.parametrize(
    ("forge", "error"),
    [
        (lambda ids, peer: GetReply((), tuple(ids)), "sent nothing"),
        (lambda ids, peer: GetReply((_other_zone(),)), "not asked for"),
        (lambda ids, peer: GetReply((), (bytes(32),)), "`more` names ids not asked"),
        (lambda ids, peer: GetReply((), (), (_stub_of_other(),)), "`gone` names records not"),
        (lambda ids, peer: GetReply((), (), (b"\x93\x01\x02\x03",)), "malformed stub"),
    ],
    ids=["nothing", "other-records", "other-more", "other-gone", "bad-gone"],
)
def test_a_get_answered_with_nothing_or_other_ids_is_refused(
    forge: Callable[[tuple[bytes, ...], MemoryNode], GetReply], error: str
) -> None:
    pair, peer = _differing_pair()

    def forged(request: Request) -> Reply:
        if isinstance(request, wire.Get):
            return forge(request.ids, peer)
        return peer.answer(request)

    with pytest.raises(RemoteProtocolError, match=error):
        pair.run(forged)
    assert not pair.local.took  # nothing of a forged reply was ingested


def _stub_of_other() -> bytes:
    return stubs.stub_of(make_record(text="somebody else's, deleted"))


def test_stubs_the_peer_names_in_gone_are_ingested_after_the_gets() -> None:
    pair, peer = _differing_pair()
    stubbed: list[Envelope] = []

    def deleted_there(request: Request) -> Reply:
        if isinstance(request, wire.Get):
            # The peer's author deleted the first one asked: only its stub is left there.
            first, *rest = request.ids
            found = [peer.envelopes[i] for i in rest if i in peer.envelopes]
            record = records.load_trusted(*peer.envelopes[first])
            stubbed.append((stubs.stub_of(record), b""))
            return GetReply(tuple(found), (), (stubbed[-1][0],))
        return peer.answer(request)

    pair.run(deleted_there)
    ingests = pair.of(Ingest)
    assert stubbed and ingests[-1].envelopes == tuple(stubbed)  # after every get's records
    assert all(sig for ingest in ingests[:-1] for _, sig in ingest.envelopes)


# -- any split of a set of records ---------------------------------------------------------

POOL = notes(60, text="pool")
SIDES = st.sampled_from(["local", "peer", "both", "neither"])


@pytest.mark.timeout(60)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    split=st.lists(SIDES, min_size=len(POOL), max_size=len(POOL)), limit=st.sampled_from([0, 4096])
)
def test_any_split_converges_in_one_session(split: list[str], limit: int) -> None:
    local, peer = MemoryNode(frame_limit=limit), MemoryNode(frame_limit=limit)
    local.hold(r for r, side in zip(POOL, split, strict=True) if side in ("local", "both"))
    peer.hold(r for r, side in zip(POOL, split, strict=True) if side in ("peer", "both"))
    union = local.ids() | peer.ids()
    only_local, only_peer = local.ids() - peer.ids(), peer.ids() - local.ids()
    far_behind = 2 * len(local.envelopes) < len(peer.envelopes)  # CATCH_UP_MIN is far off

    pair = SessionPair(local, peer)
    settled = pair.run()

    assert local.ids() == peer.ids() == union
    assert bool(pair.of(wire.Range)) == far_behind
    # Paging in (from the newest record minus the skew: here, all) leaves nothing to get.
    assert settled.fetched == (0 if far_behind else len(only_peer))
    assert settled.pushed == len(only_local)
    assert not local.rejects and not peer.rejects


def test_a_peer_claiming_huge_id_lists_cannot_make_the_session_hold_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each reply claims many ids the peer does not have: memory stays bounded, then refused."""
    monkeypatch.setattr(session, "MAX_SESSION_IDS", 1000)
    claimed = 5000
    rounds = 0

    def claims_everything(request: Request) -> Reply:
        nonlocal rounds
        if isinstance(request, wire.Reconcile):
            rounds += 1
            fake = b"".join(bytes([rounds % 256]) + i.to_bytes(31, "big") for i in range(claimed))
            # One IdList over the whole range (PROTOCOL.md §4, §7): infinity, no prefix.
            return ReconcileReply(b"\x61\x00\x00\x02" + encode_varint(claimed) + fake)
        return GetReply(())  # and it serves none of them

    local = MemoryNode().hold(notes(5))
    pair = SessionPair(local, MemoryNode())
    with pytest.raises(RemoteProtocolError, match="sent nothing"):
        pair.run(claims_everything)
    asked = [len(g.ids) for g in pair.of(wire.Get)]
    assert rounds == 1  # it stopped reconciling once it held the cap
    assert sum(asked) <= 1000


def test_ids_refused_as_from_the_future_are_not_fetched_again() -> None:
    shared, ahead = notes(20, text="both"), notes(3, text="ahead")
    peer = MemoryNode().hold(shared + ahead)
    pair = SessionPair(MemoryNode().hold(shared), peer, skip=frozenset(r.id for r in ahead))
    pair.run()
    assert not pair.of(wire.Get)  # found missing, but not asked for again
