"""Search newest first through the time-keyed full-text index: exact whatever the arrival
order, with chunks, cursors, ties within a millisecond and the fallback past the budget."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from meshchat.records import Record
from meshchat.store import newest, resolve, schema
from meshchat.store.db import Store
from meshchat.store.models import MessageQuery
from meshchat.store.searchpage import SearchQuery, search
from tests.store.helpers import T0, ZONE, msg, put

WORDS = ["fuel", "water", "radio", "relay", "shelter"]


def _corpus(alice: SigningKey, count: int, seed: int) -> list[Record]:
    """Messages of random words at random times, many sharing a millisecond."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        text = " ".join(rng.choices(WORDS, k=3)) + f" n{i}"
        channel = rng.choice(["", "ops"])
        out.append(msg(alice, T0 + rng.randrange(count // 3), text, channel=channel))
    return out


def _expected(corpus: list[Record], word: str, limit: int, channel: str | None) -> list[str]:
    hits = [
        r for r in corpus if word in r.body["text"].split() and channel in (None, r.body["channel"])
    ]
    hits.sort(key=lambda r: (r.ts, r.id))
    return [r.body["text"] for r in hits[-limit:]]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(newest, "FIRST_CHUNK", 3)
    monkeypatch.setattr(newest, "MAX_CHUNK", 7)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("budget", [newest.BUDGET, 5])  # 5: the fallbacks answer
async def test_pages_are_exact_in_any_arrival_order(
    store: Store, alice: SigningKey, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    monkeypatch.setattr(newest, "BUDGET", budget)
    corpus = _corpus(alice, 300, seed=budget)
    arrival = corpus[:]
    random.Random(1).shuffle(arrival)  # sync stores history in any order
    for i in range(0, len(arrival), 37):
        await put(store, *arrival[i : i + 37])
    for word in WORDS:
        for channel in (None, "ops"):
            for limit in (1, 10, 50):
                got = await store.messages(MessageQuery(ZONE, channel=channel, limit=limit, q=word))
                assert [m.text for m in got] == _expected(corpus, word, limit, channel)
                page = await search(
                    store, SearchQuery(zone=ZONE, words=word, channel=channel, limit=limit)
                )
                assert [m.text for m in page.messages] == [m.text for m in got]
            # Paging back from the oldest of a page continues exactly.
            first = await store.messages(MessageQuery(ZONE, channel=channel, limit=10, q=word))
            back = await store.messages(
                MessageQuery(
                    ZONE, channel=channel, limit=10, q=word, before=bytes.fromhex(first[0].id)
                )
            )
            want = _expected(corpus, word, 20, channel)
            assert [m.text for m in back] == want[: len(want) - 10]
            older = await search(
                store,
                SearchQuery(
                    zone=ZONE, words=word, channel=channel, before=bytes.fromhex(first[0].id)
                ),
            )
            want = _expected(corpus, word, 60, channel)
            assert [m.text for m in older.messages] == want[: len(want) - 10][-50:]


async def test_one_millisecond_holds_many_keys(store: Store, alice: SigningKey) -> None:
    same = [msg(alice, T0, f"fuel {i}") for i in range(40)]
    await put(store, *same[:20])
    await put(store, *same[20:])
    got = await store.messages(MessageQuery(ZONE, limit=50, q="fuel"))
    assert [m.id for m in got] == sorted(r.id.hex() for r in same)


async def test_migration_7_keys_existing_messages_by_time(
    tmp_path: Path, alice: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:6])
    old = await Store.open(path)
    await old.close()
    corpus = _corpus(alice, 60, seed=9)
    with sqlite3.connect(path) as conn:  # as a store before migration 7 held them
        for seq, r in enumerate(reversed(corpus), start=1):  # arrival against time order
            c = resolve.columns(r)
            conn.execute(
                "INSERT INTO records (seq, id, zone, ts, author, kind, shown, channel, "
                "callsign, S, sig, received_at, origin) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    seq,
                    r.id,
                    r.zone,
                    r.ts,
                    r.author,
                    r.kind,
                    c.shown,
                    c.channel,
                    c.callsign,
                    r.signed,
                    r.sig,
                    T0,
                    "test",
                ),
            )
            conn.execute(
                "INSERT INTO message_fts (rowid, text) VALUES (?, ?)", (seq, r.body["text"])
            )
    conn.close()
    monkeypatch.undo()
    store = await Store.open(path)
    try:
        for word in WORDS:
            got = await store.messages(MessageQuery(ZONE, limit=10, q=word))
            assert [m.text for m in got] == _expected(corpus, word, 10, None)
        await put(store, msg(alice, T0 + 5, "fuel after the migration"))
        got = await store.messages(MessageQuery(ZONE, limit=100, q="migration"))
        assert [m.text for m in got] == ["fuel after the migration"]
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        keys = conn.execute("SELECT rowid FROM message_fts ORDER BY rowid").fetchall()
        tks = conn.execute("SELECT tk FROM records WHERE tk IS NOT NULL ORDER BY tk").fetchall()
    conn.close()
    assert keys == tks and len(keys) == len(corpus) + 1
