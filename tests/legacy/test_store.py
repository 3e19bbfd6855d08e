"""The legacy id map (schema version 4): catching up, deletes, the window, prune."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from meshchat.legacy import codec
from meshchat.records import Record
from meshchat.store import schema
from meshchat.store.db import Store
from meshchat.store.legacy import LegacyStore, digest
from tests.factories import ZONE, make_record, user_key

NOW_MS = 1_700_000_000_000


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "s.db")
    try:
        yield opened
    finally:
        await opened.close()


async def add(store: Store, *recs: Record) -> None:
    assert await store.insert(list(recs), origin="local", received_at_ms=NOW_MS) == ["ok"] * len(
        recs
    )


def test_the_migration_is_version_4() -> None:
    assert schema.latest_version() >= 4
    assert "legacy_lines" in dict(schema.MIGRATIONS)[4]


async def test_catch_up_maps_messages_and_legacy_lines_but_not_dms(store: Store) -> None:
    legacy = LegacyStore(store, batch=2)
    msg = make_record(text="hi", ts=NOW_MS)
    dm = make_record(text="psst", to="K1ABC", ts=NOW_MS + 1)
    line = make_record("legacy", epoch=NOW_MS // 1000 + 1, line_id="0000abcd")
    await add(store, msg, dm, line, make_record("channel", ts=NOW_MS + 2))
    assert await legacy.catch_up(ZONE, codec.line_entry) == 3  # three of the watched kinds
    assert await legacy.catch_up(ZONE, codec.line_entry) == 0  # the cursor moved on
    window = await legacy.window(ZONE, 500)
    exported = codec.export_line(msg)
    assert exported is not None
    assert [e.line for e in window] == [line.body["line"], exported.to_line()]
    known = await legacy.known(ZONE, [digest(exported.to_line()), digest(line.body["line"])])
    assert known == {digest(exported.to_line()): True, digest(line.body["line"]): False}


async def test_a_delete_by_the_author_hides_the_line_whichever_came_first(store: Store) -> None:
    legacy = LegacyStore(store)
    first, second, third = (make_record(text=t, ts=NOW_MS + i) for i, t in enumerate("abc"))
    await add(store, first, second)
    await legacy.catch_up(ZONE, codec.line_entry)
    early = make_record("delete", target=third.id, ts=NOW_MS + 10)
    late = make_record("delete", target=first.id, ts=NOW_MS + 11)
    stranger = make_record("delete", target=second.id, key=user_key(), ts=NOW_MS + 12)
    await add(store, early, late, stranger, third)
    await legacy.catch_up(ZONE, codec.line_entry)
    texts = [e.line.split("\t")[2] for e in await legacy.window(ZONE, 500)]
    assert texts == ["b"]  # a stranger cannot retract someone's message
    assert await legacy.count(ZONE) == 3


async def test_the_window_is_the_newest_distinct_lines(store: Store) -> None:
    legacy = LegacyStore(store)
    recs = [make_record("legacy", epoch=1_700_000_000 + i, line_id=f"{i:08x}") for i in range(30)]
    await add(store, *recs)
    await legacy.catch_up(ZONE, codec.line_entry)
    window = await legacy.window(ZONE, 10)
    assert [e.lid for e in window] == list(range(29, 19, -1))


async def test_a_pruned_record_takes_its_line_with_it(store: Store) -> None:
    legacy = LegacyStore(store)
    old = make_record("legacy", epoch=1_600_000_000, line_id="00000001")
    new = make_record("legacy", epoch=1_700_000_000, line_id="00000002")
    await add(store, old, new)
    await legacy.catch_up(ZONE, codec.line_entry)
    assert await store.prune(ZONE, older_than_ts=1_650_000_000_000, pinned=()) == 1
    assert [e.lid for e in await legacy.window(ZONE, 500)] == [2]
