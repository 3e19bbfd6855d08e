"""The record codec (DESIGN §2.1, §2.2): golden bytes, round trips, tampering, rejections."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshchat import records, schemas
from meshchat.errors import RecordRejected
from meshchat.records import Policy
from tests.factories import FIXED_TS, TARGET, ZONE, legacy_line, make_record, node_key, user_key

GOLDEN_BODY = {"text": "hi", "node": "n1", "channel": "", "callsign": "W1AW"}
GOLDEN_AUTHOR = bytes.fromhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
# S of the golden msg record, assembled field by field (DESIGN §2.1).
GOLDEN_S = b"".join(
    [
        b"\x96",  # fixarray of 6
        b"\x01",  # format version 1 (positive fixint)
        b"\xa8MeshChat",  # zone, fixstr 8
        b"\xa3msg",  # kind, fixstr 3
        b"\xc4\x20" + GOLDEN_AUTHOR,  # author, bin8 of 32
        b"\xcf" + FIXED_TS.to_bytes(8, "big"),  # ts 1700000000000 needs uint64
        b"\x84",  # body, fixmap of 4, keys sorted
        b"\xa8callsign\xa4W1AW",
        b"\xa7channel\xa0",
        b"\xa4node\xa2n1",
        b"\xa4text\xa2hi",
    ]
)
GOLDEN_S_HEX = (
    "9601a84d65736843686174a36d7367c42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc"
    "8664125531b8cf0000018bcfe5680084a863616c6c7369676ea457314157a76368616e6e656ca0a46e6f"
    "6465a26e31a474657874a26869"
)
GOLDEN_ID_HEX = "dc32efad982e34bb115007d62a5fcadc50e12a9c7e326b72abc9e8aa0d37e549"
GOLDEN_SIG_HEX = (
    "e941dd637777a9acdfd4f345a6a3b17d49dae537b4ea2db7196c52a46a7d9df2"
    "871e49e103769963b747923f5d7b32386c6e5c9ddfa8d1e659ef8fac4825c907"
)
GOLDEN_LEGACY_ID_HEX = "32d3e0d6d13e3487649b3a799b711f8b42d4100821fc3ca6bc70992ce614d8c7"

POLICY = Policy(zones=frozenset({ZONE}))


def golden() -> records.Record:
    return records.sign(node_key(), ZONE, "msg", FIXED_TS, GOLDEN_BODY)


def reason_of(signed: bytes, sig: bytes, now_ms: int = FIXED_TS, policy: Policy = POLICY) -> str:
    """Return the reason code ``validate`` rejects with (fails if it accepts)."""
    with pytest.raises(RecordRejected) as info:
        records.validate(signed, sig, policy, now_ms)
    return info.value.reason


# --- golden bytes -------------------------------------------------------------------------


def test_golden_bytes_id_and_signature() -> None:
    record = golden()
    assert bytes(node_key().verify_key) == GOLDEN_AUTHOR
    assert record.signed == GOLDEN_S
    assert record.signed.hex() == GOLDEN_S_HEX
    assert record.id.hex() == GOLDEN_ID_HEX == hashlib.sha256(GOLDEN_S).hexdigest()
    assert record.id_hex == GOLDEN_ID_HEX
    assert record.sig.hex() == GOLDEN_SIG_HEX
    assert record.envelope == (GOLDEN_S, bytes.fromhex(GOLDEN_SIG_HEX))
    node_key().verify_key.verify(records.SIG_CONTEXT + record.id, record.sig)
    assert records.validate(GOLDEN_S, record.sig, POLICY, FIXED_TS) == record


def test_golden_bytes_decode_to_the_documented_array() -> None:
    value = msgpack.unpackb(GOLDEN_S, raw=False)
    assert value == [1, ZONE, "msg", GOLDEN_AUTHOR, FIXED_TS, GOLDEN_BODY]
    assert list(value[5]) == sorted(GOLDEN_BODY)


def test_golden_legacy_id_is_the_same_on_every_node() -> None:
    first = records.make_legacy(ZONE, FIXED_TS, legacy_line())
    again = records.make_legacy(ZONE, FIXED_TS, legacy_line())
    assert first.id.hex() == GOLDEN_LEGACY_ID_HEX == again.id_hex
    assert first.author == records.ZERO_AUTHOR and first.sig == records.ZERO_SIG


def test_body_key_order_does_not_change_the_bytes() -> None:
    shuffled = dict(reversed(list(GOLDEN_BODY.items())))
    assert records.sign(node_key(), ZONE, "msg", FIXED_TS, shuffled).signed == GOLDEN_S


def test_load_trusted_returns_the_same_record() -> None:
    record = golden()
    assert records.load_trusted(record.signed, record.sig) == record


# --- round trip of random valid bodies ----------------------------------------------------

CALLSIGN = st.from_regex(r"[A-Z0-9](?:[A-Z0-9/-]{0,18}[A-Z0-9])?", fullmatch=True)
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
PLAIN = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
# Names hold no control characters and no bidirectional overrides (meshchat.schemas).
NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf")), min_size=1, max_size=20)
ID32 = st.binary(min_size=32, max_size=32)
INTS = st.integers(min_value=-(2**63), max_value=2**64 - 1)
SCALARS = st.none() | st.booleans() | INTS | ANY_TEXT | st.binary(max_size=40)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=10,
)
# Keys no kind knows: allowed and kept verbatim (schemas module docstring).
EXTRA = st.dictionaries(st.text(max_size=8).map(lambda k: "x_" + k), VALUES, max_size=3)
GEO = st.tuples(
    st.integers(-90 * schemas.GEO_SCALE, 90 * schemas.GEO_SCALE),
    st.integers(-180 * schemas.GEO_SCALE, 180 * schemas.GEO_SCALE),
).map(list)

BODIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "msg": st.fixed_dictionaries(
        {"callsign": CALLSIGN, "channel": PLAIN, "text": ANY_TEXT, "node": NAME},
        optional={
            "reply_to": ID32,
            "to": CALLSIGN,
            "mentions": st.lists(CALLSIGN, max_size=3),
            "geo": GEO,
        },
    ),
    "edit": st.fixed_dictionaries({"target": ID32, "text": ANY_TEXT}),
    "delete": st.fixed_dictionaries({"target": ID32}),
    "react": st.fixed_dictionaries({"target": ID32, "emoji": NAME}),
    "file": st.fixed_dictionaries(
        {
            "callsign": CALLSIGN,
            "channel": PLAIN,
            "name": NAME,
            "size": st.integers(0, 2**64 - 1),
            "mime": NAME,
            "sha256": ID32,
            "node": NAME,
        },
        optional={"caption": ANY_TEXT},
    ),
    "channel": st.fixed_dictionaries(
        {"name": NAME, "topic": PLAIN},
        optional={"members": st.lists(CALLSIGN, max_size=3), "restricted": st.booleans()},
    ),
    "node": st.fixed_dictionaries({"name": NAME, "platform": NAME, "version": NAME}),
}
SIGNED_KINDS = sorted(BODIES)
FIELD = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf")))


@st.composite
def signed_records(draw: st.DrawFn) -> records.Record:
    kind = draw(st.sampled_from(SIGNED_KINDS))
    body = draw(BODIES[kind]) | draw(EXTRA)
    ts = draw(st.integers(0, 2**64 - 1))
    key = draw(st.sampled_from([node_key(), user_key()]))
    return records.sign(key, draw(NAME), kind, ts, body)


@st.composite
def legacy_records(draw: st.DrawFn) -> records.Record:
    epoch = draw(st.integers(0, 10**12 - 1))
    line = "\t".join(
        [draw(st.from_regex(r"[0-9a-f]{8}", fullmatch=True)), str(epoch)]
        + [draw(FIELD) for _ in range(5)]
    )
    return records.make_legacy(draw(NAME), epoch * 1000, line)


@settings(max_examples=300, deadline=None)
@given(signed_records() | legacy_records())
def test_round_trip_of_every_kind(record: records.Record) -> None:
    again = records.decode(record.signed, record.sig)
    assert again == record
    records.verify(again)
    assert records.encode_signed(*again_fields(again)) == record.signed
    stream = records.dumps_stream([record.envelope, again.envelope])
    assert list(records.read_stream(io.BytesIO(stream))) == [record.envelope] * 2


def again_fields(record: records.Record) -> tuple[str, str, bytes, int, dict[str, Any]]:
    return record.zone, record.kind, record.author, record.ts, dict(record.body)


def test_every_kind_is_covered() -> None:
    assert {*SIGNED_KINDS, "legacy"} == set(schemas.KINDS)


# --- tampering ----------------------------------------------------------------------------

SMALL = records.sign(
    node_key(), "Z", "delete", FIXED_TS, {"target": TARGET}
)  # a small record: 83 bytes of S


@pytest.mark.parametrize("part", ["S", "sig"])
def test_tampering_with_any_byte_is_rejected(part: str) -> None:
    original = SMALL.signed if part == "S" else SMALL.sig
    policy = Policy(zones=frozenset({"Z"}))
    reasons: set[str] = set()
    for index in range(len(original)):
        for mask in (0x01, 0x10, 0x80, 0xFF):
            tampered = bytearray(original)
            tampered[index] ^= mask
            signed, sig = (bytes(tampered), SMALL.sig) if part == "S" else (SMALL.signed, tampered)
            reasons.add(reason_of(signed, bytes(sig), policy=policy))
    allowed = {"decode", "non_canonical", "schema", "kind", "zone", "future", "too_old"}
    assert reasons <= allowed | {"signature"}
    assert "signature" in reasons
    if part == "S":
        assert {"decode", "schema"} <= reasons


def test_truncated_or_extended_s_is_rejected() -> None:
    for cut in range(len(SMALL.signed)):
        assert reason_of(SMALL.signed[:cut], SMALL.sig) in {"decode", "non_canonical"}
    assert reason_of(SMALL.signed + b"\x00", SMALL.sig) == "decode"
    assert reason_of(SMALL.signed, SMALL.sig[:-1]) == "decode"
    assert reason_of(SMALL.signed, SMALL.sig + b"\x00") == "decode"


def test_signature_by_another_key_is_rejected() -> None:
    record = golden()
    forged = user_key().sign(records.SIG_CONTEXT + record.id).signature
    assert reason_of(record.signed, forged) == "signature"
    # A signature over the bare id, without the context prefix, does not count either.
    bare = node_key().sign(record.id).signature
    assert reason_of(record.signed, bare) == "signature"


# --- non-canonical encodings --------------------------------------------------------------


def _swap(old: bytes, new: bytes) -> bytes:
    assert GOLDEN_S.count(old) == 1
    return GOLDEN_S.replace(old, new)


NON_CANONICAL = {
    "unsorted body keys": _swap(
        b"\xa8callsign\xa4W1AW\xa7channel\xa0", b"\xa7channel\xa0\xa8callsign\xa4W1AW"
    ),
    "version as uint8": _swap(b"\x96\x01", b"\x96\xcc\x01"),
    "ts as int64": _swap(b"\xcf\x00\x00\x01", b"\xd3\x00\x00\x01"),
    "zone as str8": _swap(b"\xa8MeshChat", b"\xd9\x08MeshChat"),
    "text as str16": _swap(b"\xa4text\xa2hi", b"\xa4text\xda\x00\x02hi"),
    "author as bin16": _swap(b"\xc4\x20", b"\xc5\x00\x20"),
    "array16 envelope": _swap(b"\x96\x01", b"\xdc\x00\x06\x01"),
    "map16 body": _swap(b"\x84\xa8callsign", b"\xde\x00\x04\xa8callsign"),
}


@pytest.mark.parametrize("name", sorted(NON_CANONICAL))
def test_non_canonical_encoding_is_rejected(name: str) -> None:
    variant = NON_CANONICAL[name]
    assert variant != GOLDEN_S
    assert msgpack.unpackb(variant, raw=False) == msgpack.unpackb(GOLDEN_S, raw=False)
    with pytest.raises(RecordRejected) as info:
        records.decode(variant, golden().sig)
    assert info.value.reason == "non_canonical"


def _with_extra(extra: bytes) -> bytes:
    """Return GOLDEN_S with one more body entry, appended last (sorts after "text")."""
    return _swap(b"\x84\xa8callsign", b"\x85\xa8callsign") + extra


@pytest.mark.parametrize(
    "extra",
    [
        b"\xa1z\xd0\x05",  # 5 as int8 instead of a positive fixint
        b"\xa1z\xd0\xff",  # -1 as int8 instead of a negative fixint
        b"\xa1z\xcd\x00\x7f",  # 127 as uint16
        b"\xa1z\xca\x3f\x80\x00\x00",  # a float32 re-encodes as float64
    ],
)
def test_wide_ints_in_the_body_are_rejected(extra: bytes) -> None:
    with pytest.raises(RecordRejected) as info:
        records.decode(_with_extra(extra), golden().sig)
    assert info.value.reason == "non_canonical"


def test_duplicate_body_keys_are_rejected() -> None:
    variant = _with_extra(b"\xa4text\xa2ho")
    with pytest.raises(RecordRejected) as info:
        records.decode(variant, golden().sig)
    assert info.value.reason == "non_canonical"


def test_mixed_key_types_and_deep_nesting_are_rejected_not_crashing() -> None:
    mixed = _with_extra(b"\xa1z\x82\xa1a\x01\xc4\x01b\x02")  # {"a": 1, b"b": 2}
    deep = _with_extra(b"\xa1z" + b"\x91" * 1000 + b"\x90")
    for variant in (mixed, deep):
        with pytest.raises(RecordRejected) as info:
            records.decode(variant, golden().sig)
        assert info.value.reason == "non_canonical"


def test_bin_sent_as_str_or_str_as_bin_is_a_schema_error() -> None:
    # The msgpack type is part of the value (use_bin_type), so the bytes are canonical for
    # a *different* value; the kind's schema then refuses it.
    author_as_str = _swap(b"\xc4\x20", b"\xd9\x20")
    text_as_bin = _swap(b"\xa4text\xa2hi", b"\xa4text\xc4\x02hi")
    sig = golden().sig
    with pytest.raises(RecordRejected) as info:
        records.decode(text_as_bin, sig)
    assert info.value.reason == "schema"
    with pytest.raises(RecordRejected) as info:
        records.decode(author_as_str, sig)
    assert info.value.reason in {"decode", "schema"}  # not valid UTF-8 in this key


# --- every rejection reason ---------------------------------------------------------------


def test_reason_too_large() -> None:
    body = GOLDEN_BODY | {"text": "x" * records.DEFAULT_MAX_RECORD_BYTES}
    big = records.encode_signed(ZONE, "msg", GOLDEN_AUTHOR, FIXED_TS, body)
    assert reason_of(big, bytes(64)) == "too_large"
    with pytest.raises(RecordRejected) as info:
        records.sign(node_key(), ZONE, "msg", FIXED_TS, body)
    assert info.value.reason == "too_large"
    tight = Policy(zones=POLICY.zones, max_record_bytes=len(GOLDEN_S) - 1)
    assert reason_of(GOLDEN_S, golden().sig, policy=tight) == "too_large"
    small = golden()
    with pytest.raises(RecordRejected) as info:
        records.decode(small.signed, small.sig, max_bytes=len(small.signed) - 1)
    assert info.value.reason == "too_large"
    records.decode(small.signed, small.sig, max_bytes=len(small.signed))


@pytest.mark.parametrize(
    ("signed", "sig"),
    [
        (b"", bytes(64)),
        (b"\xc1", bytes(64)),  # never-used msgpack byte
        (b"\x81\x01\x02", bytes(64)),  # int map key (strict_map_key)
        (msgpack.packb([1, ZONE, "msg"]), bytes(64)),  # not 6 elements
        (msgpack.packb({"a": 1}), bytes(64)),
        (GOLDEN_S.replace(b"\x96\x01", b"\x96\x02"), bytes(64)),  # format version 2
        (GOLDEN_S, bytes(63)),
        ("not bytes", bytes(64)),
    ],
)
def test_reason_decode(signed: Any, sig: bytes) -> None:
    with pytest.raises(RecordRejected) as info:
        records.decode(signed, sig)
    assert info.value.reason == "decode"


@pytest.mark.parametrize(
    "fields",
    [
        ("", "msg", GOLDEN_AUTHOR, FIXED_TS, GOLDEN_BODY),  # empty zone
        ("a\tb", "msg", GOLDEN_AUTHOR, FIXED_TS, GOLDEN_BODY),  # control character in zone
        (ZONE, "msg", GOLDEN_AUTHOR[:31], FIXED_TS, GOLDEN_BODY),  # short author
        (ZONE, "msg", GOLDEN_AUTHOR, -1, GOLDEN_BODY),  # negative ts
        (ZONE, "msg", GOLDEN_AUTHOR, FIXED_TS, {"callsign": "W1AW"}),  # missing keys
        (ZONE, "msg", GOLDEN_AUTHOR, FIXED_TS, GOLDEN_BODY | {"callsign": "w1aw"}),
        (ZONE, "msg", GOLDEN_AUTHOR, FIXED_TS, GOLDEN_BODY | {"geo": [91_000_000, 0]}),
        (ZONE, "msg", records.ZERO_AUTHOR, FIXED_TS, GOLDEN_BODY),  # zero author, not legacy
        (ZONE, "channel", GOLDEN_AUTHOR, FIXED_TS, {"name": "ops", "topic": "a\nb"}),
    ],
)
def test_reason_schema(fields: tuple[Any, ...]) -> None:
    with pytest.raises(RecordRejected) as info:
        records.decode(records.encode_signed(*fields), bytes(64))
    assert info.value.reason == "schema"


def test_reason_schema_for_non_map_body_and_non_str_kind() -> None:
    for value in (
        [1, ZONE, "msg", GOLDEN_AUTHOR, FIXED_TS, []],
        [1, ZONE, 7, GOLDEN_AUTHOR, FIXED_TS, {}],
        [1, ZONE, "msg", GOLDEN_AUTHOR, True, dict(sorted(GOLDEN_BODY.items()))],
    ):
        with pytest.raises(RecordRejected) as info:
            records.decode(msgpack.packb(value, use_bin_type=True), bytes(64))
        assert info.value.reason == "schema"


def test_reason_kind() -> None:
    signed = records.encode_signed(ZONE, "poll", GOLDEN_AUTHOR, FIXED_TS, {"q": "?"})
    with pytest.raises(RecordRejected) as info:
        records.decode(signed, bytes(64))
    assert info.value.reason == "kind"
    with pytest.raises(RecordRejected):
        records.sign(node_key(), ZONE, "poll", FIXED_TS, {})


def test_reason_zone() -> None:
    record = make_record(zone="Elsewhere", ts=FIXED_TS)
    assert reason_of(record.signed, record.sig) == "zone"


def test_reasons_future_and_too_old_at_their_boundaries() -> None:
    now = FIXED_TS
    skew, horizon = POLICY.max_future_skew_ms, POLICY.horizon_ms
    assert horizon is not None
    at_skew = make_record(ts=now + skew)
    records.validate(at_skew.signed, at_skew.sig, POLICY, now)
    ahead = make_record(ts=now + skew + 1)
    assert reason_of(ahead.signed, ahead.sig, now_ms=now) == "future"
    at_horizon = make_record(ts=now - horizon)
    records.validate(at_horizon.signed, at_horizon.sig, POLICY, now)
    old = make_record(ts=now - horizon - 1)
    assert reason_of(old.signed, old.sig, now_ms=now) == "too_old"
    forever = Policy(zones=POLICY.zones, horizon_ms=None)
    records.validate(old.signed, old.sig, forever, now)


def test_reason_signature() -> None:
    record = golden()
    assert reason_of(record.signed, bytes(64)) == "signature"
    assert reason_of(record.signed, records.ZERO_SIG[:-1] + b"\x01") == "signature"


# --- legacy records -----------------------------------------------------------------------


def test_legacy_record_is_unsigned_and_verifies_by_grammar() -> None:
    line = legacy_line(epoch=FIXED_TS // 1000)
    record = records.make_legacy(ZONE, FIXED_TS, line)
    assert record.kind == "legacy"
    assert record.author == bytes(32) and record.sig == bytes(64)
    assert record.body == {"line": line}
    assert record.id == hashlib.sha256(record.signed).digest()
    assert records.validate(record.signed, record.sig, POLICY, FIXED_TS) == record
    made = make_record("legacy", ts=FIXED_TS + 999, text="via the factory")
    assert made.ts == FIXED_TS and made.body["line"].split("\t")[2] == "via the factory"


@pytest.mark.parametrize(
    ("line", "ts"),
    [
        (legacy_line(), FIXED_TS + 1),  # ts is not epoch * 1000
        (legacy_line() + "\textra", FIXED_TS),  # 8 fields
        ("\t".join(legacy_line().split("\t")[:6]), FIXED_TS),  # 6 fields
        (legacy_line(line_id="nothex!!"), FIXED_TS),
        (legacy_line(line_id="123456789"), FIXED_TS),  # id longer than 8
        (legacy_line(text="two\nlines"), FIXED_TS),
        (legacy_line(channel="ch\r"), FIXED_TS),
        (legacy_line().replace("\t1700000000\t", "\t-5\t"), FIXED_TS),
    ],
)
def test_reason_legacy_line(line: str, ts: int) -> None:
    with pytest.raises(RecordRejected) as info:
        records.make_legacy(ZONE, ts, line)
    assert info.value.reason == "legacy_line"


def test_legacy_record_with_an_author_or_signature_is_rejected() -> None:
    good = records.make_legacy(ZONE, FIXED_TS, legacy_line())
    with pytest.raises(RecordRejected) as info:
        records.decode(good.signed, b"\x01" + bytes(63))
    assert info.value.reason == "legacy_line"
    signed = records.encode_signed(ZONE, "legacy", GOLDEN_AUTHOR, FIXED_TS, good.body)
    with pytest.raises(RecordRejected) as info:
        records.decode(signed, bytes(64))
    assert info.value.reason == "legacy_line"
    with pytest.raises(RecordRejected):
        records.sign(node_key(), ZONE, "legacy", FIXED_TS, good.body)


# --- export stream ------------------------------------------------------------------------


def test_export_stream_round_trip() -> None:
    envelopes = [golden().envelope, SMALL.envelope, make_record("legacy").envelope]
    buf = io.BytesIO()
    assert records.write_stream(envelopes, buf) == 3
    assert buf.getvalue() == records.dumps_stream(envelopes)
    assert buf.getvalue().startswith(records.pack_envelope(*envelopes[0]))
    assert list(records.read_stream(io.BytesIO(buf.getvalue()))) == envelopes
    assert list(records.read_stream(io.BytesIO(b""))) == []


def test_export_stream_longer_than_the_read_buffer() -> None:
    many = [make_record(text="x" * 400).envelope for _ in range(300)]
    data = records.dumps_stream(many)
    assert len(data) > 4 * records.DEFAULT_MAX_RECORD_BYTES
    assert list(records.read_stream(io.BytesIO(data))) == many
    with pytest.raises(RecordRejected):
        list(records.read_stream(io.BytesIO(data[:-1])))


def test_truncated_export_stream_is_rejected() -> None:
    envelopes = [golden().envelope, SMALL.envelope]
    data = records.dumps_stream(envelopes)
    last = len(records.pack_envelope(*SMALL.envelope))
    for cut in range(len(data) - last + 1, len(data)):
        with pytest.raises(RecordRejected) as info:
            list(records.read_stream(io.BytesIO(data[:cut])))
        assert info.value.reason == "decode", cut


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xc1",
        b"\xa3abc",  # a str, not an envelope
        b"\x81\xa1a\x01",  # a map
        msgpack.packb([b"s", b"sig", b"more"]),
        msgpack.packb([b"s", "sig"]),
        msgpack.packb([bytes(records.DEFAULT_MAX_RECORD_BYTES + 1), bytes(64)]),
    ],
)
def test_garbage_export_stream_is_rejected(garbage: bytes) -> None:
    with pytest.raises(RecordRejected) as info:
        list(records.read_stream(io.BytesIO(records.dumps_stream([SMALL.envelope]) + garbage)))
    assert info.value.reason == "decode"


def test_unpack_envelope() -> None:
    assert records.unpack_envelope([b"s", b"g"]) == (b"s", b"g")
    assert records.unpack_envelope((b"s", b"g")) == (b"s", b"g")
    for bad in (None, [b"s"], [b"s", "g"], ["s", b"g"], {"s": b"g"}):
        with pytest.raises(RecordRejected):
            records.unpack_envelope(bad)
