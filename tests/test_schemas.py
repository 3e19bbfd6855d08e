"""Body schemas of the record kinds (DESIGN §2.1)."""

from __future__ import annotations

from typing import Any

import pytest

from meshchat import schemas
from meshchat.errors import RecordRejected
from tests.factories import FIXED_TS, TARGET, default_body, legacy_line

AUTHOR = b"\x01" * 32
SIG = b"\x02" * 64


def check(kind: str, body: dict[str, Any]) -> None:
    schemas.check_body(kind, body, author=AUTHOR, sig=SIG, ts=FIXED_TS)


def reason(kind: str, body: dict[str, Any]) -> str:
    with pytest.raises(RecordRejected) as info:
        check(kind, body)
    return info.value.reason


@pytest.mark.parametrize("kind", [k for k in schemas.KINDS if k != "legacy"])
def test_default_bodies_are_valid(kind: str) -> None:
    check(kind, default_body(kind))


@pytest.mark.parametrize("kind", [k for k in schemas.KINDS if k != "legacy"])
def test_every_required_key_is_required(kind: str) -> None:
    for key in default_body(kind):
        body = default_body(kind)
        del body[key]
        assert reason(kind, body) == "schema", key


def test_unknown_keys_are_allowed() -> None:
    check("msg", default_body("msg") | {"x_future": {"nested": [1, None, b"x"]}})


def test_msg_optional_keys() -> None:
    full = default_body("msg") | {
        "reply_to": TARGET,
        "to": "K1ABC",
        "mentions": ["K1ABC", "EOC-1"],
        "geo": [42_360_000, -71_058_000],
    }
    check("msg", full)
    for key, bad in [
        ("reply_to", b"short"),
        ("to", "k1abc"),
        ("mentions", ["K1ABC", "bad call"]),
        ("mentions", ["K1ABC"] * (schemas.MAX_LIST + 1)),
        ("geo", [1.5, 2]),
        ("geo", [0, 180_000_001]),
        ("geo", [True, 0]),
        ("geo", [0]),
    ]:
        assert reason("msg", full | {key: bad}) == "schema", (key, bad)


@pytest.mark.parametrize(
    ("kind", "key", "bad"),
    [
        ("msg", "callsign", "W1AW\t"),
        ("msg", "channel", "a\nb"),
        ("msg", "channel", "c" * (schemas.MAX_NAME + 1)),
        ("msg", "node", ""),
        ("msg", "text", b"bytes"),
        ("edit", "target", "x" * 32),
        ("react", "emoji", ""),
        ("react", "emoji", "e" * (schemas.MAX_EMOJI + 1)),
        ("file", "size", -1),
        ("file", "size", True),
        ("file", "mime", "a\x7fb"),
        ("file", "sha256", bytes(31)),
        ("channel", "topic", "t" * (schemas.MAX_TOPIC + 1)),
        ("channel", "restricted", 1),
        ("node", "version", ""),
    ],
)
def test_bad_values(kind: str, key: str, bad: Any) -> None:
    assert reason(kind, default_body(kind) | {key: bad}) == "schema"


def test_message_text_may_hold_newlines_and_tabs() -> None:
    check("msg", default_body("msg") | {"text": "line 1\nline\t2"})


def test_unknown_kind() -> None:
    assert reason("poll", {}) == "kind"


def test_zero_author_only_for_legacy() -> None:
    with pytest.raises(RecordRejected, match="zero author"):
        schemas.check_body("msg", default_body("msg"), author=bytes(32), sig=SIG, ts=FIXED_TS)
    schemas.check_body(
        "legacy", {"line": legacy_line()}, author=bytes(32), sig=bytes(64), ts=FIXED_TS
    )


def test_zone_and_channel_names() -> None:
    assert schemas.valid_zone("MeshChat")
    assert not schemas.valid_zone("")
    assert not schemas.valid_zone("z" * 65)
    assert not schemas.valid_zone("a\x00")
    assert schemas.valid_channel("")
    assert schemas.valid_channel("ops")
    assert not schemas.valid_channel("a\tb")


def test_hostile_text_in_names_floats_and_legacy_control_characters_are_refused() -> None:
    from meshchat.errors import RecordRejected
    from tests.factories import make_record

    for body in (
        {"name": "ops\u202etxt", "topic": ""},  # an RTL override makes "ops" read otherwise
        {"name": "ops", "topic": "", "extra": 1.5},  # a float in an unknown key
        {"name": "ops", "topic": "", "nested": {"deep": [0.25]}},
    ):
        with pytest.raises(RecordRejected):
            record = make_record("channel", **body)
            schemas.check_body(
                "channel", dict(record.body), author=record.author, sig=record.sig, ts=record.ts
            )
    for line in ("0000000a\t1\thi\tW1AW\tn\x07\tpi\t", "0000000a\t1\thi\x1b[2J\tW1AW\tn\tpi\t"):
        with pytest.raises(RecordRejected, match="control"):
            schemas.check_body("legacy", {"line": line}, author=bytes(32), sig=bytes(64), ts=1000)
    # Right-to-left marks in message text are ordinary writing.
    make_record("msg", text="\u202b\u05e9\u05dc\u05d5\u05dd\u202c")  # RTL embedding, Hebrew
