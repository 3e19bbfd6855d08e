"""Access rules applied where the store is read: pages, search, export, firsts, prune."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from meshchat.actionconfig import ActionEntry
from meshchat.actions.rules import compile_entry, matches
from meshchat.legacy.window import ExportWindow
from meshchat.records import Record
from meshchat.store import rights
from meshchat.store.db import Store
from meshchat.store.legacy import LegacyStore
from meshchat.store.models import MessageQuery
from meshchat.store.searchpage import SearchQuery, search
from tests.actions.helpers import event
from tests.store.helpers import T0, ZONE, msg, put, rec

OWNER = SigningKey(bytes([1]) * 32)
MEMBER = SigningKey(bytes([3]) * 32)
OUTSIDER = SigningKey(bytes([4]) * 32)
MOD = SigningKey(bytes([6]) * 32)


def pub(key: SigningKey) -> bytes:
    return bytes(key.verify_key)


def restricted(name: str = "ops", ts: int = T0, **members: SigningKey) -> Record:
    body = rights.genesis_body(
        name, "W1OWN", pub(OWNER), "", True, {pub(k): c for c, k in members.items()}
    )
    return rec("channel", OWNER, ts, **body)


def post(key: SigningKey, ts: int, text: str, channel: str = "ops", **body: Any) -> Record:
    return msg(key, ts, text, channel=channel, **body)


async def open_store(path: Path, *operators: SigningKey) -> Store:
    return await Store.open(path, zone_operators=[pub(k) for k in operators])


async def test_a_page_search_and_count_hold_back_the_same(store: Store) -> None:
    await put(
        store,
        restricted(K1MEM=MEMBER),
        post(MEMBER, T0 + 1, "alpha inside"),
        post(OUTSIDER, T0 + 2, "alpha intruder"),
        post(OUTSIDER, T0 + 3, "alpha outside", channel=""),
    )
    access = await store.access(ZONE)
    for key, want in (
        (pub(MEMBER), ["alpha inside", "alpha outside"]),
        (pub(OUTSIDER), ["alpha outside"]),
        (None, ["alpha outside"]),
    ):
        seen = access.reader(key)
        page = [m.text for m in await store.messages(MessageQuery(ZONE), seen)]
        found = await search(store, SearchQuery(ZONE, words="alpha"), seen)
        assert page == [m.text for m in found.messages] == want
        assert found.total == len(want)
    # The node's own view (actions) shows members' posts only; everything() all of them.
    everything = await store.messages(MessageQuery(ZONE), access.everything())
    members = await store.messages(MessageQuery(ZONE), access.members_view())
    assert (len(everything), len(members)) == (3, 2)


async def test_a_hide_that_comes_before_its_target_applies_when_it_arrives(
    tmp_path: Path,
) -> None:
    store = await open_store(tmp_path / "s.db", MOD)
    try:
        target = post(MEMBER, T0 + 5, "spam", channel="")
        await put(store, rec("delete", MOD, T0 + 6, target=target.id, moderation="hide"))
        assert (await store.access(ZONE)).hidden_ids == {target.id}
        await put(store, target)
        access = await store.access(ZONE)
        assert await store.messages(MessageQuery(ZONE), access.reader(None)) == []
        own = await store.messages(MessageQuery(ZONE), access.reader(pub(MEMBER)))
        assert [m.hidden for m in own] == ["zone"]
    finally:
        await store.close()


async def test_moderation_by_an_untrusted_key_or_retracted_does_nothing(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "s.db", MOD)
    try:
        spam = post(MEMBER, T0, "spam", channel="")
        hide = rec("delete", MOD, T0 + 1, target=spam.id, moderation="hide")
        fake = rec("delete", OUTSIDER, T0 + 1, target=spam.id, moderation="hide")
        ban = rec("delete", MOD, T0 + 2, target=pub(MEMBER), moderation="ban")
        await put(store, spam, fake)
        assert (
            len(await store.messages(MessageQuery(ZONE), (await store.access(ZONE)).public())) == 1
        )
        await put(store, hide, ban)
        access = await store.access(ZONE)
        assert access.banned == {pub(MEMBER)} and access.hidden_ids == {spam.id}
        await put(store, rec("delete", MOD, T0 + 3, target=hide.id))
        await put(store, rec("delete", MOD, T0 + 4, target=ban.id))
        access = await store.access(ZONE)
        assert not access.banned and not access.hidden_ids
    finally:
        await store.close()


async def test_local_hides_are_the_nodes_own(store: Store) -> None:
    spam = post(MEMBER, T0, "spam", channel="")
    await put(store, spam)
    await store.hide_locally(ZONE, spam.id, pub(MOD))
    access = await store.access(ZONE)
    assert access.local == {spam.id} and access.hidden[spam.id].by == "node"
    assert await store.messages(MessageQuery(ZONE), access.public()) == []
    assert await store.unhide_locally(ZONE, spam.id)
    assert not await store.unhide_locally(ZONE, spam.id)
    assert len(await store.messages(MessageQuery(ZONE), (await store.access(ZONE)).public())) == 1


async def test_firsts_carry_every_founding_record_in_arrival_order(store: Store) -> None:
    real = restricted(ts=T0 + 100)
    squat = restricted(ts=T0)  # back-dated, arrives second
    squat_body = dict(squat.body, callsign="W1BAD")
    squat = rec("channel", OUTSIDER, T0, **squat_body)
    change = rec(
        "channel", OWNER, T0 + 200, **rights.channel_body(rights.fold("ops", [real], ()), "W1OWN")
    )
    await put(store, post(MEMBER, T0 + 1, "claims K1MEM", channel="", callsign="K1MEM"))
    await put(store, real)
    await put(store, squat, change)
    firsts = await store.first_claims(ZONE)
    assert [f for f in firsts if f in (real.id, squat.id, change.id)] == [real.id, squat.id]
    assert (await store.access(ZONE)).channel("ops").owner == pub(OWNER)  # type: ignore[union-attr]


async def test_channel_records_outlive_the_retention_horizon(store: Store) -> None:
    await put(store, restricted(K1MEM=MEMBER), post(MEMBER, T0 + 1, "old"))
    assert await store.prune(ZONE, older_than_ts=T0 + 10**6, pinned=()) == 1
    channel = (await store.access(ZONE)).channel("ops")
    assert channel is not None and channel.restricted and pub(MEMBER) in channel.members


async def test_legacy_nodes_are_never_served_a_restricted_or_hidden_line(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "s.db", MOD)
    try:
        spam = post(OUTSIDER, T0 + 3000, "spam", channel="")
        await put(
            store,
            restricted(K1MEM=MEMBER),
            post(MEMBER, T0 + 1000, "team only"),
            post(MEMBER, T0 + 2000, "for all", channel=""),
            spam,
        )
        window = ExportWindow(LegacyStore(store), ZONE)
        lines = (await window.current()).lines
        assert [line.split("\t")[2] for line in lines] == ["for all", "spam"]
        hide = rec("delete", MOD, T0 + 4000, target=spam.id, moderation="hide")
        await put(store, hide)
        window.on_records([hide], "local")  # the ingest subscriber
        assert [line.split("\t")[2] for line in (await window.current()).lines] == ["for all"]
    finally:
        await store.close()


def test_a_rule_sees_a_restricted_channel_only_when_it_names_it() -> None:
    def rule(**fields: Any) -> Any:
        return compile_entry(ActionEntry(name="r", command=("/bin/true",), **fields), "cfg")

    inside = event(channel="ops")
    assert matches(rule(), inside) and not matches(rule(), inside, restricted=True)
    assert not matches(rule(channel=("*",)), inside, restricted=True)
    assert matches(rule(channel=("ops", "net")), inside, restricted=True)


a_post = st.tuples(st.sampled_from(["ops", "net", ""]), st.integers(0, 3), st.integers(0, 40))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(posts=st.lists(a_post, max_size=25), kick_at=st.integers(0, 40), reader=st.integers(0, 3))
async def test_the_sql_filter_and_the_python_filter_agree(
    tmp_path_factory: pytest.TempPathFactory,
    posts: list[tuple[str, int, int]],
    kick_at: int,
    reader: int,
) -> None:
    keys = [OWNER, MEMBER, OUTSIDER, MOD]
    genesis = restricted(K1MEM=MEMBER, W1MOD=MOD)
    channel = rights.fold("ops", [genesis], ())
    kick = rec(
        "channel",
        OWNER,
        T0 + kick_at,
        **rights.channel_body(channel, "W1OWN", members={pub(OWNER): "W1OWN", pub(MOD): "W1MOD"}),
    )
    made = [post(keys[k], T0 + ts, f"p{i}", channel=c) for i, (c, k, ts) in enumerate(posts)]
    store = await Store.open(tmp_path_factory.mktemp("agree") / "s.db")
    try:
        await put(store, genesis, kick, *made)
        seen = (await store.access(ZONE)).reader(pub(keys[reader]))
        by_sql = [m.id for m in await store.messages(MessageQuery(ZONE, limit=500), seen)]
        everything = await store.messages(MessageQuery(ZONE, limit=500))
        by_python = [
            m.id
            for m in everything
            if seen.shows(bytes.fromhex(m.id), bytes.fromhex(m.author), m.channel, m.ts)
        ]
        assert by_sql == by_python
    finally:
        await store.close()
