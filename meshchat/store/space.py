"""Telling a full disk from a damaged database, and saying which it is (issue 11).

SQLite reports both as a ``DatabaseError``; an operator told "corrupt" would delete a
healthy database, so a full disk is named as such, with the free space and what to do.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)
LOG_EVERY_S = 60.0
_last_logged = [0.0]  # when the last disk-full line was written


def is_disk_full(exc: BaseException) -> bool:
    """Tell whether SQLite (or the OS under it) said the disk is full."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code == getattr(sqlite3, "SQLITE_FULL", 13):
        return True
    return isinstance(exc, sqlite3.Error) and "disk is full" in str(exc).lower()


def free_bytes(path: Path) -> int | None:
    """Return the free space of the file system holding ``path`` (None if unknown)."""
    try:
        return shutil.disk_usage(path.parent).free
    except OSError:
        return None


def disk_full_detail(path: Path) -> str:
    """Say what happened and what to do, and log it (at most once a minute)."""
    free = free_bytes(path)
    shown = "unknown" if free is None else f"{free // 1024} KiB"
    detail = (
        f"the disk holding {path} is full ({shown} free): nothing more is stored until "
        "space is freed; the database is not damaged"
    )
    now = time.monotonic()
    if now - _last_logged[0] > LOG_EVERY_S:
        _last_logged[0] = now
        log.error("%s", detail)
    return detail
