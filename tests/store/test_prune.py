"""Retention: horizon, pinned channels, the record cap, and consistency of derived tables."""

from __future__ import annotations

from nacl.signing import SigningKey

from meshchat.store.db import Store
from meshchat.store.views import MessageQuery
from tests.store.helpers import T0, ZONE, msg, put, rec


async def texts(store: Store, **kw: object) -> list[str]:
    query = MessageQuery(ZONE, limit=500, **kw)  # type: ignore[arg-type]
    return [m.text for m in await store.messages(query)]


async def test_prune_respects_horizon_and_pinned_channels(store: Store, alice: SigningKey) -> None:
    await put(
        store,
        msg(alice, T0, "ancient gossip"),
        msg(alice, T0 + 1, "ancient order", channel="net"),
        rec("channel", alice, T0 + 2, name="net", topic="Net control"),
        msg(alice, T0 + 1000, "fresh news"),
    )
    deleted = await store.prune(ZONE, older_than_ts=T0 + 500, pinned={"net"})
    assert deleted == 1
    assert await texts(store) == ["ancient order", "fresh news"]
    assert await texts(store, q="gossip") == []
    assert await texts(store, q="ancient") == ["ancient order"]
    chans = {c.name: (c.count, c.topic) for c in await store.channels(ZONE)}
    assert chans == {"": (1, ""), "net": (1, "Net control")}
    assert await store.counts() == {ZONE: 3}
    assert await store.prune(ZONE, older_than_ts=T0 + 500, pinned={"net"}) == 0
    assert await store.integrity_check() == "ok"


async def test_prune_keeps_old_edits_of_kept_messages(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    target = msg(alice, T0 + 1000, "kept")
    edit = rec("edit", alice, T0, target=target.id, text="kept and edited")  # skewed clock
    react = rec("react", mallory, T0 + 1, target=target.id, emoji="👍")
    unreact = rec("delete", mallory, T0 + 2, target=react.id)
    orphan = rec("edit", alice, T0 + 3, target=bytes(32), text="x")
    await put(store, target, edit, react, unreact, orphan, msg(alice, T0 + 4, "old"))
    assert await store.prune(ZONE, older_than_ts=T0 + 500, pinned=()) == 2
    assert await store.has([edit.id, react.id, unreact.id, orphan.id]) == {
        edit.id,
        react.id,
        unreact.id,
    }
    view = await store.message(ZONE, target.id)
    assert view is not None and view.text == "kept and edited" and view.reactions == ()


async def test_prune_drops_old_chains_with_their_message(store: Store, alice: SigningKey) -> None:
    target = msg(alice, T0, "old")
    edit = rec("edit", alice, T0 + 1, target=target.id, text="old edited")
    undo = rec("delete", alice, T0 + 2, target=edit.id)
    late = rec("react", alice, T0 + 2000, target=target.id, emoji="x")  # newer, stays
    await put(store, target, edit, undo, late)
    assert await store.prune(ZONE, older_than_ts=T0 + 1000, pinned=()) == 3
    assert await store.has([target.id, edit.id, undo.id, late.id]) == {late.id}
    assert await texts(store, q="old") == []


async def test_prune_max_records_keeps_newest(store: Store, alice: SigningKey) -> None:
    batch = [msg(alice, T0 + i, f"word{i}") for i in range(3000)]
    await put(store, *batch, msg(alice, T0, "pinned", channel="keep"))
    deleted = await store.prune(ZONE, older_than_ts=0, pinned={"keep"}, max_records=100)
    # The newest 100 stay; pinned records stay on top of the cap.
    assert deleted == 2900
    left = await texts(store)
    assert left == ["pinned"] + [f"word{i}" for i in range(2900, 3000)]
    assert await texts(store, q="word5") == []
    assert await texts(store, q="word2999") == ["word2999"]
    assert await store.counts() == {ZONE: 101}
    chans = {c.name: (c.count, c.last_ts) for c in await store.channels(ZONE)}
    assert chans == {"": (100, T0 + 2999), "keep": (1, T0)}
    assert await store.integrity_check() == "ok"


async def test_prune_other_zone_untouched(store: Store, alice: SigningKey) -> None:
    await put(store, msg(alice, T0), rec("msg", alice, T0, zone="Other", callsign="ALICE"))
    assert await store.prune(ZONE, older_than_ts=T0 + 1, pinned=()) == 1
    assert await store.counts() == {"Other": 1}


async def test_a_sequence_number_is_never_given_twice(store: Store, alice: SigningKey) -> None:
    # The newest seq goes with a pruned record; cursors past it must still see the next one.
    await put(store, msg(alice, T0 + 5_000, "kept"), msg(alice, T0, "old, stored last"))
    assert await store.last_seq() == 2
    assert await store.prune(ZONE, older_than_ts=T0 + 1, pinned=()) == 1
    assert await store.last_seq() == 1
    await put(store, msg(alice, T0 + 5_000 + 1, "next"))
    changes = await store.changes(ZONE, after_seq=2, limit=10)
    assert [seq for seq, *_ in changes] == [3]
