"""Unread counts by message time: old history that arrives late is not unread."""

from __future__ import annotations

from nacl.signing import SigningKey

from meshchat.store.db import Store
from meshchat.store.unread import Floors, unread
from tests.store.helpers import T0, ZONE, msg, put, rec


async def test_counts_only_what_others_wrote_after_each_floor(
    store: Store, alice: SigningKey
) -> None:
    await put(
        store,
        msg(alice, T0, "old in ops", channel="ops", callsign="BOB"),
        msg(alice, T0 + 100, "new in ops", channel="ops", callsign="BOB"),
        msg(alice, T0 + 101, "mine in ops", channel="ops"),
        msg(alice, T0 + 102, "new elsewhere", channel="net", callsign="BOB"),
        msg(alice, T0 + 103, "read already", channel="weather", callsign="BOB"),
        rec("msg", alice, T0 + 104, callsign="BOB", text="dm to alice", to="ALICE"),
        msg(alice, T0 + 105, "dm from alice", to="BOB"),
        rec("msg", alice, T0 + 106, callsign="BOB", text="not alice's", to="CAROL"),
        rec("legacy", alice, T0 + 107_000, text="legacy line", channel="net"),
    )
    floors = Floors(default=T0 + 50, channels={"weather": T0 + 200}, dms={})
    found = await unread(store, ZONE, "ALICE", floors)
    assert (found.channels, found.dms) == ({"ops": 1, "net": 2}, {"BOB": 1})
    assert found.seq == await store.last_seq()
    # Three-month-old records imported later stay below the floor.
    await put(
        store,
        *(
            msg(alice, T0 - 90 * 86_400_000 + i, f"import {i}", channel="ops", callsign="OLD")
            for i in range(78)
        ),
    )
    assert (await unread(store, ZONE, "ALICE", floors)).channels["ops"] == 1
    everything_read = Floors(default=T0 + 10**9, channels={}, dms={})
    nothing = await unread(store, ZONE, "ALICE", everything_read)
    assert (nothing.channels, nothing.dms) == ({}, {})
