"""The blocking file calls of ``store.blobs``, each run in a worker thread, never on the loop."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

_DIGEST = re.compile(r"[0-9a-f]{64}")
_FAN = re.compile(r"[0-9a-f]{2}")
PARTIAL_MAX_AGE_S = 7 * 86_400  # a download nobody resumed for a week is given up
READ_PIECE = 1024 * 1024


class Reader:
    """An open blob file, read at offsets."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.size = size

    @classmethod
    def open(cls, path: Path, size: int) -> Reader | None:
        """Open ``path``; None when it is gone (evicted meanwhile)."""
        try:
            return cls(os.open(path, os.O_RDONLY), size)
        except FileNotFoundError:
            return None

    def read_at(self, offset: int, length: int) -> bytes:
        """Return up to ``length`` bytes from ``offset``."""
        return os.pread(self.fd, length, offset)

    def close(self) -> None:
        """Close the file."""
        os.close(self.fd)


def write_at_end(path: Path, data: bytes, hasher: Any, *, sync: bool) -> None:
    """Append ``data`` to ``path`` (created if need be) and feed it to ``hasher``."""
    with path.open("ab") as fh:
        fh.write(data)
        hasher.update(data)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())


def hash_prefix(path: Path, size: int) -> tuple[Any, int]:
    """Return a SHA-256 fed with what a partial file holds, and its length (to resume)."""
    hasher = hashlib.sha256()
    try:
        length = path.stat().st_size
    except FileNotFoundError:
        return hasher, 0
    if length > size:  # longer than announced: it cannot be this blob
        path.unlink()
        return hasher, 0
    with path.open("rb") as fh:
        while piece := fh.read(READ_PIECE):
            hasher.update(piece)
    return hasher, length


def place(source: Path, target: Path) -> None:
    """Rename a verified, fsynced file into place and make the rename durable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep(root: Path, wanted: Collection[Path]) -> list[Path]:
    """Create the folders, empty ``tmp/``, drop strays; return the wanted files missing."""
    for sub in ("", "partial", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for stray in (root / "tmp").iterdir():
        stray.unlink(missing_ok=True)
    now = time.time()
    for partial in (root / "partial").iterdir():
        stale = now - partial.stat().st_mtime > PARTIAL_MAX_AGE_S
        if stale or not _DIGEST.fullmatch(partial.name):
            partial.unlink(missing_ok=True)
    keep = set(wanted)
    for fan in root.iterdir():
        if not fan.is_dir() or not _FAN.fullmatch(fan.name):
            continue
        for blob in fan.iterdir():
            # A file without a row: a crash between its rename and its commit. Fetch again.
            if blob not in keep:
                blob.unlink(missing_ok=True)
    return [path for path in keep if not path.is_file()]
