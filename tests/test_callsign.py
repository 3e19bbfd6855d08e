"""Callsign grammar and normalisation (README "Callsigns")."""

from __future__ import annotations

import pytest

from meshchat import callsign
from meshchat.errors import IdentityError

VALID = ["W1AW", "K1ABC", "VE3/W1AW/P", "EOC-1", "DL1ABC", "4X1AB", "A", "9", "N0CALL-15"]
INVALID = [
    "",
    "w1aw",  # not normalised
    "-W1AW",
    "W1AW-",
    "/W1AW",
    "W1AW/",
    "W1 AW",
    "W1AW.",
    "W1_AW",
    "ÉCLAIR",
    "W1AW\t",
    "A" * 21,
]


@pytest.mark.parametrize("value", VALID)
def test_valid_examples(value: str) -> None:
    assert callsign.is_valid(value)
    assert callsign.normalize(value) == value


@pytest.mark.parametrize("value", INVALID)
def test_invalid_examples(value: str) -> None:
    assert not callsign.is_valid(value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" w1aw ", "W1AW"), ("ve3/w1aw/p", "VE3/W1AW/P"), ("\tk1abc\n", "K1ABC"), ("eoc-1", "EOC-1")],
)
def test_normalize_trims_and_upper_cases(raw: str, expected: str) -> None:
    assert callsign.normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("W1\x00AW", "control"),
        ("W1\tAW", "control"),
        ("W1AW\x7f", "control"),
        ("W1\nAW", "control"),
        ("A" * 21, "longer than 20"),
        ("W1 AW", "letters, digits"),
        ("-EOC", "start and end"),
        ("W1AW<script>", "letters, digits"),
    ],
)
def test_normalize_rejects_with_the_reason(raw: str, why: str) -> None:
    with pytest.raises(IdentityError, match=why):
        callsign.normalize(raw)


def test_length_limit_is_inclusive() -> None:
    assert callsign.normalize("a" * callsign.MAX_CALLSIGN) == "A" * callsign.MAX_CALLSIGN
    assert callsign.is_valid("A" * callsign.MAX_CALLSIGN)
    assert not callsign.is_valid("A" * (callsign.MAX_CALLSIGN + 1))


def test_normalize_rejects_non_strings() -> None:
    with pytest.raises(IdentityError, match="string"):
        callsign.normalize(b"W1AW")  # type: ignore[arg-type]
