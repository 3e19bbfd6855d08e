"""What the legacy surface offers as files, and where legacy peers' file lists go.

``local_files_raw`` lists the files this node holds and ``file_download`` hands one out by
name. Both go through a ``FileSource`` the root hands the bridge: ``BlobFiles`` over the
node's content-addressed blobs (the files of the bridged zone whose bytes are here). A
name from a request is only ever a key to look up, never a path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from meshchat.legacy.lists import LegacyFile
from meshchat.store import blobindex
from meshchat.store.blobs import BlobStore, Shows


@dataclass(frozen=True, slots=True)
class OfferedFile:
    """A file this node offers: its name, size in bytes and modification time (Unix s)."""

    name: str
    size: int
    mtime: int


class FileSource(Protocol):
    """The files this node holds, as the legacy surface needs them."""

    async def offered(self) -> list[OfferedFile]:
        """Return the files this node offers for download."""
        ...

    async def read(self, name: str) -> bytes | None:
        """Return the bytes of the file called ``name``, or None when there is none."""
        ...


class NoFiles:
    """The files layer is not there yet: no file is offered and none can be read."""

    async def offered(self) -> list[OfferedFile]:
        """Return no file."""
        return []

    async def read(self, name: str) -> bytes | None:
        """Find no file, whatever the name."""
        del name
        return None


class BlobFiles:
    """The bridged zone's files whose bytes this node holds (``store.blobs``)."""

    def __init__(self, blobs: BlobStore, zone: str, max_bytes: int) -> None:
        self.blobs = blobs
        self.zone = zone
        self.max_bytes = max_bytes  # a legacy download is one reply: at most a file's limit

    async def _shows(self) -> Shows:
        # What anyone may see: nothing of a members-only channel goes to a legacy node.
        return (await self.blobs.index.store.access(self.zone)).reader(None).shows_record

    async def offered(self) -> list[OfferedFile]:
        """Return the zone's files held here, newest first, one per name."""
        held = await self.blobs.local_files(self.zone, shows=await self._shows())
        return [OfferedFile(f.name, f.size, f.mtime) for f in held]

    async def read(self, name: str) -> bytes | None:
        """Return the bytes of the newest held file named exactly ``name``, or None."""
        found = await self.blobs.local_file(self.zone, name, await self._shows())
        if found is None or found.size > self.max_bytes:
            return None
        async with contextlib.aclosing(self.blobs.iter_bytes(found.sha256)) as stream:
            data = b"".join([piece async for piece in stream])
        return data if len(data) == found.size else None


FileLists = Callable[[str, Sequence[LegacyFile]], Awaitable[None]]


def blob_lists(blobs: BlobStore, zone: str, clock: Callable[[], int]) -> FileLists:
    """Return where a legacy peer's file list goes: the files view, with a link to the node."""

    async def keep(source: str, files: Sequence[LegacyFile]) -> None:
        listed = []
        for f in files:
            try:
                listed.append(blobindex.LegacyFile(f.name, f.node, f.size, f.mtime, f.platform))
            except ValueError:
                continue  # a cell the files view would refuse: left out, as a bad line is
        await blobs.index.replace_legacy_files(zone, source, listed, clock())

    return keep
