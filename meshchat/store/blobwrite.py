"""Writing blobs (DESIGN §5.4): an upload in flight and a download in progress.

Both write through ``store.blobio`` in worker threads and hand verified bytes to
``BlobStore._admit``, which alone decides what becomes visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshchat.errors import MeshchatError
from meshchat.store.blobio import write_at_end

if TYPE_CHECKING:
    from meshchat.store.blobindex import BlobRow
    from meshchat.store.blobs import BlobStore

FLUSH_BYTES = 256 * 1024  # an upload is written in pieces of this size: never all in memory


class BlobError(MeshchatError):
    """A blob cannot be taken: too large for this node, no room, or not what it claims."""

    status = 400
    code = "bad_blob"


class TooLarge(BlobError):
    status = 413
    code = "too_large"


class NoRoom(BlobError):
    status = 507
    code = "quota_full"


class Upload:
    """One upload: written to ``tmp/`` in pieces, hashed as it arrives, cut at the limit."""

    def __init__(self, store: BlobStore, path: Path) -> None:
        self.store = store
        self.path = path
        self.size = 0
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self._started = False

    async def write(self, data: bytes) -> None:
        """Take the next bytes; TooLarge (and the file is gone) once past the limit."""
        if self.size + len(data) > self.store.max_file_bytes:
            await self.abort()
            raise TooLarge(f"files are at most {self.store.max_file_bytes} bytes on this node")
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        data, self._buffer = bytes(self._buffer), bytearray()
        self._started = True
        await asyncio.to_thread(write_at_end, self.path, data, self._hash, sync=False)

    async def commit(self, pinned: bool = True) -> BlobRow:
        """Verify nothing more, fsync, and admit the blob under its SHA-256."""
        self._started = True
        await asyncio.to_thread(write_at_end, self.path, bytes(self._buffer), self._hash, sync=True)
        self._buffer = bytearray()
        try:
            return await self.store._admit(self._hash.digest(), self.size, self.path, pinned)
        except BaseException:
            await self.abort()
            raise

    async def abort(self) -> None:
        """Drop what was written."""
        self._buffer = bytearray()
        if self._started:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(os.unlink, self.path)


class Partial:
    """A download in progress: appended to in order, verified against its hash at the end."""

    def __init__(
        self,
        store: BlobStore,
        sha256: bytes,
        size: int,
        path: Path,
        hasher: Any,
        offset: int,
        file_ts: int,
    ) -> None:
        self.store = store
        self.sha256 = sha256
        self.size = size
        self.path = path
        self.offset = offset  # the bytes already here: the next request starts at this one
        self.file_ts = file_ts
        self._hash = hasher

    async def append(self, data: bytes) -> None:
        """Append the next bytes (they must not pass the announced size)."""
        if self.offset + len(data) > self.size:
            raise BlobError("more bytes than the file record announced")
        await asyncio.to_thread(write_at_end, self.path, data, self._hash, sync=False)
        self.offset += len(data)

    async def finish(self, pinned: bool = False) -> bool:
        """Verify the whole blob; admit it if its SHA-256 matches, else drop it (False)."""
        if self.offset != self.size or self._hash.digest() != self.sha256:
            await self.discard()
            return False
        await asyncio.to_thread(write_at_end, self.path, b"", self._hash, sync=True)
        await self.store._admit(self.sha256, self.size, self.path, pinned, self.file_ts)
        return True

    async def discard(self) -> None:
        """Throw away the bytes fetched so far (they cannot be right)."""
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, self.path)
        self.offset = 0
        self._hash = hashlib.sha256()

    def close(self) -> None:
        """Give the reservation back; the partial file stays for a later resume."""
        self.store._reserved.pop(self.sha256, None)
