"""What the legacy surface offers as files: nothing until the files layer exists.

``local_files_raw`` lists the files this node holds and ``file_download`` hands one out by
name. Both go through a ``FileSource`` the root hands the bridge; the built-in one holds
no file, so the list is empty and every download answers ``no file``. A name from a
request is only ever a key for the source to look up, never a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
