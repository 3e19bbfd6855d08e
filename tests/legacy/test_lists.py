"""users_raw and local_files_raw: read leniently, written one line each."""

from __future__ import annotations

import pytest

from meshchat.errors import RemoteProtocolError
from meshchat.legacy import lists
from meshchat.legacy.lists import LegacyFile, LegacyUser


def test_users_are_read_leniently() -> None:
    body = (
        b"W1AW\tb0b0b0b0\tnode-1\t1700000000\tnode\n"
        b"K1ABC\tc1c1c1c1\tpi-2\t1700000001\n"  # no platform: Perl needs only 4 cells
        b"error no action\n"
        b"short\tline\n"
        b"BAD\tid\tnode\tnot-a-time\tpi\n"
        b"\n"
        b"\xff\xfe\tid\tnode\t1\tpi\n"
    )
    users = lists.parse_users(body)
    assert [(u.callsign, u.node, u.epoch, u.platform) for u in users] == [
        ("W1AW", "node-1", 1_700_000_000, "node"),
        ("K1ABC", "pi-2", 1_700_000_001, ""),
        ("\ufffd\ufffd", "node", 1, "pi"),
    ]


def test_files_are_read_with_or_without_the_tab_lua_leaves_out() -> None:
    body = (
        b"map.png\tnode-1:8080\t1234\t1795314416\tnode\n"
        b"plan.pdf\tnode-2:8080\t99\t1795314416node\n"  # every Lua version
        b"odd.txt\tnode-3:8080\t1\t1795314416\n"
        b"bad\tnode\tsize\t1\tpi\n"
    )
    files = lists.parse_files(body)
    assert [(f.name, f.node, f.size, f.mtime, f.platform) for f in files] == [
        ("map.png", "node-1:8080", 1234, 1_795_314_416, "node"),
        ("plan.pdf", "node-2:8080", 99, 1_795_314_416, "node"),
        ("odd.txt", "node-3:8080", 1, 1_795_314_416, ""),
    ]


def test_lists_are_bounded() -> None:
    body = b"W1AW\tb\tn\t1\tpi\n" * 5000
    assert len(lists.parse_users(body, max_lines=100)) == 100


def test_written_lines_are_one_line_each() -> None:
    users = [LegacyUser("W1AW", "0a0a0a0a", "me", 1_700_000_000, "pi")]
    assert lists.list_body(users) == b"W1AW\t0a0a0a0a\tme\t1700000000\tpi\n"
    files = [LegacyFile("a b.txt", "me:8080", 3, 4, "pi")]
    assert lists.list_body(files) == b"a b.txt\tme:8080\t3\t4\tpi\n"
    assert lists.list_body([]) == b""


@pytest.mark.parametrize(
    "cells",
    [("W1\tAW", "id", "n", 1, "pi"), ("W1AW", "id\n", "n", 1, "pi"), ("", "id", "n", 1, "pi")],
)
def test_a_user_that_would_forge_a_line_cannot_exist(cells: tuple[str, str, str, int, str]) -> None:
    with pytest.raises(RemoteProtocolError):
        LegacyUser(*cells)


def test_browser_ids_are_stable_hex() -> None:
    assert lists.browser_id("W1AW", "n") == lists.browser_id("W1AW", "n")
    assert len(lists.browser_id("W1AW", "n")) == 8
    assert lists.browser_id("W1AW", "n") != lists.browser_id("W1AW", "m")
