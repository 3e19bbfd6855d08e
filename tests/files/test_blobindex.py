"""The index of file records and the store API the legacy bridge reads and fills."""

from __future__ import annotations

import hashlib

import pytest

from meshchat.records import Record
from meshchat.store.blobindex import LegacyFile
from meshchat.store.blobs import BlobStore
from meshchat.store.db import Store
from tests import factories
from tests.files.helpers import file_record, upload

ZONE = factories.ZONE
T0 = factories.FIXED_TS


async def put(store: Store, *records: Record) -> None:
    results = await store.insert(records, origin="local", received_at_ms=T0)
    assert set(results) == {"ok"}


async def test_files_are_listed_newest_first_with_where_their_bytes_are(
    store: Store, blobs: BlobStore
) -> None:
    here, away = b"held here", b"not here"
    await upload(blobs, here)
    a = file_record(here, ts=T0, name="report.pdf", channel="ops")
    b = file_record(away, ts=T0 + 1, name="Photo 1.JPG")
    await put(store, a, b)
    listed = await blobs.index.files(ZONE, "", 10)
    assert [(r.id, held) for r, held in listed] == [(b.id, False), (a.id, True)]
    assert [r.id for r, _ in await blobs.index.files(ZONE, "photo", 10)] == [b.id]
    assert [r.id for r, _ in await blobs.index.files(ZONE, "%", 10)] == []  # LIKE escaped
    missing = await blobs.index.missing(0, 10**9, 10)
    assert [r.id for r in missing] == [b.id]
    assert await blobs.index.missing(0, len(away) - 1, 10) == []  # over the size limit


async def test_a_deleted_file_is_no_longer_listed(store: Store, blobs: BlobStore) -> None:
    key = factories.user_key()
    announced = file_record(b"oops", key=key, ts=T0)
    await put(store, announced)
    assert (await blobs.index.newest_of(announced.body["sha256"])) is not None
    # Someone else's delete does not count.
    await put(store, factories.make_record("delete", ts=T0 + 1, target=announced.id))
    assert len(await blobs.index.files(ZONE, "", 10)) == 1
    await put(store, factories.make_record("delete", ts=T0 + 2, key=key, target=announced.id))
    assert await blobs.index.files(ZONE, "", 10) == []
    assert await blobs.index.newest_of(announced.body["sha256"]) is None


async def test_the_index_follows_records_whatever_path_they_came_by(
    store: Store, blobs: BlobStore
) -> None:
    first = file_record(b"one", ts=T0)
    await put(store, first)
    assert len(await blobs.index.files(ZONE, "", 10)) == 1
    # Later records, many at once and of other kinds too, are caught up on the next read.
    batch = [factories.make_record("msg", ts=T0 + i, text=f"m{i}") for i in range(1, 700)]
    batch += [file_record(f"f{i}".encode(), ts=T0 + 1000 + i) for i in range(600)]
    await store.insert(batch, origin="peer:x", received_at_ms=T0)
    assert len(await blobs.index.files(ZONE, "", 500)) == 500
    assert len(await blobs.index.missing(0, 100, 1000)) == 601


async def test_local_files_for_the_legacy_bridge(store: Store, blobs: BlobStore) -> None:
    old, new, absent = b"first version", b"second version", b"nowhere"
    await upload(blobs, old)
    await upload(blobs, new)
    await put(
        store,
        file_record(old, ts=T0, name="map.png", mime="image/png"),
        file_record(new, ts=T0 + 5000, name="map.png", mime="image/png"),
        file_record(absent, ts=T0 + 9000, name="gone.txt"),
        file_record(old, ts=T0 + 1000, name="../../etc/passwd"),
    )
    files = await blobs.local_files(ZONE)
    assert [(f.name, f.size, f.mtime) for f in files] == [
        ("map.png", len(new), (T0 + 5000) // 1000),
        ("../../etc/passwd", len(old), (T0 + 1000) // 1000),
    ]
    found = await blobs.local_file(ZONE, "map.png")
    assert found is not None and found.sha256 == hashlib.sha256(new).digest()
    assert found.mime == "image/png"
    assert b"".join([p async for p in blobs.iter_bytes(found.sha256)]) == new
    assert await blobs.local_file(ZONE, "gone.txt") is None
    assert await blobs.local_file(ZONE, "passwd") is None  # exact names only
    assert await blobs.local_file("Other", "map.png") is None


async def test_legacy_file_lists_are_replaced_per_peer(blobs: BlobStore) -> None:
    index = blobs.index
    one = [LegacyFile("a.txt", "kd0abc:8080", 10, 1_700_000_000, "node")]
    await index.replace_legacy_files(ZONE, "http://kd0abc:8080", one, T0)
    two = [
        LegacyFile("b.txt", "kd0xyz:8080", 20, 1_700_000_100),
        LegacyFile("c.txt", "kd0xyz:8080", 30, 1_700_000_050),
    ]
    await index.replace_legacy_files(ZONE, "http://kd0xyz:8080", two, T0)
    await index.replace_legacy_files(ZONE, "http://kd0xyz:8080", two[:1], T0 + 1)
    listed = await index.legacy_files(ZONE)
    assert [(x.file.name, x.source) for x in listed] == [
        ("b.txt", "http://kd0xyz:8080"),
        ("a.txt", "http://kd0abc:8080"),
    ]
    assert [x.file.name for x in await index.legacy_files(ZONE, "A.T")] == ["a.txt"]
    assert await index.legacy_files("Other") == []


@pytest.mark.parametrize(
    "fields",
    [
        ("a\tb", "n:8080", 1, 1),
        ("", "n:8080", 1, 1),
        ("a", "n\n:8080", 1, 1),
        ("a", "n:8080", -1, 1),
        ("a", "n:8080", 1, -1),
        ("a" * 256, "n:8080", 1, 1),
    ],
)
def test_a_legacy_file_must_be_a_well_formed_line(fields: tuple[str, str, int, int]) -> None:
    with pytest.raises(ValueError):
        LegacyFile(*fields)
