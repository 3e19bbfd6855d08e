"""The answering side's pure helpers (shared by the server and the in-memory pair)."""

from __future__ import annotations

from meshchat.sync import responder, wire
from meshchat.sync.replies import GetReply, PutReply, RangeReply, ReconcileReply
from tests.factories import ZONE, make_record


def big(n: int, size: int = 20_000) -> list[tuple[bytes, bytes]]:
    """Return ``n`` envelopes of about ``size`` bytes each."""
    return [make_record(text=f"{i} " + "x" * size).envelope for i in range(n)]


def test_a_get_reply_stops_at_its_byte_cap_and_names_the_rest() -> None:
    found = big(6)  # ~120 KB: three fit in 64 KiB
    reply = responder.get_reply(ZONE, found)
    assert len(reply.records) == 3
    assert sum(len(s) + len(g) for s, g in reply.records) <= wire.GET_REPLY_BYTES
    sent = {s for s, _ in reply.records}
    assert [s for s, _ in found if s not in sent] == [s for s, _ in found[3:]]
    assert len(reply.more) == 3


def test_a_get_reply_always_carries_its_first_record_and_only_its_zone() -> None:
    (huge,) = big(1, 30_000)
    other = make_record(zone="Elsewhere").envelope
    reply = responder.get_reply(ZONE, [other, huge, *big(3, 30_000)])
    assert reply.records[0] == huge  # the other zone's record is skipped, not counted
    assert other not in reply.records and len(reply.records) + len(reply.more) == 4


def test_a_range_page_stops_at_its_byte_cap_and_says_when_it_is_the_last() -> None:
    page = big(20)  # ~400 KB: over RANGE_REPLY_BYTES
    cut = responder.range_reply(page, 20)
    assert 0 < len(cut.records) < 20 and not cut.done
    assert responder.range_reply(page[:5], 20).done  # fewer than asked: nothing left
    assert not responder.range_reply(page[:5], 5).done  # exactly the limit: maybe more


def test_range_start_and_reconcile_since_never_go_below_the_horizon() -> None:
    early = wire.Range(ZONE, 10, bytes(32), 100)
    assert responder.range_start(early, 1000) == (1000, b"")
    late = wire.Range(ZONE, 5000, bytes(32), 100)
    assert responder.range_start(late, 1000) == (5000, bytes(32))
    assert responder.reconcile_since(None, 1000) == 1000
    assert responder.reconcile_since(5000, 1000) == 5000


def test_reply_values_round_trip_their_wire_form() -> None:
    env = make_record().envelope
    for value in (
        ReconcileReply(b"\x61"),
        GetReply((env,), (bytes(32),)),
        RangeReply((env,), False),
        PutReply(("ok", "dup", "reject:schema")),
    ):
        assert type(value).parse(value.to_wire()) == value
