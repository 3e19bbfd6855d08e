"""Message pages: order and paging, search, edits, deletes, reactions, trust, DMs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from meshchat.errors import RemoteProtocolError
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.store.views import MessageQuery, MessageView
from tests.store.helpers import T0, ZONE, msg, put, rec


def q(**kw: object) -> MessageQuery:
    return MessageQuery(ZONE, **kw)  # type: ignore[arg-type]


async def texts(store: Store, **kw: object) -> list[str]:
    return [m.text for m in await store.messages(q(**kw))]


async def one(store: Store, record: Record) -> MessageView:
    view = await store.message(ZONE, record.id)
    assert view is not None
    return view


# --- order and paging -----------------------------------------------------------------------


async def test_windows_are_ascending(store: Store, alice: SigningKey) -> None:
    batch = [msg(alice, T0 + i, f"m{i:02d}") for i in range(20)]
    random.Random(1).shuffle(batch)
    await put(store, *batch)
    assert await texts(store, limit=3) == ["m17", "m18", "m19"]
    ids = {r.body["text"]: r.id for r in batch}
    assert await texts(store, limit=3, before=ids["m10"]) == ["m07", "m08", "m09"]
    assert await texts(store, limit=3, after=ids["m10"]) == ["m11", "m12", "m13"]
    assert await texts(store, limit=3, since_ts=T0 + 4) == ["m04", "m05", "m06"]
    assert await texts(store, limit=3, before=ids["m01"]) == ["m00"]
    assert await texts(store, limit=3, after=ids["m19"]) == []


async def test_unknown_cursor_is_an_error(store: Store, alice: SigningKey) -> None:
    await put(store, msg(alice, T0))
    with pytest.raises(RemoteProtocolError, match="unknown record id"):
        await store.messages(q(before=bytes(32)))
    with pytest.raises(RemoteProtocolError, match="unknown record id"):
        await store.messages(q(after=b"\x01" * 32))


def test_query_validates_on_construction() -> None:
    with pytest.raises(RemoteProtocolError):
        q(limit=0)
    with pytest.raises(RemoteProtocolError):
        q(before=bytes(32), after=bytes(32))
    with pytest.raises(RemoteProtocolError):
        q(dm=("alice", "BOB"))
    with pytest.raises(RemoteProtocolError):
        q(before=b"short")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    stamps=st.lists(st.integers(0, 30), min_size=0, max_size=60),
    limit=st.integers(1, 7),
    backwards=st.booleans(),
)
async def test_paging_covers_everything_once(
    tmp_path_factory: pytest.TempPathFactory,
    alice: SigningKey,
    stamps: list[int],
    limit: int,
    backwards: bool,
) -> None:
    path = tmp_path_factory.mktemp("paging") / "s.db"
    store = await Store.open(path)
    try:
        # Equal timestamps are common; order falls back to the id.
        batch = [msg(alice, T0 + ts, f"m{i}") for i, ts in enumerate(stamps)]
        batch.append(rec("edit", alice, T0 + 1, target=bytes(32), text="x"))  # never shown
        await put(store, *batch)
        expected = sorted((r.ts, r.id.hex()) for r in batch if r.kind == "msg")
        seen: list[tuple[int, str]] = []
        if backwards:
            page = await store.messages(q(limit=limit))
            while page:
                seen[:0] = [(m.ts, m.id) for m in page]
                page = await store.messages(q(limit=limit, before=bytes.fromhex(page[0].id)))
        else:
            page = await store.messages(q(limit=limit, since_ts=0))
            while page:
                seen += [(m.ts, m.id) for m in page]
                page = await store.messages(q(limit=limit, after=bytes.fromhex(page[-1].id)))
        assert seen == expected
    finally:
        await store.close()


async def test_channel_everything_and_dm_views(store: Store, alice: SigningKey) -> None:
    await put(
        store,
        msg(alice, T0, "public", channel="ops"),
        msg(alice, T0 + 1, "everything"),
        msg(alice, T0 + 2, "to bob", to="BOB", channel="ops"),
        msg(alice, T0 + 3, "to carol", to="CAROL"),
        rec("msg", alice, T0 + 4, callsign="BOB", text="to alice", to="ALICE"),
        rec("legacy", alice, T0 + 5000, text="old node", channel="ops"),
    )
    assert await texts(store) == ["public", "everything", "old node"]
    assert await texts(store, channel="ops") == ["public", "old node"]
    assert await texts(store, channel="") == ["everything"]
    assert await texts(store, dm=("ALICE", "BOB")) == ["to bob", "to alice"]
    assert await texts(store, dm=("BOB", "ALICE")) == ["to bob", "to alice"]
    assert await texts(store, dm=("CAROL", "ALICE")) == ["to carol"]
    assert await texts(store, q="bob") == []
    assert await texts(store, dm=("ALICE", "BOB"), q="alice") == ["to alice"]


# --- search ---------------------------------------------------------------------------------


async def test_search_words_prefix_and_hostile_input(store: Store, alice: SigningKey) -> None:
    await put(
        store,
        msg(alice, T0, "Generator fuel at the school"),
        msg(alice, T0 + 1, "Fuel truck arriving OR NOT"),
        msg(alice, T0 + 2, "Café near the river", channel="ops"),
        msg(alice, T0 + 3, 'quote " and star * and NEAR( paren'),
    )
    assert await texts(store, q="fuel") == [
        "Generator fuel at the school",
        "Fuel truck arriving OR NOT",
    ]
    assert await texts(store, q="fuel gen") == ["Generator fuel at the school"]
    assert await texts(store, q="cafe") == ["Café near the river"]
    assert await texts(store, q="café", channel="ops") == ["Café near the river"]
    assert await texts(store, q="café", channel="") == []
    assert await texts(store, q="NEAR(") == [
        "Café near the river",
        'quote " and star * and NEAR( paren',
    ]
    assert await texts(store, q="OR") == ["Fuel truck arriving OR NOT"]
    for hostile in ['"', "*", "NEAR(", "OR", "-", "AND NOT", "a:b", "^x", '"""', "()", "🚒", "ß"]:
        await store.messages(q(q=hostile))  # never an FTS syntax error
    assert await texts(store, q="") == []
    assert await texts(store, q="-fuel") == [
        "Generator fuel at the school",
        "Fuel truck arriving OR NOT",
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=40))
async def test_search_never_fails_on_any_text(store: Store, text: str) -> None:
    await store.messages(q(q=text))


