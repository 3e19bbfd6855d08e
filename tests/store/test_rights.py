"""Channel rights from channel records (store.rights): ownership by arrival, changes in order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from meshchat.records import ZERO_AUTHOR, Record
from meshchat.store import rights
from meshchat.store.db import Store
from meshchat.store.models import MessageQuery
from meshchat.store.rights import MEMBER, NEVER, OPERATOR, OWNER
from tests.store.helpers import T0, ZONE, msg, put, rec

OWNER_KEY = SigningKey(bytes([1]) * 32)
OP_KEY = SigningKey(bytes([2]) * 32)
MEMBER_KEY = SigningKey(bytes([3]) * 32)
STRANGER_KEY = SigningKey(bytes([4]) * 32)
NODE_KEY = SigningKey(bytes([5]) * 32)


def pub(key: SigningKey) -> bytes:
    return bytes(key.verify_key)


CALLS = {pub(OWNER_KEY): "W1OWN", pub(OP_KEY): "W1OP", pub(MEMBER_KEY): "W1MEM"}
CALLS[pub(STRANGER_KEY)] = "W1BAD"


def found(ts: int = T0, key: SigningKey = OWNER_KEY, **edits: Any) -> Record:
    """A founding record (no genesis) by ``key``."""
    members = edits.pop("members", {})
    body = rights.genesis_body(
        "ops",
        CALLS.get(pub(key), "W1X"),
        pub(key),
        edits.pop("topic", "net"),
        edits.pop("restricted", True),
        members,
    )
    body.update(edits)
    return rec("channel", key, ts, **body)


def change(genesis: Record, key: SigningKey, ts: int, **state: Any) -> Record:
    """A change of ``genesis``'s channel: its whole state, from ``state``."""
    members = state.pop("members", {pub(OWNER_KEY): "W1OWN"})
    body = {
        "callsign": CALLS.get(pub(key), "W1X"),
        "genesis": genesis.id,
        "member_keys": list(members),
        "members": list(members.values()),
        "name": "ops",
        "operators": state.pop("operators", []),
        "restricted": state.pop("restricted", True),
        "topic": state.pop("topic", "net"),
    }
    body.update(state)
    return rec("channel", key, ts, **body)


def fold(*records: Record, rightless: frozenset[bytes] = frozenset()) -> rights.Channel:
    return rights.fold("ops", records, rightless)


TEAM = {pub(OWNER_KEY): "W1OWN", pub(OP_KEY): "W1OP", pub(MEMBER_KEY): "W1MEM"}


def test_the_first_founding_record_seen_owns_the_channel_whatever_its_stamp() -> None:
    real = found(T0 + 1000)
    backdated = found(T0, STRANGER_KEY, topic="mine", restricted=False)
    channel = fold(real, backdated)  # arrival order: the real one first
    assert channel.owner == pub(OWNER_KEY)
    assert (channel.topic, channel.restricted, channel.contested) == ("net", True, True)
    # A newcomer that got them in the other order (no firsts) would see the impostor:
    # that is why firsts carry the geneses in the source's arrival order.
    assert fold(backdated, real).owner == pub(STRANGER_KEY)


def test_roles_from_the_genesis_and_the_owners_changes() -> None:
    genesis = found(members={pub(MEMBER_KEY): "W1MEM", pub(OP_KEY): "W1OP"})
    named = change(genesis, OWNER_KEY, T0 + 1, members=TEAM, operators=[pub(OP_KEY)])
    channel = fold(genesis, named)
    assert channel.roles() == {"W1OWN": OWNER, "W1OP": OPERATOR, "W1MEM": MEMBER}
    assert channel.may_manage(pub(OP_KEY)) and not channel.may_manage(pub(MEMBER_KEY))
    assert channel.may_read(pub(MEMBER_KEY)) and not channel.may_read(pub(STRANGER_KEY))
    assert not channel.may_read(None)


def test_an_operator_invites_kicks_and_sets_the_topic_but_never_more() -> None:
    genesis = found(members={pub(OP_KEY): "W1OP"}, operators=[pub(OP_KEY)])
    # It adds a member, drops the owner from its list, names itself... and opens it.
    grab = change(
        genesis,
        OP_KEY,
        T0 + 1,
        members={pub(OP_KEY): "W1OP", pub(MEMBER_KEY): "W1MEM"},
        operators=[pub(OP_KEY), pub(MEMBER_KEY)],
        restricted=False,
        topic="ours",
    )
    channel = fold(genesis, grab)
    assert channel.members.keys() == {pub(OWNER_KEY), pub(OP_KEY), pub(MEMBER_KEY)}
    assert channel.operators == {pub(OP_KEY)}
    assert (channel.topic, channel.restricted, channel.owner) == ("ours", True, pub(OWNER_KEY))


