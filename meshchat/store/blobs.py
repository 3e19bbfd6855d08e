"""Content-addressed blobs under ``data_dir/blobs/`` (DESIGN §5.4): the only code touching them.

Layout: ``blobs/ab/<sha256 hex>`` verified blobs (fan-out by the first two hex digits),
``blobs/partial/<sha256 hex>`` downloads in progress (resumed from their length), and
``blobs/tmp/`` uploads in flight (emptied at open). A blob becomes visible — a ``blobs``
row — only once its bytes hashed to its name, were fsynced and renamed into place. Names
of files are never paths: only hex digests are. Every file call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from meshchat.clock import wall_ms
from meshchat.config import FilesConfig
from meshchat.records import Record
from meshchat.store.blobindex import BlobIndex, BlobRow
from meshchat.store.blobio import Reader, hash_prefix, place, sweep
from meshchat.store.blobwrite import BlobError, NoRoom, Partial, TooLarge, Upload
from meshchat.store.db import Store

Shows = Callable[[Record], bool]  # whether the asker may see a file record

log = logging.getLogger(__name__)

__all__ = ["BlobError", "BlobStore", "LocalFile", "NoRoom", "Partial", "TooLarge", "Upload"]

EVICT_BATCH = 32
NEWEST = 2**63 - 1  # a file_ts newer than any: may evict every unpinned blob


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file announced in a zone whose bytes are on this node (for the legacy bridge)."""

    name: str
    size: int
    mtime: int  # Unix seconds: the announcing record's timestamp
    sha256: bytes
    mime: str
    record_id: bytes


def _local(record: Record) -> LocalFile:
    body = record.body
    return LocalFile(
        str(body["name"]),
        int(body["size"]),
        record.ts // 1000,
        bytes(body["sha256"]),
        str(body["mime"]),
        record.id,
    )


