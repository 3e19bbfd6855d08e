"""Search pages: filters, the user's own direct messages, paging past 50, a bounded count."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from meshchat.errors import RemoteProtocolError
from meshchat.store import searchpage
from meshchat.store.db import Store
from meshchat.store.search import SearchText, parse, terms
from meshchat.store.searchpage import SearchQuery, search
from tests.store.helpers import T0, ZONE, msg, put, rec


def test_filters_are_split_off_the_words() -> None:
    assert parse("fuel from:w1aw in:#ops") == SearchText("fuel", "W1AW", "ops", None)
    assert parse('in:"#net control" gen') == SearchText("gen", None, "net control", None)
    assert parse("in:@k1abc hello") == SearchText("hello", None, None, "K1ABC")
    assert parse("in:#ops in:@K1ABC x").dm == "K1ABC"  # the later one wins
    assert parse("in:# x").channel == ""  # the Everything channel
    assert parse("FROM:@n0call") == SearchText("", "N0CALL", None, None)
    assert parse("a:b wherefrom:x") == SearchText("a:b wherefrom:x")  # not filters
    for bad in ("from:", "from:not/valid/", "in:@", "in:\x07"):
        with pytest.raises(RemoteProtocolError):
            parse(bad)
    assert terms("Fuel, gen!") == ["Fuel", "gen"]


async def _texts(store: Store, **kw: object) -> list[str]:
    page = await search(store, SearchQuery(zone=ZONE, **kw))  # type: ignore[arg-type]
    return [m.text for m in page.messages]


async def test_filters_and_direct_messages(store: Store, alice: SigningKey) -> None:
    await put(
        store,
        msg(alice, T0, "fuel in ops", channel="ops"),
        msg(alice, T0 + 1, "fuel everywhere"),
        rec("msg", alice, T0 + 2, callsign="BOB", text="fuel from bob", channel="ops"),
        msg(alice, T0 + 3, "fuel for bob only", to="BOB"),
        rec("msg", alice, T0 + 4, callsign="CAROL", text="fuel for dave", to="DAVE"),
    )
    assert await _texts(store, words="fuel") == ["fuel in ops", "fuel everywhere", "fuel from bob"]
    # Bob's own direct messages are his to find; Carol's to Dave are not.
    assert await _texts(store, words="fuel", me="BOB") == [
        "fuel in ops",
        "fuel everywhere",
        "fuel from bob",
        "fuel for bob only",
    ]
    assert "fuel for bob only" in await _texts(store, words="fuel", me="ALICE")
    assert await _texts(store, words="fuel", me="ALICE", author="BOB") == ["fuel from bob"]
    assert await _texts(store, words="fuel", channel="ops") == ["fuel in ops", "fuel from bob"]
    assert await _texts(store, words="fuel", me="ALICE", dm="BOB") == ["fuel for bob only"]
    assert await _texts(store, me="ALICE", author="CAROL") == []  # not one of Alice's
    assert await _texts(store, author="BOB") == ["fuel from bob"]  # filters only
    with pytest.raises(RemoteProtocolError):
        SearchQuery(zone=ZONE, words="!!")  # nothing to search for
    with pytest.raises(RemoteProtocolError):
        SearchQuery(zone=ZONE, words="x", dm="BOB")  # a conversation needs a login


async def test_pages_past_fifty_with_a_count(store: Store, alice: SigningKey) -> None:
    hits = [msg(alice, T0 + i * 10, f"report {i:03d} water") for i in range(114)]
    noise = [msg(alice, T0 + i * 10 + 5, f"noise {i}") for i in range(300)]
    await put(store, *hits, *noise)
    first = await search(store, SearchQuery(zone=ZONE, words="water"))
    assert (first.total, first.exact, first.terms) == (114, True, ["water"])
    assert [m.text for m in first.messages][-1] == "report 113 water"
    seen = [m.text for m in first.messages]
    page = first
    while len(page.messages) == 50:
        page = await search(
            store,
            SearchQuery(zone=ZONE, words="water", before=bytes.fromhex(page.messages[0].id)),
        )
        assert page.total is None  # only the first page counts
        seen = [m.text for m in page.messages] + seen
    assert seen == [f"report {i:03d} water" for i in range(114)]


async def test_the_count_is_bounded(
    store: Store, alice: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    await put(
        store, *(msg(alice, T0 + i, f"net {i}", channel="a" if i % 2 else "b") for i in range(60))
    )
    monkeypatch.setattr(searchpage, "COUNT_CAP", 25)
    capped = await search(store, SearchQuery(zone=ZONE, words="net"))
    assert (capped.total, capped.exact) == (25, False)
    monkeypatch.setattr(searchpage, "COUNT_CAP", 1000)
    monkeypatch.setattr(searchpage, "COUNT_EXAMINE", 20)
    partial = await search(store, SearchQuery(zone=ZONE, words="net", channel="a"))
    assert (partial.total, partial.exact) == (10, False)  # at least 10, among 20 examined
    monkeypatch.setattr(searchpage, "COUNT_EXAMINE", 20_000)
    whole = await search(store, SearchQuery(zone=ZONE, words="net", channel="a"))
    assert (whole.total, whole.exact) == (30, True)
    filtered = await search(store, SearchQuery(zone=ZONE, channel="b"))
    assert (filtered.total, filtered.exact) == (30, True)
