"""The blob store: content addressing, limits, resumable downloads, quota and eviction."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from meshchat.store.blobs import BlobError, BlobStore, NoRoom, TooLarge
from meshchat.store.db import Store
from tests.files.helpers import blob_store, read_all, upload


def on_disk(root: Path) -> list[str]:
    """Every file under ``root``, relative."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_an_upload_is_stored_once_under_its_sha256(blobs: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(600_000)  # more than one flush piece
    sha = await upload(blobs, data)
    assert sha == hashlib.sha256(data).digest()
    assert await upload(blobs, data) == sha  # the same bytes again: kept once
    hexed = sha.hex()
    assert on_disk(tmp_path / "blobs") == [f"{hexed[:2]}/{hexed}"]
    assert await read_all(blobs, sha) == data
    usage = await blobs.usage()
    assert (usage["count"], usage["bytes"]) == (1, len(data))
    row = await blobs.info(sha)
    assert row is not None and row.pinned and row.size == len(data)


async def test_an_upload_is_cut_when_it_passes_the_limit(store: Store, tmp_path: Path) -> None:
    blobs = await blob_store(store, tmp_path / "blobs", max_file=100_000)
    up = blobs.upload()
    await up.write(b"x" * 99_000)
    with pytest.raises(TooLarge):
        await up.write(b"x" * 2_000)
    assert on_disk(tmp_path / "blobs") == []
    assert (await blobs.usage())["count"] == 0


async def test_ranges_read_back_exactly(blobs: BlobStore) -> None:
    data = bytes(range(256)) * 1000
    sha = await upload(blobs, data)
    got = b"".join([p async for p in blobs.iter_bytes(sha, 1000, 70_000, piece=4096)])
    assert got == data[1000:70_001]
    assert [p async for p in blobs.iter_bytes(os.urandom(32))] == []


async def test_a_download_resumes_from_its_partial_file(blobs: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    sha = hashlib.sha256(data).digest()
    first = await blobs.download(sha, len(data), 1)
    await first.append(data[:40_000])
    first.close()  # the link went away; the partial file stays
    assert (await blobs.info(sha)) is None
    again = await blobs.download(sha, len(data), 1)
    assert again.offset == 40_000
    await again.append(data[40_000:])
    assert await again.finish()
    again.close()
    assert await read_all(blobs, sha) == data
    assert not any("partial" in p for p in on_disk(tmp_path / "blobs"))


async def test_bytes_that_do_not_match_their_hash_are_refused(blobs: BlobStore) -> None:
    data = os.urandom(50_000)
    sha = hashlib.sha256(data).digest()
    partial = await blobs.download(sha, len(data), 1)
    await partial.append(data[:-1] + bytes([data[-1] ^ 1]))
    assert not await partial.finish()
    assert partial.offset == 0  # dropped: the next attempt starts over
    with pytest.raises(BlobError):
        await partial.append(b"x" * (len(data) + 1))  # more than announced
    partial.close()
    assert await blobs.info(sha) is None


async def test_one_download_of_a_blob_at_a_time(blobs: BlobStore) -> None:
    sha = hashlib.sha256(b"abc").digest()
    partial = await blobs.download(sha, 3, 1)
    with pytest.raises(BlobError):
        await blobs.download(sha, 3, 1)
    partial.close()
    (await blobs.download(sha, 3, 1)).close()


async def test_quota_evicts_the_oldest_unpinned_blobs_first(store: Store, tmp_path: Path) -> None:
    blobs = await blob_store(store, tmp_path / "blobs", quota=250_000, max_file=100_000)
    pinned = await upload(blobs, os.urandom(100_000), pinned=True)
    old = await upload(blobs, os.urandom(60_000), pinned=False)
    new = await upload(blobs, os.urandom(60_000), pinned=False)
    assert await blobs.room_for(60_000)
    newest = await upload(blobs, os.urandom(60_000), pinned=False)  # needs 30,000 more
    assert await blobs.held([pinned, old, new, newest]) == {pinned, new, newest}
    assert (await blobs.usage())["bytes"] <= 250_000
    # Room for a download is made the same way, only by evicting files announced before
    # it, and a reservation counts until it ends.
    data = os.urandom(90_000)
    sha = hashlib.sha256(data).digest()
    with pytest.raises(NoRoom):  # announced long ago: it would push newer files out
        await blobs.download(sha, len(data), 1)
    assert await blobs.held([new, newest]) == {new, newest}
    partial = await blobs.download(sha, len(data), 2**62)
    assert await blobs.held([new, newest]) == {newest}  # 160,000 + 90,000 fits
    await partial.append(data)
    assert await partial.finish()
    partial.close()
    # Asked for by someone here, an old file is fetched anyway and counts as new.
    old_data = os.urandom(50_000)
    forced = await blobs.download(hashlib.sha256(old_data).digest(), 50_000, 1, force=True)
    assert await blobs.held([newest, sha]) == {sha}
    await forced.append(old_data)
    assert await forced.finish()
    forced.close()


async def test_pinned_blobs_are_never_evicted(store: Store, tmp_path: Path) -> None:
    blobs = await blob_store(store, tmp_path / "blobs", quota=150_000, max_file=100_000)
    kept = await upload(blobs, os.urandom(100_000), pinned=True)
    assert not await blobs.room_for(60_000)
    with pytest.raises(NoRoom):
        await upload(blobs, os.urandom(60_000), pinned=False)
    with pytest.raises(TooLarge):
        await blobs.download(os.urandom(32), 100_001, 1)
    assert await blobs.held([kept]) == {kept}
    await blobs.pin(kept, False)
    assert await blobs.room_for(60_000)


async def test_open_sweeps_leftovers_and_forgets_vanished_files(
    store: Store, tmp_path: Path
) -> None:
    root = tmp_path / "blobs"
    blobs = await blob_store(store, root)
    kept = await upload(blobs, b"kept")
    lost = await upload(blobs, b"lost")
    (root / "tmp" / "x.upload").write_bytes(b"an upload the node died in")
    stray = root / "ab" / ("ab" + "0" * 62)
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"renamed, never committed")
    (root / "partial" / "not-a-digest").write_bytes(b"?")
    lost_hex = lost.hex()
    (root / lost_hex[:2] / lost_hex).unlink()
    again = await blob_store(store, root)
    assert await again.held([kept, lost]) == {kept}
    kept_hex = kept.hex()
    assert on_disk(root) == [f"{kept_hex[:2]}/{kept_hex}"]


async def test_an_empty_file_is_a_blob_too(blobs: BlobStore) -> None:
    sha = hashlib.sha256(b"").digest()
    assert await upload(blobs, b"") == sha
    assert await read_all(blobs, sha) == b""
