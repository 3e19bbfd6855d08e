"""Store lifecycle, ingest and the sync-facing reads, on real SQLite files."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from meshchat import records
from meshchat.errors import StoreError
from meshchat.store.db import Store
from tests.store.helpers import NOW, T0, ZONE, msg, put, rec


async def test_open_creates_parent_dir_and_checks_integrity(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    store = await Store.open(path)
    try:
        assert path.exists()
        assert await store.integrity_check() == "ok"
        assert await store.counts() == {}
    finally:
        await store.close()
    await store.close()  # closing twice is harmless


async def test_second_open_in_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await Store.open(path)
    try:
        with pytest.raises(StoreError, match="in use by another meshchat process"):
            await Store.open(path)
    finally:
        await store.close()
    again = await Store.open(path)  # the lock is released on close
    await again.close()


async def test_second_open_from_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await Store.open(path)
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from meshchat.errors import StoreError\n"
        "from meshchat.store.db import Store\n"
        "async def main():\n"
        "    try:\n"
        "        s = await Store.open(Path(sys.argv[1]))\n"
        "    except StoreError as exc:\n"
        "        print(exc); return 3\n"
        "    await s.close(); return 0\n"
        "sys.exit(asyncio.run(main()))\n"
    )
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            str(path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await store.close()
    assert proc.returncode == 3, err.decode()
    assert "in use by another meshchat process" in out.decode()
    assert str(path) in out.decode()


async def test_garbage_file_is_refused_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"corrupt or not a meshchat database") as info:
        await Store.open(path)
    assert str(path) in str(info.value)


async def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a meshchat database"):
        await Store.open(path)


async def test_insert_and_duplicate_is_noop(store: Store, alice: SigningKey) -> None:
    first = msg(alice, T0)
    assert await put(store, first) == ["ok"]
    assert await put(store, first) == ["dup"]
    assert await store.counts() == {ZONE: 1}
    assert await store.has([first.id, bytes(32)]) == {first.id}
    got = await store.get_record(first.id)
    assert got is not None
    assert got.envelope == first.envelope
    assert await store.get_record(bytes(32)) is None


async def test_batch_in_one_transaction_with_dup_inside(store: Store, alice: SigningKey) -> None:
    batch = [msg(alice, T0 + i, f"m{i}") for i in range(1200)]
    results = await put(store, *batch, batch[5], batch[0])
    assert results == ["ok"] * 1200 + ["dup", "dup"]
    assert await store.counts() == {ZONE: 1200}
    again = await put(store, batch[7], msg(alice, T0 + 5000, "new"))
    assert again == ["dup", "ok"]


async def test_envelopes_in_request_order_and_verbatim(store: Store, alice: SigningKey) -> None:
    a, b, c = (msg(alice, T0 + i, str(i)) for i in range(3))
    await put(store, a, b, c)
    got = await store.get_envelopes([c.id, bytes(32), a.id])
    assert got == [c.envelope, a.envelope]


async def test_quota_per_author_per_hour(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    hour = (T0 // 3_600_000 + 1) * 3_600_000
    mine = [msg(alice, hour + i, f"a{i}") for i in range(5)]
    assert await put(store, *mine[:2], quota=3) == ["ok", "ok"]
    assert await put(store, *mine[2:], quota=3) == ["ok", "reject:quota", "reject:quota"]
    # A duplicate is a dup, not a quota rejection; other authors and hours are apart.
    others = [mine[0], msg(mallory, hour, callsign="MAL"), msg(alice, hour + 3_600_000)]
    assert await put(store, *others, quota=3) == ["dup", "ok", "ok"]
    # Unsigned legacy lines have a quota too, per source (here: "local").
    legacy = [
        rec("legacy", alice, hour + 1000 * i, epoch=hour // 1000 + i, line_id=f"{i:08x}")
        for i in range(5)
    ]
    assert await put(store, *legacy, quota=3) == ["ok"] * 3 + ["reject:quota"] * 2
    others_lines = await store.insert(
        [rec("legacy", alice, hour, epoch=hour // 1000, line_id="0000abcd")],
        origin="peer:elsewhere",
        received_at_ms=NOW,
        quota_per_hour=3,
    )
    assert others_lines == ["ok"]
    # quota 0 means unlimited
    assert await put(store, *mine[3:]) == ["ok", "ok"]


async def test_quota_counts_each_callsign_of_a_shared_node_key_apart(
    store: Store, node_key: SigningKey
) -> None:
    # Callsign-only users of one node all sign with its key: each has their own quota.
    hour = (T0 // 3_600_000 + 1) * 3_600_000
    bob = [msg(node_key, hour + i, f"b{i}", callsign="BOB") for i in range(3)]
    carol = [msg(node_key, hour + 10 + i, f"c{i}", callsign="CAROL") for i in range(3)]
    assert await put(store, *bob, *carol, quota=2) == ["ok", "ok", "reject:quota"] * 2


async def test_a_user_key_rotating_callsigns_has_one_quota(
    store: Store, mallory: SigningKey
) -> None:
    hour = (T0 // 3_600_000 + 1) * 3_600_000
    rotating = [msg(mallory, hour + i, f"m{i}", callsign=f"K{i}ABC") for i in range(5)]
    assert await put(store, *rotating, quota=3) == ["ok"] * 3 + ["reject:quota"] * 2


async def test_items_range_page_and_export(store: Store, alice: SigningKey) -> None:
    batch = [msg(alice, T0 + (i // 3), f"m{i}") for i in range(30)]
    other_zone = rec("msg", alice, T0, zone="Other", callsign="ALICE")
    await put(store, *batch, other_zone)
    order = sorted((r.ts, r.id) for r in batch)
    assert await store.items(ZONE, 0) == order
    assert await store.items(ZONE, T0 + 5) == [o for o in order if o[0] >= T0 + 5]
    page = await store.range_page(ZONE, order[9][0], order[9][1], 7)
    by_id = {r.id: r.envelope for r in batch}
    assert page == [by_id[i] for _, i in order[10:17]]
    exported = [e async for e in store.export(ZONE, page=4)]
    assert exported == [by_id[i] for _, i in order]
    buf = io.BytesIO()
    records.write_stream(exported, buf)
    buf.seek(0)
    assert list(records.read_stream(buf)) == exported
    assert await store.counts() == {ZONE: 30, "Other": 1}


async def test_meta(store: Store) -> None:
    assert await store.meta_get("k") is None
    await store.meta_set("k", "v1")
    await store.meta_set("k", "v2")
    assert await store.meta_get("k") == "v2"


async def test_callsigns_autocomplete(store: Store, alice: SigningKey, mallory: SigningKey) -> None:
    await put(
        store,
        *[msg(alice, T0 + i, callsign="W1AW") for i in range(50)],
        msg(alice, T0 + 60, callsign="W1XYZ"),
        msg(mallory, T0 + 61, callsign="K2ABC"),
        rec("legacy", alice, T0, callsign="N0CALL"),
    )
    assert await store.callsigns(ZONE) == ["K2ABC", "N0CALL", "W1AW", "W1XYZ"]
    assert await store.callsigns(ZONE, "w1") == ["W1AW", "W1XYZ"]
    assert await store.callsigns(ZONE, "W1", limit=1) == ["W1AW"]
    assert await store.callsigns("Other") == []


async def test_channels_counts_and_topics(
    store: Store, alice: SigningKey, mallory: SigningKey
) -> None:
    await put(
        store,
        msg(alice, T0, channel="ops"),
        msg(alice, T0 + 5, channel="ops"),
        msg(alice, T0 + 7),
        msg(alice, T0 + 9, channel="ops", to="BOB"),  # a DM counts nowhere
        rec("channel", alice, T0 + 1, name="ops", topic="first"),
        rec("channel", mallory, T0 + 2, name="ops", topic="hijack"),
        rec("channel", alice, T0 + 3, name="ops", topic="second"),
        rec("channel", mallory, T0 + 4, name="empty", topic="nothing yet"),
    )
    chans = {c.name: c for c in await store.channels(ZONE)}
    assert sorted(chans) == ["", "empty", "ops"]
    ops = chans["ops"]
    assert (ops.topic, ops.count, ops.last_ts) == ("second", 2, T0 + 5)
    assert ops.created_by == bytes(alice.verify_key).hex()
    assert chans[""].count == 1
    assert chans["empty"].to_json() == {
        "name": "empty",
        "topic": "nothing yet",
        "count": 0,
        "last_ts": None,
        "created_by": bytes(mallory.verify_key).hex(),
        "restricted": False,
        "members": [],
        "roles": {},
        "you": None,
        "genesis": chans["empty"].genesis,
        "contested": False,
    }


async def test_node_records_mark_node_keys_across_reopen(tmp_path: Path, alice: SigningKey) -> None:
    path = tmp_path / "s.db"
    store = await Store.open(path)
    try:
        await put(store, rec("node", alice, T0), msg(alice, T0 + 1))
        # A node record alone makes no node key (docs/decisions.md): alice signs as herself.
        assert [m.verified for m in await _all(store)] == ["key"]
        # Once this node has synced with that key directly, it is a node.
        await store.add_direct_peer(bytes(alice.verify_key))
        assert [m.verified for m in await _all(store)] == ["via"]
    finally:
        await store.close()
    store = await Store.open(path)
    try:
        assert [m.verified for m in await _all(store)] == ["via"]
    finally:
        await store.close()


async def _all(store: Store) -> list[object]:
    from meshchat.store.views import MessageQuery

    return list(await store.messages(MessageQuery(ZONE, limit=500)))


async def test_ack_is_durable_across_reopen(tmp_path: Path, alice: SigningKey) -> None:
    path = tmp_path / "s.db"
    store = await Store.open(path)
    try:
        record = msg(alice, T0)
        assert await store.insert([record], origin="peer:x", received_at_ms=NOW) == ["ok"]
    finally:
        await store.close()
    store = await Store.open(path)
    try:
        assert await store.has([record.id]) == {record.id}
    finally:
        await store.close()


async def test_a_full_disk_is_named_as_such_and_heals(store: Store, alice: SigningKey) -> None:
    from meshchat.errors import DiskFull

    await put(store, msg(alice, T0, "before"))
    # SQLite answers SQLITE_FULL past max_page_count exactly as on a full disk.
    async with store._write_lock:
        (pages,) = await store._writer.execute_fetchall("PRAGMA page_count")
        await store._writer.execute(f"PRAGMA max_page_count = {pages[0]}")
    big = [msg(alice, T0 + i + 1, "x" * 20_000) for i in range(20)]
    with pytest.raises(DiskFull, match="full") as info:
        await put(store, *big)
    assert info.value.status == 507 and "not damaged" in info.value.detail
    async with store._write_lock:
        await store._writer.execute("PRAGMA max_page_count = 1073741823")
    assert await put(store, *big) == ["ok"] * 20  # space came back: writes go on
    assert await store.quick_check() == "ok"


async def test_an_empty_database_file_is_refused_not_made_anew(tmp_path: Path) -> None:
    path = tmp_path / "meshchat.db"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match="empty"):
        await Store.open(path)
    assert path.stat().st_size == 0


async def test_damage_in_the_middle_is_found_at_start(tmp_path: Path, alice: SigningKey) -> None:
    path = tmp_path / "meshchat.db"
    store = await Store.open(path)
    await put(store, *(msg(alice, T0 + i, "y" * 900) for i in range(400)))
    await store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 8, page * 16):  # scribble over some b-tree pages
        data[offset] = 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"damaged|corrupt"):
        await Store.open(path)
