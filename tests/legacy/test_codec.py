"""The legacy wire format without sockets: version, bodies, export lines, the window."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshchat import legacyline
from meshchat.legacy import codec
from meshchat.legacyline import LineEntry, LineRefused
from tests.factories import FIXED_TS, legacy_line, make_record


def test_md5_is_32_lowercase_hex() -> None:
    assert codec.md5_hex(b"") == "d41d8cd98f00b204e9800998ecf8427e"
    assert codec.md5_hex(b"ABC") == hashlib.md5(b"ABC").hexdigest()


def test_the_version_sums_ids_as_hex_like_perl() -> None:
    lines = [legacy_line(line_id="0000000a"), legacy_line(line_id="ffffffff")]
    assert codec.version_of(lines) == str(10 + 0xFFFFFFFF)
    assert codec.version_of([]) == "0"
    # Perl counts an id that holds a digit or a lowercase hex letter, all of it, any case.
    assert codec.id_sum_term("ABC1") == 0xABC1
    assert codec.id_sum_term("ABCD") == 0
    assert codec.id_sum_term("zz") == 0


@pytest.mark.parametrize(
    ("body", "version"),
    [
        (b"123", "123"),
        (b"123\n", "123"),  # Lua's trailing newline
        (b"0", "0"),
        (b"", None),
        (b"12a", None),
        (b"<html>", None),
        (b"1" * 21, None),
        (b"123\n\n", None),
    ],
)
def test_a_peers_version_loses_luas_newline_only(body: bytes, version: str | None) -> None:
    assert codec.parse_version(body) == version


def test_a_body_is_lines_each_with_its_newline() -> None:
    assert codec.body_of([]) == b""
    assert codec.body_of(["a", "b"]) == b"a\nb\n"


def test_a_flood_keeps_the_newest_lines_and_counts_the_rest() -> None:
    body = b"".join(b"%d\n" % i for i in range(1200))
    kept, dropped = codec.split_body(body, 1000)
    assert dropped == 200 and len(kept) == 1000 and kept[-1] == b"1199"
    # A line break is \n only: a form feed or a unicode separator is part of a line.
    assert codec.split_body(b"a\x0cb\xe2\x80\xa8c\n\nd", 10) == ([b"a\x0cb\xe2\x80\xa8c", b"d"], 0)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"0badc0de\t1700000000\thi\tW1AW\tn\tpi", "fields"),
        (b"xyz\t1700000000\thi\tW1AW\tn\tpi\t", "id"),
        (b"0badc0de\t17e9\thi\tW1AW\tn\tpi\t", "epoch"),
        (b"0badc0de\t1700000000\thi\r\tW1AW\tn\tpi\t", "break"),
        (b"0badc0de\t1700000000\t\xff\tW1AW\tn\tpi\t", "utf8"),
    ],
)
def test_a_line_that_is_not_one_message_is_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(LineRefused) as info:
        codec.decode_line(raw)
    assert info.value.reason == reason


def test_a_msg_exports_as_a_line_with_entities_and_pack_escaping() -> None:
    record = make_record(
        text='<b>bold</b> & "quoted"\nsecond\tline\r\nthird',
        callsign="W1AW",
        channel="ops",
        node="kd0xyz-pi",
        ts=FIXED_TS + 999,
    )
    line = codec.export_line(record)
    assert line is not None
    text = line.to_line()
    cells = text.split("\t")
    assert cells == [
        record.id_hex[:8],
        str(FIXED_TS // 1000),
        '&lt;b&gt;bold&lt;/b&gt; &amp; \\"quoted\\"\\nsecond line\\nthird',
        "W1AW",
        "kd0xyz-pi",
        "pi",
        "ops",
    ]
    assert "\n" not in text and legacyline.parse(text) == line


def test_channel_and_node_cannot_inject_markup_or_cells() -> None:
    record = make_record(channel="a'b\"<c>&", node="n<1>")
    line = codec.export_line(record)
    assert line is not None
    assert line.channel == "a&#39;b&quot;&lt;c&gt;&amp;"
    assert line.node == "n&lt;1&gt;"


def test_direct_messages_and_other_kinds_are_not_exported() -> None:
    assert codec.export_line(make_record(to="K1ABC")) is None
    assert codec.export_line(make_record("channel")) is None
    assert codec.line_entry(make_record("react")) is None


def test_a_legacy_record_is_its_own_line_verbatim() -> None:
    record = make_record("legacy", epoch=1_700_000_123, line_id="00c0ffee", text='as \\"typed\\"')
    entry = codec.line_entry(record)
    assert entry == LineEntry(1_700_000_123, 0xC0FFEE, record.body["line"])


def entry(epoch: int, lid: int, text: str = "x") -> LineEntry:
    return LineEntry(epoch, lid, legacy_line(epoch=epoch, line_id=f"{lid:08x}", text=text))


def test_the_window_is_the_newest_500_sorted_and_summed_over_exactly_those() -> None:
    entries = [entry(1_700_000_000 + i // 3, i) for i in range(700)]
    window = codec.build_window(list(reversed(entries)))
    assert len(window.lines) == 500
    assert list(window.lines) == [e.line for e in entries[200:]]
    assert window.version == str(sum(range(200, 700)))
    assert window.body == codec.body_of(window.lines)
    assert window.md5 == hashlib.md5(window.body).hexdigest()


def test_the_window_keeps_two_lines_with_one_id_once_each() -> None:
    a, b = entry(5, 7, "one"), entry(5, 7, "two")
    window = codec.build_window([b, a, a])
    assert window.lines == (a.line, b.line)  # same (epoch, id): ordered by the text
    assert window.version == "14"


def test_an_empty_window_has_the_md5_of_nothing() -> None:
    window = codec.build_window([])
    assert (window.body, window.version, window.md5) == (b"", "0", codec.md5_hex(b""))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"version":"1.02","node":"kd0abc","zone":"MeshChat"}', ("kd0abc", "MeshChat")),
        (b'{"version":"1.02","node":"kd0abc","zone":"Bob"s Net"}', ("kd0abc", 'Bob"s Net')),
        (b'{"version":"2.12","node":"n1","zone":"Z","protocol_verison":"1.02"}', ("n1", "Z")),
        (b"<html>", (None, None)),
        (b'{"node": 5}', (None, None)),
    ],
)
def test_config_is_read_even_when_perl_made_invalid_json(
    body: bytes, expected: tuple[str | None, str | None]
) -> None:
    found = codec.parse_config(body)
    assert (found.get("node"), found.get("zone")) == expected


@given(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\\"), max_size=200),
    st.text(max_size=40),
    st.text(max_size=40),
)
def test_no_text_forges_a_line_on_export(text: str, channel: str, node: str) -> None:
    """Whatever a record holds, its export is exactly one line of seven cells."""
    from meshchat import records
    from tests.factories import node_key

    clean = "".join(c for c in channel if c.isprintable())[:64]
    name = "".join(c for c in node if c.isprintable())[:64] or "n"
    body = {"callsign": "W1AW", "channel": clean, "text": text, "node": name}
    record = records.sign(node_key(), "MeshChat", "msg", FIXED_TS, body)
    line = codec.export_line(record)
    assert line is not None
    out = line.to_line()
    assert "\n" not in out and "\r" not in out and out.count("\t") == 6
    assert legacyline.parse(out).message.replace("&lt;", "<").replace("&gt;", ">").replace(
        "&amp;", "&"
    ) == text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")


@pytest.mark.parametrize("name", ["codec.py", "lists.py"])
def test_the_codec_does_no_io(name: str) -> None:
    from tests.test_architecture import IO_MODULES, PACKAGE, imports

    used = {n.split(".")[0] for n in imports(PACKAGE / "legacy" / name)}
    assert not used & IO_MODULES
