"""The actions' tables: runs at most once, the cursor moves with the queue, contacts."""

from __future__ import annotations

from nacl.signing import SigningKey

from meshchat.store.actions import ActionStore, NewRun
from meshchat.store.contacts import ContactStore
from meshchat.store.db import Store
from tests.store.helpers import T0, msg, put


def new_run(record_id: bytes, rule: str = "r", target: str = "", due: int = T0) -> NewRun:
    return NewRun(rule, record_id, target, "message", "MeshChat", T0, due, '{"text": "hi"}')


async def test_a_run_is_queued_at_most_once_and_the_cursor_moves_with_it(
    store: Store, alice: SigningKey
) -> None:
    actions = ActionStore(store)
    assert await actions.cursor("a") is None
    assert await actions.start_cursor("a") == 0  # an empty log: from the start
    first = msg(alice, T0)
    await put(store, first)
    (row,) = await actions.feed(0, 10)
    assert row.record.id == first.id and row.origin == "local"
    assert await actions.enqueue([new_run(first.id)], "a", row.seq, T0) == 1
    assert await actions.cursor("a") == row.seq
    again = [new_run(first.id), new_run(first.id, target="K1ABC"), new_run(first.id, "s")]
    assert await actions.enqueue(again, "a", row.seq, T0) == 2
    assert len(await actions.runs(10)) == 3


async def test_the_cursor_of_a_first_start_is_the_end_of_the_log(
    store: Store, alice: SigningKey
) -> None:
    await put(store, msg(alice, T0), msg(alice, T0 + 1))
    actions = ActionStore(store)
    end = await actions.start_cursor("a")
    assert end == await store.last_seq()
    assert await actions.feed(end, 10) == []
    assert await actions.start_cursor("a") == end


async def test_due_start_finish_retry_and_recover(store: Store, alice: SigningKey) -> None:
    actions = ActionStore(store)
    record = msg(alice, T0)
    await actions.enqueue(
        [new_run(record.id, due=T0), new_run(record.id, "late", due=T0 + 50)], "a", 0, T0
    )
    (due,) = await actions.due(T0, 10)
    assert due.rule == "r" and await actions.next_due() == T0
    assert await actions.start(due.run, T0 + 1)
    assert not await actions.start(due.run, T0 + 1)  # only a queued run starts
    await actions.finish(
        due.run,
        "queued",
        now=T0 + 2,
        duration_ms=1,
        exit_status=1,
        detail="exit status 1",
        output="",
        due_at=T0 + 100,
    )
    (retry,) = [r for r in await actions.runs(10) if r.rule == "r"]
    assert retry.state == "queued" and retry.attempts == 1 and retry.finished_at is None
    assert [r.rule for r in await actions.due(T0 + 100, 10)] == ["late", "r"]
    assert await actions.start(retry.run, T0 + 101)
    assert await actions.recover(T0 + 200) == 1
    (lost,) = await actions.runs(10, state="interrupted")
    assert lost.run == retry.run and "at most once" in lost.detail
    assert lost.to_json()["record"]["text"] == "hi"


async def test_trim_forgets_only_old_finished_runs(store: Store, alice: SigningKey) -> None:
    actions = ActionStore(store)
    record = msg(alice, T0)
    await actions.enqueue([new_run(record.id), new_run(record.id, "b")], "a", 0, T0)
    first, _ = await actions.due(T0, 10)
    await actions.skip(first.run, "stale", "old", T0 + 5)
    assert await actions.trim(T0 + 5) == 0
    assert await actions.trim(T0 + 6) == 1
    assert [r.state for r in await actions.runs(10)] == ["queued"]


async def test_contacts_are_per_callsign_idempotent_and_bounded(store: Store) -> None:
    contacts = ContactStore(store)
    a = await contacts.add_contact("W1AW", "sms", "+1555", T0, per_callsign=2, total=3)
    assert a is not None and a.to_json() == {
        "id": a.id,
        "kind": "sms",
        "address": "+1555",
        "at": T0,
    }
    same = await contacts.add_contact("W1AW", "sms", "+1555", T0 + 1, per_callsign=2, total=3)
    assert same == a
    assert await contacts.add_contact("W1AW", "email", "a@b.org", T0, per_callsign=2, total=3)
    assert (
        await contacts.add_contact("W1AW", "email", "c@b.org", T0, per_callsign=2, total=3) is None
    )
    assert await contacts.add_contact("K1ABC", "sms", "+1666", T0, per_callsign=2, total=3)
    assert await contacts.add_contact("N0CALL", "sms", "+1777", T0, per_callsign=2, total=3) is None
    assert await contacts.contact_callsigns() == {"W1AW", "K1ABC"}
    assert not await contacts.delete_contact("K1ABC", a.id)  # not theirs
    assert await contacts.delete_contact("W1AW", a.id)
    assert [c.kind for c in await contacts.contacts("W1AW")] == ["email"]


async def test_last_online_only_moves_forward_and_only_for_callsigns_asked(store: Store) -> None:
    contacts = ContactStore(store)
    await contacts.add_contact("W1AW", "sms", "+1555", T0, per_callsign=8, total=10)
    assert await contacts.last_online("W1AW") == T0  # registering is being online
    await contacts.set_last_online({"W1AW": T0 + 10, "K1ABC": T0}, {"W1AW"})
    await contacts.set_last_online({"W1AW": T0 + 5}, {"W1AW"})
    assert await contacts.last_online("W1AW") == T0 + 10
    assert await contacts.last_online("K1ABC") is None