def test_an_operator_does_not_remove_another_operator() -> None:
    genesis = found(
        members={pub(OP_KEY): "W1OP", pub(MEMBER_KEY): "W1MEM"},
        operators=[pub(OP_KEY), pub(MEMBER_KEY)],
    )
    kick = change(genesis, OP_KEY, T0 + 1, members={pub(OP_KEY): "W1OP"}, operators=[pub(OP_KEY)])
    assert fold(genesis, kick).operators == {pub(OP_KEY), pub(MEMBER_KEY)}


def test_strangers_and_plain_members_change_nothing() -> None:
    genesis = found(members={pub(MEMBER_KEY): "W1MEM"})
    for key in (STRANGER_KEY, MEMBER_KEY):
        attempt = change(genesis, key, T0 + 5, members={pub(key): "X"}, topic="taken")
        channel = fold(genesis, attempt)
        assert (channel.topic, set(channel.members)) == ("net", {pub(OWNER_KEY), pub(MEMBER_KEY)})


def test_a_change_of_another_genesis_does_not_apply() -> None:
    genesis = found()
    other = found(T0 - 5, STRANGER_KEY)
    stray = change(other, STRANGER_KEY, T0 + 9, topic="elsewhere")
    channel = fold(genesis, other, stray)
    assert channel.topic == "net" and channel.contested


def test_a_demoted_operator_cannot_undo_its_demotion_by_backdating() -> None:
    genesis = found(members={pub(OP_KEY): "W1OP"}, operators=[pub(OP_KEY)])
    demote = change(genesis, OWNER_KEY, T0 + 100, members={pub(OWNER_KEY): "W1OWN"})
    # Signed later, stamped just before the demotion: it applies there, then the demotion
    # (a whole state) replaces it.
    sneaky = change(
        genesis, OP_KEY, T0 + 99, members={**TEAM, pub(STRANGER_KEY): "W1BAD"}, topic="mine"
    )
    for order in ((genesis, demote, sneaky), (genesis, sneaky, demote)):
        channel = fold(*order)
        assert set(channel.members) == {pub(OWNER_KEY)} and channel.topic == "net"
    # Stamped after the demotion it has no right at all.
    late = change(genesis, OP_KEY, T0 + 101, members=TEAM, topic="mine")
    assert fold(genesis, demote, late).topic == "net"


def test_former_members_posts_show_up_to_their_removal() -> None:
    genesis = found(members={pub(MEMBER_KEY): "W1MEM"})
    kick = change(genesis, OWNER_KEY, T0 + 50)
    channel = fold(genesis, kick)
    assert channel.former == {pub(MEMBER_KEY): T0 + 50}
    assert channel.shows(pub(MEMBER_KEY), T0 + 49) and not channel.shows(pub(MEMBER_KEY), T0 + 50)
    assert channel.shows(pub(OWNER_KEY), T0 + 10**9)
    assert not channel.shows(pub(STRANGER_KEY), T0)
    assert not channel.may_read(pub(MEMBER_KEY))
    back = change(genesis, OWNER_KEY, T0 + 60, members={**TEAM})
    assert fold(genesis, kick, back).shown_until(pub(MEMBER_KEY)) == NEVER


def test_a_node_key_founds_a_public_channel_and_holds_no_right() -> None:
    genesis = found(key=NODE_KEY, callsign="W1VIA", restricted=True)
    topic = rec("channel", NODE_KEY, T0 + 1, name="ops", topic="mine", callsign="W1VIA")
    other = rec("channel", NODE_KEY, T0 + 2, name="ops", topic="theirs", callsign="K9ZZZ")
    channel = fold(genesis, topic, other, rightless=frozenset({pub(NODE_KEY)}))
    assert (channel.owner, channel.restricted, channel.topic) == (None, False, "mine")
    assert channel.may_read(None)
    # Nor does a node key's change count in a key-owned channel.
    owned = found()
    grab = change(owned, NODE_KEY, T0 + 1, topic="via", restricted=False)
    assert fold(owned, grab, rightless=frozenset({pub(NODE_KEY)})).topic == "net"


