"""Deleted records keep only their stub, whichever arrived first; peers' stubs only by a delete."""

from __future__ import annotations

from nacl.signing import SigningKey

from meshchat import stubs
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.store.views import MessageQuery
from tests.store.helpers import NOW, T0, ZONE, msg, put, rec


async def held(store: Store, record: Record) -> Record:
    found = await store.get_record(record.id)
    assert found is not None
    return found


async def bury(store: Store, *gone: Record) -> list[str]:
    return await store.bury(
        [stubs.load_stub(stubs.stub_of(r)) for r in gone], origin="peer:x", received_at_ms=NOW
    )


async def test_a_delete_drops_the_body_and_its_authors_edits(
    store: Store, alice: SigningKey
) -> None:
    first = msg(alice, T0, "my password is hunter2", channel="ops")
    edit = rec("edit", alice, T0 + 1, target=first.id, text="hunter2, really", callsign="ALICE")
    other = msg(alice, T0 + 2, "still here")
    await put(store, first, edit, other)
    await put(store, rec("delete", alice, T0 + 3, target=first.id, callsign="ALICE"))
    for gone in (first, edit):
        stored = await held(store, gone)
        assert stored.gone and b"hunter2" not in stored.signed and stored.sig == b""
        assert stored.ts == gone.ts and stored.author == gone.author
    assert not (await held(store, other)).gone
    (view,) = [v for v in await store.messages(MessageQuery(ZONE)) if v.id == first.id_hex]
    assert view.deleted and view.text == "" and view.channel == "ops"
    assert view.callsign == "ALICE"


async def test_a_record_that_arrives_after_its_delete_is_kept_as_a_stub(
    store: Store, alice: SigningKey
) -> None:
    late = msg(alice, T0, "should never be read")
    await put(store, rec("delete", alice, T0 + 1, target=late.id, callsign="ALICE"))
    results, gone = await store.insert_records([late], origin="peer:x", received_at_ms=NOW)
    assert results == ["ok"] and gone == {late.id}
    assert (await held(store, late)).gone
    # An edit of a deleted message arriving later loses its words too.
    edit = rec("edit", alice, T0 + 2, target=late.id, text="again", callsign="ALICE")
    await put(store, edit)
    assert (await held(store, edit)).gone


async def test_only_the_author_deletes(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    first = msg(alice, T0, "mine")
    await put(store, first, rec("delete", mallory, T0 + 1, target=first.id, callsign="ALICE"))
    assert not (await held(store, first)).gone


async def test_a_retracted_reaction_loses_its_emoji(store: Store, alice: SigningKey) -> None:
    first = msg(alice, T0, "hello")
    react = rec("react", alice, T0 + 1, target=first.id, emoji="👍", callsign="ALICE")
    await put(store, first, react)
    await put(store, rec("delete", alice, T0 + 2, target=react.id, callsign="ALICE"))
    assert (await held(store, react)).gone and not (await held(store, first)).gone
    (view,) = await store.messages(MessageQuery(ZONE))
    assert view.reactions == ()


async def test_a_peers_stub_is_kept_only_in_place_of_what_a_delete_here_retracts(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    never = msg(alice, T0, "never seen here")
    edit = rec("edit", alice, T0 + 1, target=never.id, text="edited", callsign="ALICE")
    stranger = msg(alice, T0 + 2, "no delete for this one")
    assert await bury(store, never, stranger) == ["reject:not_deleted"] * 2
    await put(store, rec("delete", alice, T0 + 3, target=never.id, callsign="ALICE"))
    # A forged stub with another author is refused even though the id is deleted.
    forged = Record(never.id, ZONE, "msg", bytes(mallory.verify_key), T0, {}, b"", b"")
    assert await bury(store, forged) == ["reject:not_deleted"]
    assert await bury(store, edit, never, stranger) == ["ok", "ok", "reject:not_deleted"]
    assert await bury(store, never) == ["dup"]
    assert (await held(store, never)).gone
    assert await store.messages(MessageQuery(ZONE)) == []  # never shown: no words here
    assert (await store.counts())[ZONE] == 3  # the delete and two stubs hold their place
