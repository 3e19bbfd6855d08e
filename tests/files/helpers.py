"""Builders for the files tests: file records announcing given bytes, blob stores in tmp."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from meshchat.records import Record
from meshchat.store.blobindex import BlobIndex
from meshchat.store.blobs import BlobStore
from meshchat.store.db import Store
from tests import factories

MIB = 1024 * 1024


def file_record(
    data: bytes, *, key: SigningKey | None = None, ts: int | None = None, **body: Any
) -> Record:
    """A signed ``file`` record announcing ``data`` (name, channel, node overridable)."""
    body.setdefault("name", "notes.txt")
    body.setdefault("mime", "text/plain")
    body.setdefault("size", len(data))
    body.setdefault("sha256", hashlib.sha256(data).digest())
    return factories.make_record("file", ts=ts, key=key, **body)


async def blob_store(
    store: Store, root: Path, *, quota: int = 64 * MIB, max_file: int = 16 * MIB
) -> BlobStore:
    """Return an opened blob store under ``root`` on ``store``."""
    blobs = BlobStore(BlobIndex(store), root, quota_bytes=quota, max_file_bytes=max_file)
    await blobs.open()
    return blobs


async def upload(blobs: BlobStore, data: bytes, *, pinned: bool = True, piece: int = 7000) -> bytes:
    """Upload ``data`` in pieces; return its SHA-256."""
    up = blobs.upload()
    for start in range(0, len(data), piece):
        await up.write(data[start : start + piece])
    row = await up.commit(pinned=pinned)
    return row.sha256


async def read_all(blobs: BlobStore, sha256: bytes) -> bytes:
    """Return every byte of a held blob."""
    return b"".join([piece async for piece in blobs.iter_bytes(sha256)])
