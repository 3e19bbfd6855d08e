"""Presence changes between nodes, sans-I/O: chains, gaps, whole lists, expiry, digests."""

from __future__ import annotations

import pytest

from meshchat.errors import RemoteProtocolError
from meshchat.presencedelta import MAX_AHEAD_MS, OriginTable, Update, digest

NOW = 1_700_000_000_000


def test_changes_apply_in_order_and_a_gap_asks_for_the_whole_list() -> None:
    table = OriginTable(ttl_ms=300_000)
    whole = Update("far", NOW, None, (("W1AW", "online", 1), ("K1ABC", "away", 2)))
    assert table.apply(whole, NOW, "me", "10.0.0.1") == (True, False)
    change = Update("far", NOW + 5, NOW, (("W1AW", "busy", 1),), ("K1ABC",))
    assert table.apply(change, NOW, "me", "10.0.0.1") == (True, False)
    assert table.origins["far"].users == {"W1AW": ("busy", 1)}
    assert table.apply(change, NOW, "me", "10.0.0.1") == (False, False)  # a repeat
    missed = Update("far", NOW + 20, NOW + 10, (("N0CALL", "online", 3),))
    assert table.apply(missed, NOW, "me", "10.0.0.1") == (False, True)
    (again,) = table.whole()
    assert again.prev is None and again.version == NOW + 5


def test_own_node_and_far_future_versions_are_not_taken() -> None:
    table = OriginTable(ttl_ms=300_000)
    assert table.apply(Update("me", NOW, None, ()), NOW, "me", "x") == (False, False)
    ahead = Update("far", NOW + MAX_AHEAD_MS + 1, None, ())
    assert table.apply(ahead, NOW, "me", "x") == (False, False)


def test_silent_origins_expire_and_digests_follow_versions() -> None:
    table = OriginTable(ttl_ms=1000)
    table.apply(Update("far", NOW, None, (("W1AW", "online", 1),)), NOW, "me", "x")
    assert table.expire(NOW + 999) == []
    assert table.expire(NOW + 1000) == ["far"]
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1}) != digest({"a": 1, "b": 3})


def test_bad_updates_are_refused() -> None:
    for bad in (
        {"node": "far", "v": 0},
        {"node": "far", "v": 5, "prev": 5},
        {"node": "far", "v": 5, "users": [["w1aw", "online", 1]]},
        {"node": "far", "v": 5, "gone": ["W1AW\n"]},
        {"node": "far", "v": 5, "x": 1},
    ):
        with pytest.raises(RemoteProtocolError):
            Update.parse(bad)


def test_keys_say_which_users_sign_with_their_own_and_follow_the_changes() -> None:
    key, other = bytes(range(32)), bytes(32)
    table = OriginTable(ttl_ms=300_000)
    users = (("W1AW", "online", 1), ("K1ABC", "online", 2))
    whole = Update.parse(Update("far", NOW, None, users, keys=(("W1AW", key),)).to_wire())
    assert table.apply(whole, NOW, "me", "x") == (True, False)
    assert table.origins["far"].keys == {"W1AW": key}
    # K1ABC logs in with a key; W1AW comes back callsign-only: its key goes.
    change = Update(
        "far", NOW + 1, NOW, (("W1AW", "away", 1), ("K1ABC", "online", 2)), keys=(("K1ABC", other),)
    )
    table.apply(change, NOW, "me", "x")
    assert table.origins["far"].keys == {"K1ABC": other}
    table.apply(Update("far", NOW + 2, NOW + 1, (), ("K1ABC",)), NOW, "me", "x")
    assert table.origins["far"].keys == {}
    (again,) = table.whole()
    assert again.keys == ()
    for bad in (
        {"node": "far", "v": 5, "users": [["W1AW", "online", 1]], "keys": {"K1ABC": key}},
        {"node": "far", "v": 5, "users": [["W1AW", "online", 1]], "keys": {"W1AW": b"short"}},
        {"node": "far", "v": 5, "keys": []},
    ):
        with pytest.raises(RemoteProtocolError):
            Update.parse(bad)
