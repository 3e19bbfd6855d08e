"""Where log lines go: timestamped lines on a terminal, ``<N>`` priorities in the journal.

When systemd connects stderr to the journal it sets ``JOURNAL_STREAM=DEV:INODE`` of that
stream; each line then starts with its syslog priority (``<3>`` error … ``<7>`` debug, as
sd-daemon(3) describes) and carries no timestamp of ours, since the journal adds its own.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(name)s: %(message)s"
_PRIORITIES = ((logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
_CRITICAL = 2
_DEBUG = 7


def priority(levelno: int) -> int:
    """Return the syslog priority of a logging level (CRITICAL 2 … DEBUG 7)."""
    if levelno >= logging.CRITICAL:
        return _CRITICAL
    return next((prio for level, prio in _PRIORITIES if levelno >= level), _DEBUG)


class JournalFormatter(logging.Formatter):
    """Prefix every line of a record (a traceback too) with the record's priority."""

    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as ``<N>``-prefixed lines."""
        prefix = f"<{priority(record.levelno)}>"
        lines = super().format(record).splitlines() or [""]
        return "\n".join(prefix + line for line in lines)


def is_journal(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """Tell whether ``stream`` is the journal stream systemd named in ``JOURNAL_STREAM``."""
    dev, _, inode = (os.environ if env is None else env).get("JOURNAL_STREAM", "").partition(":")
    if not (dev.isdigit() and inode.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(inode))


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler ``configure`` installs (so a second call replaces it)."""


def configure(
    level: str, stream: TextIO | None = None, env: Mapping[str, str] | None = None
) -> bool:
    """Send the root logger's lines to ``stream`` (stderr); tell whether it is the journal."""
    stream = stream or sys.stderr
    journal = is_journal(stream, env)
    handler = _Handler(stream)
    handler.setFormatter(JournalFormatter() if journal else logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    set_level(level)
    return journal


def set_level(level: str) -> None:
    """Change the level of the root logger (``node.log_level``, applied again on SIGHUP)."""
    logging.getLogger().setLevel(level.upper())
