"""``users_raw`` and ``local_files_raw``, sans-I/O (LEGACY.md "What a peer serves").

Users: ``call_sign \\t browser_id \\t node \\t epoch \\t platform`` for the users logged in
on the serving node. Files: ``file \\t node:port \\t size \\t mtime \\t platform``, where every
Lua version leaves out the TAB before the platform (``1795314416node``). Peers' lists are
read leniently, as legacy nodes read them: a line that does not fit is skipped, never
fatal; nothing in them is ever used as a path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from meshchat.errors import RemoteProtocolError

_CELL = re.compile(r"[^\t\r\n]{0,128}")
_DIGITS = re.compile(r"[0-9]{1,12}")
_GLUED = re.compile(r"([0-9]{1,12})([A-Za-z][A-Za-z0-9_-]{0,15})")  # Lua: mtime+platform


def _need(ok: bool, detail: str) -> None:
    if not ok:
        raise RemoteProtocolError(detail)


def _cells(*values: str) -> None:
    for value in values:
        _need(isinstance(value, str) and _CELL.fullmatch(value) is not None, "bad list cell")


@dataclass(frozen=True, slots=True)
class LegacyUser:
    """A user logged in on a legacy node (or on this one, as legacy nodes are told)."""

    callsign: str
    browser_id: str
    node: str
    epoch: int
    platform: str

    def __post_init__(self) -> None:
        """Refuse a value that cannot be one line of five cells."""
        _cells(self.callsign, self.browser_id, self.node, self.platform)
        _need(bool(self.callsign) and bool(self.node), "a user needs a callsign and a node")
        _need(type(self.epoch) is int and 0 <= self.epoch < 10**12, "bad user epoch")

    def to_line(self) -> str:
        """Return the ``users_raw`` line (no newline)."""
        return "\t".join(
            (self.callsign, self.browser_id, self.node, str(self.epoch), self.platform)
        )


@dataclass(frozen=True, slots=True)
class LegacyFile:
    """A file a node offers for download, as ``local_files_raw`` lists it."""

    name: str
    node: str  # ``node:port``: where browsers download it from
    size: int
    mtime: int
    platform: str

    def __post_init__(self) -> None:
        """Refuse a value that cannot be one line of five cells."""
        _cells(self.name, self.node, self.platform)
        _need(bool(self.name), "a file needs a name")
        for value in (self.size, self.mtime):
            _need(type(value) is int and 0 <= value < 10**15, "bad file size or time")

    def to_line(self) -> str:
        """Return the ``local_files_raw`` line (no newline), with the TAB Lua leaves out."""
        return "\t".join((self.name, self.node, str(self.size), str(self.mtime), self.platform))


def browser_id(callsign: str, node: str) -> str:
    """Return the 8-hex browser id a meshchat user is listed with (stable, so merges match)."""
    return hashlib.sha256(f"{callsign}\t{node}".encode()).hexdigest()[:8]


def _lines(body: bytes, max_lines: int) -> list[str]:
    text = body.decode("utf-8", "replace")
    return [line for line in text.split("\n") if line][:max_lines]


def parse_users(body: bytes, max_lines: int = 1000) -> list[LegacyUser]:
    """Return the users a peer lists; a line without 4 cells or with ``error`` is skipped."""
    users = []
    for line in _lines(body, max_lines):
        cells = line.rstrip("\r").split("\t")
        if "error" in line or len(cells) < 4 or not _DIGITS.fullmatch(cells[3]):
            continue
        platform = cells[4] if len(cells) > 4 else ""
        try:
            users.append(LegacyUser(cells[0], cells[1], cells[2], int(cells[3]), platform))
        except RemoteProtocolError:
            continue
    return users


def parse_files(body: bytes, max_lines: int = 1000) -> list[LegacyFile]:
    """Return the files a peer lists, with or without the TAB before the platform."""
    files = []
    for line in _lines(body, max_lines):
        cells = line.rstrip("\r").split("\t")
        if len(cells) == 4:  # every Lua version: "mtime" and "platform" glued together
            glued = _GLUED.fullmatch(cells[3])
            cells = [*cells[:3], *glued.groups()] if glued else [*cells, ""]
        if len(cells) != 5 or not _DIGITS.fullmatch(cells[2]) or not _DIGITS.fullmatch(cells[3]):
            continue
        try:
            files.append(LegacyFile(cells[0], cells[1], int(cells[2]), int(cells[3]), cells[4]))
        except RemoteProtocolError:
            continue
    return files


def list_body(items: Iterable[LegacyUser] | Iterable[LegacyFile]) -> bytes:
    """Return a list's body: one line each, each ending in a newline."""
    return "".join(f"{item.to_line()}\n" for item in items).encode("utf-8")