async def test_search_pages_with_cursor(store: Store, alice: SigningKey) -> None:
    batch = [msg(alice, T0 + i, f"alpha {i}") for i in range(10)]
    await put(store, *batch, msg(alice, T0 + 100, "beta"))
    page = await store.messages(q(q="alpha", limit=4))
    assert [m.text for m in page] == ["alpha 6", "alpha 7", "alpha 8", "alpha 9"]
    page = await store.messages(q(q="alpha", limit=4, before=bytes.fromhex(page[0].id)))
    assert [m.text for m in page] == ["alpha 2", "alpha 3", "alpha 4", "alpha 5"]


# --- edits, deletes, reactions --------------------------------------------------------------


async def test_edit_by_author_applies_and_latest_wins(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    target = msg(alice, T0, "original words")
    await put(store, target)
    await put(store, rec("edit", alice, T0 + 20, target=target.id, text="second fix"))
    await put(store, rec("edit", alice, T0 + 10, target=target.id, text="first fix"))
    await put(store, rec("edit", mallory, T0 + 30, target=target.id, text="forged"))
    view = await one(store, target)
    assert (view.text, view.edited) == ("second fix", T0 + 20)
    assert await texts(store, q="second") == ["second fix"]
    assert await texts(store, q="original") == []
    assert await texts(store, q="forged") == []


async def test_edit_and_delete_before_target_apply_when_it_arrives(
    store: Store, alice: SigningKey
) -> None:
    target = msg(alice, T0, "before")
    edit = rec("edit", alice, T0 + 1, target=target.id, text="after edit")
    await put(store, edit)
    await put(store, target)
    view = await one(store, target)
    assert (view.text, view.edited) == ("after edit", T0 + 1)
    assert await texts(store, q="after") == ["after edit"]
    other = msg(alice, T0 + 2, "doomed words")
    await put(store, rec("delete", alice, T0 + 3, target=other.id))
    await put(store, other)
    assert (await one(store, other)).deleted
    assert await texts(store, q="doomed") == []


async def test_delete_hides_text_only_by_author(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    target = msg(alice, T0, "secret plan", mentions=["BOB"], geo=[1, 2])
    await put(store, target, rec("react", mallory, T0 + 1, target=target.id, emoji="👍"))
    await put(store, rec("delete", mallory, T0 + 2, target=target.id))
    view = await one(store, target)
    assert not view.deleted and view.text == "secret plan"
    await put(store, rec("delete", alice, T0 + 3, target=target.id))
    view = await one(store, target)
    assert view.deleted and view.text == "" and view.reactions == ()
    assert view.mentions == () and view.geo is None
    assert await texts(store, q="secret") == []
    assert [m.deleted for m in await store.messages(q())] == [True]


async def test_delete_of_an_edit_restores_the_previous_text(
    store: Store, alice: SigningKey
) -> None:
    target = msg(alice, T0, "v1")
    edit = rec("edit", alice, T0 + 1, target=target.id, text="v2")
    await put(store, target, edit)
    await put(store, rec("delete", alice, T0 + 2, target=edit.id))
    view = await one(store, target)
    assert (view.text, view.edited, view.deleted) == ("v1", None, False)
    assert await texts(store, q="v1") == ["v1"]
    assert await texts(store, q="v2") == []


async def test_reactions_count_dedupe_and_retract(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    target = msg(alice, T0)
    mine = rec("react", alice, T0 + 1, target=target.id, emoji="👍", callsign="ALICE")
    await put(
        store,
        target,
        mine,
        rec("react", alice, T0 + 2, target=target.id, emoji="👍", callsign="ALICE"),
        rec("react", mallory, T0 + 3, target=target.id, emoji="👍", callsign="MAL"),
        rec("react", mallory, T0 + 4, target=target.id, emoji="🔥"),
    )
    mal = rec("react", mallory, T0 + 3, target=target.id, emoji="👍", callsign="MAL")
    view = await one(store, target)
    assert [r.to_json() for r in view.reactions] == [
        # ids[i] is the react record that callsigns[i] would retract
        {
            "emoji": "👍",
            "count": 2,
            "callsigns": ["ALICE", "MAL"],
            "ids": [mine.id_hex, mal.id_hex],
        },
        {"emoji": "🔥", "count": 1, "callsigns": [], "ids": []},
    ]
    # Retracting removes the reaction; a stranger cannot retract it.
    await put(store, rec("delete", mallory, T0 + 5, target=mine.id))
    assert (await one(store, target)).reactions[0].count == 2
    await put(store, rec("delete", alice, T0 + 6, target=mine.id))
    # ALICE's second identical reaction still stands (another record, same key)
    assert (await one(store, target)).reactions[0].count == 2


async def test_retracted_single_reaction_disappears(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    target = msg(alice, T0)
    react = rec("react", mallory, T0 + 1, target=target.id, emoji="👍")
    retract = rec("delete", mallory, T0 + 2, target=react.id)
    await put(store, retract)  # the retraction arrives first
    await put(store, target, react)
    assert (await one(store, target)).reactions == ()


# --- trust ----------------------------------------------------------------------------------


async def test_verified_key_conflict_via_legacy(
    store: Store, node_key: SigningKey, alice: SigningKey, mallory: SigningKey
) -> None:
    other_node = SigningKey(bytes([3]) * 32)
    await store.add_direct_peer(bytes(other_node.verify_key))  # a peer this node synced with
    await put(store, msg(node_key, T0, "via this node", callsign="BOB"))  # node keys never bind
    await put(store, msg(alice, T0 + 1, "real", callsign="ALICE"))
    # Back-dated a month, but seen after alice's: a timestamp takes no callsign over.
    await put(store, msg(mallory, T0 - 30 * 86_400_000, "impostor", callsign="ALICE"))
    await put(store, rec("node", other_node, T0 + 3))
    await put(store, msg(other_node, T0 + 4, "via other node", callsign="CAROL"))
    # A callsign bound to a user key is that key's alone, via a node too.
    await put(store, msg(node_key, T0 + 6, "via claims ALICE", callsign="ALICE"))
    await put(store, rec("legacy", alice, T0 + 5000, text="from legacy", callsign="ALICE"))
    got = {m.text: m.verified for m in await store.messages(q())}
    assert got == {
        "via this node": "via",
        "real": "key",
        "impostor": "conflict",
        "via other node": "via",
        "via claims ALICE": "conflict",
        "from legacy": "legacy",
    }


async def test_a_node_record_alone_makes_no_node(store: Store, mallory: SigningKey) -> None:
    await put(store, rec("node", mallory, T0), msg(mallory, T0 + 1, "me", callsign="MAL"))
    await put(store, msg(mallory, T0 + 2, "and me", callsign="W1AW"))
    got = {m.text: m.verified for m in await store.messages(q())}
    # Not a node here: its records bind callsigns like any user key's (MAL first).
    assert got == {"me": "key", "and me": "key"}
    assert mallory.verify_key.encode() not in store.node_keys


async def test_node_trust_follows_what_direct_peers_vouch_for(
    store: Store, node_key: SigningKey
) -> None:
    near, far, stray = (SigningKey(bytes([b]) * 32) for b in (4, 5, 6))
    hexes = {k: bytes(k.verify_key).hex() for k in (near, far, stray)}
    await put(store, rec("node", far, T0), rec("node", stray, T0))
    await store.note_peer(hexes[near], [hexes[far]])
    # A direct peer without a node record of its own vouches for nothing yet.
    assert bytes(far.verify_key) not in store.node_keys
    await put(store, rec("node", near, T0))
    keys = store.node_keys
    assert {bytes(near.verify_key), bytes(far.verify_key), bytes(node_key.verify_key)} <= keys
    assert bytes(stray.verify_key) not in keys
    # What the peer vouches for is replaced by its next info, and kept across a reopen.
    await store.note_peer(hexes[near], [])
    assert bytes(far.verify_key) not in store.node_keys


async def test_binding_goes_to_the_first_seen_not_the_earliest_ts(
    tmp_path: Path, alice: SigningKey, mallory: SigningKey
) -> None:
    early, late = msg(mallory, T0, "early"), msg(alice, T0 + 1000, "late")
    for first, second in ((early, late), (late, early)):
        store = await Store.open(tmp_path / f"{first.body['text']}.db")
        try:
            await put(store, first)
            await put(store, second)
            got = {m.text: m.verified for m in await store.messages(q())}
            assert got[str(first.body["text"])] == "key"
            assert got[str(second.body["text"])] == "conflict"
            assert await store.disputes(ZONE) == {
                "ALICE": [first.author, second.author],
            }
        finally:
            await store.close()


# --- view shape -----------------------------------------------------------------------------


async def test_views_of_each_kind(store: Store, alice: SigningKey) -> None:
    parent = msg(alice, T0, "parent")
    reply = msg(alice, T0 + 1, "reply", reply_to=parent.id, mentions=["BOB"], geo=[-5, 7])
    shared = rec("file", alice, T0 + 2, callsign="ALICE", caption="the map")
    old = rec("legacy", alice, T0 + 3000, text='line\\none \\"q\\"', callsign="k1abc", node="n1")
    await put(store, parent, reply, shared, old)
    got = {m.kind + m.text: m.to_json() for m in await store.messages(q())}
    r = got["msgreply"]
    assert set(r) == {
        "id", "ts", "zone", "channel", "callsign", "text", "node", "author", "verified",
        "reply_to", "to", "edited", "deleted", "reactions", "kind", "mentions", "geo", "file",
        "hidden",
    }  # fmt: skip
    assert (r["reply_to"], r["mentions"], r["geo"]) == (parent.id.hex(), ["BOB"], [-5, 7])
    assert got["filethe map"]["file"] == {
        "name": "map.png",
        "size": 1234,
        "mime": "image/png",
        "sha256": "00" * 32,
        "caption": "the map",
    }
    legacy = got['legacyline\none "q"']
    assert legacy["author"] == "0" * 64 and legacy["callsign"] == "k1abc"
    assert (legacy["verified"], legacy["node"], legacy["reply_to"]) == ("legacy", "n1", None)
    assert await texts(store, q="map") == ["the map"]
    assert await store.message(ZONE, bytes(32)) is None
    assert await store.message("Other", parent.id) is None
