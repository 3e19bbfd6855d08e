"""Where log lines go: timestamped lines on a terminal, ``<N>`` priorities in the journal.

When systemd connects stderr to the journal it sets ``JOURNAL_STREAM=DEV:INODE`` of that
stream; each line then starts with its syslog priority (``<3>`` error … ``<7>`` debug, as
sd-daemon(3) describes) and carries no timestamp of ours, since the journal adds its own.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
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


class RepeatFilter(logging.Filter):
    """Let the same line through at most ``burst`` times a ``window_s``, then say how many went.

    "The same line" is its logger and message template, so a flood of one failure (a
    peer's bad requests, a full disk, ``accept`` failing for want of descriptors) costs a
    few lines a minute instead of filling the disk that holds the journal.
    """

    def __init__(
        self, burst: int = 10, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}  # key -> (start, count)

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether ``record`` is written; note what a new window left out."""
        key = (record.name, record.msg)
        now = self.clock()
        start, count = self._seen.get(key, (now, 0))
        if now - start >= self.window_s:
            if count > self.burst:
                record.msg = f"{record.msg} ({count - self.burst} more like it left out)"
            start, count = now, 0
        self._seen[key] = (start, count + 1)
        if len(self._seen) > MAX_KEYS:
            self._seen = dict(list(self._seen.items())[-MAX_KEYS // 2 :])
        return count < self.burst


MAX_KEYS = 1000  # different lines remembered


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler ``configure`` installs (so a second call replaces it)."""


def configure(
    level: str, stream: TextIO | None = None, env: Mapping[str, str] | None = None
) -> bool:
    """Send the root logger's lines to ``stream`` (stderr); tell whether it is the journal."""
    stream = stream or sys.stderr
    journal = is_journal(stream, env)
    handler = _Handler(stream)
    handler.addFilter(RepeatFilter())
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