class BlobStore:
    """Verified blobs on disk, their quota, eviction, uploads and resumable downloads."""

    def __init__(
        self, index: BlobIndex, root: Path, *, quota_bytes: int, max_file_bytes: int
    ) -> None:
        self.index = index
        self.root = Path(root)
        self.quota_bytes = quota_bytes
        self.max_file_bytes = max_file_bytes
        self._reserved: dict[bytes, int] = {}  # downloads in progress: their full size
        self._lock = asyncio.Lock()  # admission and eviction, one at a time

    @classmethod
    async def create(cls, store: Store, root: Path, files: FilesConfig) -> BlobStore:
        """Return the blob store of a node under ``root``, opened (see ``open``)."""
        blobs = cls(
            BlobIndex(store),
            root,
            quota_bytes=files.quota_bytes,
            max_file_bytes=files.max_file_bytes,
        )
        await blobs.open()
        return blobs

    def _path(self, sha256: bytes) -> Path:
        digest = sha256.hex()
        return self.root / digest[:2] / digest

    def _partial(self, sha256: bytes) -> Path:
        return self.root / "partial" / sha256.hex()

    async def open(self) -> None:
        """Create the folders, empty ``tmp/`` and make the index and the disk agree."""
        held = await self.index.all_blobs()
        wanted = {self._path(sha): sha for sha in held}
        gone = await asyncio.to_thread(sweep, self.root, set(wanted))
        for path in gone:  # a row whose file vanished (or a crash before its rename)
            await self.index.drop_blob(wanted[path])
        await self.index.catch_up()
        await self.index.drop_pruned()

    # --- reading ------------------------------------------------------------------------------

    async def info(self, sha256: bytes) -> BlobRow | None:
        """Return the held blob ``sha256``, or None."""
        return await self.index.blob(sha256)

    async def held(self, hashes: Collection[bytes]) -> set[bytes]:
        """Return which of ``hashes`` are held."""
        return await self.index.held(hashes)

    async def usage(self) -> dict[str, int]:
        """Return what the blobs take: ``{count, bytes, reserved, quota_bytes}``."""
        count, used = await self.index.usage()
        reserved = sum(self._reserved.values())
        return {"count": count, "bytes": used, "reserved": reserved, "quota": self.quota_bytes}

    @contextlib.asynccontextmanager
    async def reader(self, sha256: bytes) -> AsyncIterator[Reader | None]:
        """Open a held blob for reading (None when it is not held); closed on exit."""
        row = await self.index.blob(sha256)
        found = None
        if row is not None:
            found = await asyncio.to_thread(Reader.open, self._path(sha256), row.size)
        try:
            yield found
        finally:
            if found is not None:
                await asyncio.to_thread(found.close)

    async def iter_bytes(
        self, sha256: bytes, start: int = 0, end: int | None = None, piece: int = 64 * 1024
    ) -> AsyncGenerator[bytes, None]:
        """Yield the bytes ``start..end`` (inclusive; default: all) of a held blob."""
        async with self.reader(sha256) as reader:
            if reader is None:
                return
            last = reader.size - 1 if end is None else min(end, reader.size - 1)
            offset = start
            while offset <= last:
                size = min(piece, last - offset + 1)
                data = await asyncio.to_thread(reader.read_at, offset, size)
                if not data:
                    return
                offset += len(data)
                yield data

    # --- for the legacy bridge (local_files_raw, file_download) -----------------------------

    async def local_files(
        self, zone: str, limit: int = 500, shows: Shows = lambda record: True
    ) -> list[LocalFile]:
        """Return the zone's files whose bytes are here, newest first, one per name.

        ``shows`` leaves out the records the asker may not see (the access rules).
        """
        seen: dict[str, LocalFile] = {}
        for record in await self.index.held_files(zone, limit * 2):
            if shows(record):
                seen.setdefault(str(record.body["name"]), _local(record))
        return list(seen.values())[:limit]

    async def local_file(
        self, zone: str, name: str, shows: Shows = lambda record: True
    ) -> LocalFile | None:
        """Return the newest file of the zone named exactly ``name`` held here, or None."""
        record = await self.index.held_by_name(zone, name)
        return _local(record) if record is not None and shows(record) else None

    # --- writing ------------------------------------------------------------------------------

    def upload(self) -> Upload:
        """Start an upload to a temporary file (hashed as it arrives, cut at the size limit)."""
        return Upload(self, self.root / "tmp" / f"{secrets.token_hex(8)}.upload")

    async def download(
        self, sha256: bytes, size: int, file_ts: int, *, force: bool = False
    ) -> Partial:
        """Reserve room for a blob announced at ``file_ts`` and open (or resume) its partial.

        Room is made only by evicting blobs announced before it (NoRoom otherwise), so a
        node whose quota is full keeps the newest files; ``force`` (someone asked for this
        very file) evicts the oldest whatever their age.
        """
        if size > self.max_file_bytes:
            raise TooLarge(f"{size} bytes is over this node's limit of {self.max_file_bytes}")
        async with self._lock:
            if sha256 in self._reserved:
                raise BlobError("this blob is already being fetched")
            await self._make_room(size, NEWEST if force else file_ts)
            self._reserved[sha256] = size
        try:
            path = self._partial(sha256)
            hasher, length = await asyncio.to_thread(hash_prefix, path, size)
        except BaseException:
            self._reserved.pop(sha256, None)
            raise
        return Partial(self, sha256, size, path, hasher, length, NEWEST if force else file_ts)

    async def announced(self, sha256: bytes, file_ts: int) -> None:
        """A newer file record announces a held blob: evict it no earlier than that."""
        await self.index.announced(sha256, file_ts)

    async def room_for(self, size: int) -> bool:
        """Tell whether a new upload of ``size`` could be admitted (evicting unpinned ones)."""
        if size > self.max_file_bytes or size > self.quota_bytes:
            return False
        count, used = await self.index.usage()
        del count
        if used + sum(self._reserved.values()) + size <= self.quota_bytes:
            return True
        evictable = sum(s for _, s in await self.index.evictable(10_000, NEWEST))
        return used - evictable + sum(self._reserved.values()) + size <= self.quota_bytes

    async def _make_room(self, size: int, file_ts: int, reserved_for: bytes | None = None) -> None:
        """Evict the oldest unpinned blobs older than ``file_ts`` until ``size`` more fits."""
        if size > self.quota_bytes:
            raise NoRoom(f"{size} bytes is over this node's file quota ({self.quota_bytes})")
        _, used = await self.index.usage()
        reserved = sum(s for sha, s in self._reserved.items() if sha != reserved_for)
        while used + reserved + size > self.quota_bytes:
            victims = await self.index.evictable(EVICT_BATCH, file_ts)
            if not victims:
                raise NoRoom("the file quota is full of newer or pinned files")
            for sha, victim_size in victims:
                await self._evict(sha)
                used -= victim_size
                if used + reserved + size <= self.quota_bytes:
                    break

    async def _evict(self, sha256: bytes) -> None:
        # The row goes first: from then on nobody opens the file (readers that already
        # have it open keep reading: POSIX unlink).
        await self.index.drop_blob(sha256)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.unlink, self._path(sha256))
        log.info("evicted blob %s to stay within the file quota", sha256.hex()[:16])

    async def evict(self, sha256: bytes) -> None:
        """Remove a held blob (its ``file`` records stay and show it is not here)."""
        async with self._lock:
            await self._evict(sha256)

    async def pin(self, sha256: bytes, pinned: bool = True) -> None:
        """Pin a held blob (never evicted) or unpin it."""
        await self.index.set_pinned(sha256, pinned)

    async def _admit(
        self, sha256: bytes, size: int, source: Path, pinned: bool, file_ts: int | None = None
    ) -> BlobRow:
        """Move verified bytes into place and record them (or keep the copy already held)."""
        now = wall_ms()
        async with self._lock:
            held = await self.index.blob(sha256)
            if held is None:
                # An upload, or a download someone asked for, counts as announced now.
                ts = now if file_ts is None or file_ts == NEWEST else file_ts
                await self._make_room(size, NEWEST if ts == now else ts, reserved_for=sha256)
                await asyncio.to_thread(place, source, self._path(sha256))
                await self.index.add_blob(sha256, size, pinned, now, ts)
            else:
                with contextlib.suppress(FileNotFoundError):
                    await asyncio.to_thread(os.unlink, source)
                if pinned and not held.pinned:
                    await self.index.set_pinned(sha256, True)
        found = await self.index.blob(sha256)
        assert found is not None
        return found
