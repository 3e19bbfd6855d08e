"""The legacy TSV message line: parsing, unescaping and refusing forged lines."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshchat import legacyline
from meshchat.errors import RemoteProtocolError
from meshchat.legacyline import LegacyLine


def test_parse_fields_and_unescape() -> None:
    line = '0badc0de\t1700000000\tsay \\"hi\\"\\nbye\tW1AW\tnode-1\tpi\tops'
    got = legacyline.parse(line + "\n")
    assert got == LegacyLine(
        "0badc0de", 1_700_000_000, 'say "hi"\nbye', "W1AW", "node-1", "pi", "ops"
    )
    assert got.to_line() == line


def test_empty_channel_and_message() -> None:
    got = legacyline.parse("1\t0\t\tk1abc\tn\tnode\t")
    assert (got.message, got.channel, got.callsign) == ("", "", "k1abc")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "0badc0de\t1700000000\thi\tW1AW\tnode-1\tpi",  # six fields
        "0badc0de\t1700000000\thi\tW1AW\tnode-1\tpi\tops\textra",  # eight
        "xyz\t1700000000\thi\tW1AW\tn\tpi\t",  # id not hex
        "123456789\t1700000000\thi\tW1AW\tn\tpi\t",  # id too long
        "0badc0de\t-5\thi\tW1AW\tn\tpi\t",  # epoch not digits
        "0badc0de\t\thi\tW1AW\tn\tpi\t",
        "0badc0de\t1\thi\tW1\nAW\tn\tpi\t",  # injected line break
        "0badc0de\t1\thi\tW1AW\tn\tpi\tops\r",
        "0badc0de\t1\thi\tW1AW\tn\tpi\t\n\n",
    ],
)
def test_malformed_lines_are_refused(line: str) -> None:
    with pytest.raises(RemoteProtocolError):
        legacyline.parse(line)


def test_fields_that_would_forge_a_line_cannot_be_built() -> None:
    with pytest.raises(RemoteProtocolError):
        LegacyLine("1", 1, "m", "W1AW\tX", "n", "pi", "")
    with pytest.raises(RemoteProtocolError):
        LegacyLine("1", 1, "m", "W1AW", "n", "pi", "ch\n")
    with pytest.raises(RemoteProtocolError):
        LegacyLine("not hex", 1, "m", "W1AW", "n", "pi", "")


def test_unescape_is_left_to_right() -> None:
    assert legacyline.unescape_message("\\\\n") == "\\\n"
    assert legacyline.unescape_message('a\\tb\\"') == 'a\\tb"'
    assert legacyline.escape_message('a\tb\nc"') == 'a b\\nc\\"'


_cell = st.text(st.characters(blacklist_characters="\t\n\r"), max_size=20)


@given(
    st.from_regex(r"[0-9a-f]{1,8}", fullmatch=True),
    st.integers(0, 10**12 - 1),
    st.text(st.characters(blacklist_characters="\t\r\\"), max_size=40),
    _cell,
    _cell,
    _cell,
    _cell,
)
def test_round_trip_without_backslashes(
    msg_id: str, epoch: int, message: str, callsign: str, node: str, platform: str, channel: str
) -> None:
    value = LegacyLine(msg_id, epoch, message, callsign, node, platform, channel)
    assert legacyline.parse(value.to_line()) == value


@given(st.text(max_size=80))
def test_parse_raises_only_remote_protocol_error(text: str) -> None:
    with contextlib.suppress(RemoteProtocolError):
        legacyline.parse(text)