def test_changes_of_a_genesis_not_held_here_close_the_channel() -> None:
    genesis = found()
    orphan = change(genesis, OWNER_KEY, T0 + 1)
    channel = fold(orphan)
    assert channel.unknown and not channel.may_read(pub(OWNER_KEY))
    assert not channel.shows(pub(OWNER_KEY), T0)
    public = change(genesis, OWNER_KEY, T0 + 1, restricted=False)
    assert fold(public).may_read(None)


def test_malformed_member_lists_change_nothing() -> None:
    genesis = found(members={pub(MEMBER_KEY): "W1MEM"})
    odd = change(genesis, OWNER_KEY, T0 + 1)
    odd.body["member_keys"] = [pub(OWNER_KEY), pub(MEMBER_KEY)]  # two keys, one callsign
    assert set(fold(genesis, odd).members) == {pub(OWNER_KEY), pub(MEMBER_KEY)}


def test_the_next_change_keeps_the_state_and_names_the_genesis() -> None:
    genesis = found(members={pub(OP_KEY): "W1OP"}, operators=[pub(OP_KEY)])
    channel = fold(genesis)
    body = rights.channel_body(channel, "W1OP", topic="new")
    assert body["genesis"] == genesis.id and body["topic"] == "new"
    assert body["member_keys"][0] == pub(OWNER_KEY) and body["operators"] == [pub(OP_KEY)]
    made = rec("channel", OP_KEY, channel.latest_ts + 1, **body)
    assert fold(genesis, made).roles() == channel.roles()


# --- the same rights on every node, whatever the arrival order ------------------------------

KEYS = [OWNER_KEY, OP_KEY, MEMBER_KEY, STRANGER_KEY]
POSTERS = [OWNER_KEY, OP_KEY, MEMBER_KEY, STRANGER_KEY]

a_change = st.tuples(
    st.sampled_from(range(len(KEYS))),  # the author
    st.integers(-50, 50),  # its stamp, around the genesis's (back-dated ones too)
    st.sets(st.sampled_from(range(1, len(KEYS))), max_size=3),  # the members it names
    st.sets(st.sampled_from(range(1, len(KEYS))), max_size=2),  # the operators
    st.booleans(),  # restricted
    st.sampled_from(["a", "b", "c"]),  # topic
)


def _changes(genesis: Record, drawn: list[tuple[Any, ...]]) -> list[Record]:
    out = []
    for author, stamp, members, operators, restricted, topic in drawn:
        named = {pub(OWNER_KEY): "W1OWN", **{pub(KEYS[i]): CALLS[pub(KEYS[i])] for i in members}}
        out.append(
            change(
                genesis,
                KEYS[author],
                T0 + stamp,
                members=named,
                operators=[pub(KEYS[i]) for i in operators],
                restricted=restricted,
                topic=topic,
            )
        )
    return out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    drawn=st.lists(a_change, min_size=1, max_size=12),
    orders=st.lists(st.permutations(range(12)), min_size=3, max_size=3),
    cuts=st.lists(st.integers(0, 12), min_size=3, max_size=3),
)
async def test_three_nodes_compute_the_same_rights_in_any_arrival_order(
    tmp_path_factory: pytest.TempPathFactory,
    drawn: list[tuple[Any, ...]],
    orders: list[list[int]],
    cuts: list[int],
) -> None:
    genesis = found(members={pub(OP_KEY): "W1OP"}, operators=[pub(OP_KEY)])
    changes = _changes(genesis, drawn)
    posts = [
        msg(key, T0 + 10 * i, f"post {i}", channel="ops", callsign=CALLS[pub(key)])
        for i, key in enumerate(POSTERS * 3)
    ]
    seen: list[tuple[rights.Channel | None, list[str]]] = []
    for order, cut in zip(orders, cuts, strict=True):
        arrival = [changes[i] for i in order if i < len(changes)]
        store = await Store.open(tmp_path_factory.mktemp("node") / "s.db")
        try:
            # The genesis first (as firsts make it on a newcomer), then the changes in this
            # node's order, in two batches, with the posts in between.
            await put(store, genesis)
            await put(store, *arrival[:cut])
            await put(store, *posts)
            await put(store, *arrival[cut:])
            access = await store.access(ZONE)
            reader = access.reader(pub(MEMBER_KEY))
            query = MessageQuery(ZONE, channel="ops", limit=500)
            shown = [m.id for m in await store.messages(query, reader)]
            seen.append((access.channel("ops"), shown))
        finally:
            await store.close()
    assert seen[0] == seen[1] == seen[2]
    # And it is the pure rule over the changes in (ts, id) order.
    assert seen[0][0] == rights.fold("ops", [genesis, *changes], frozenset({ZERO_AUTHOR}))
