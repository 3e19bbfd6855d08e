"""The legacy message wire format, sans-I/O (LEGACY.md): bodies, the version, export lines.

A ``messages_raw`` body is the message file byte for byte: lines sorted by (epoch, id),
each ending in ``\\n``. ``messages_version`` is the decimal sum of the ids read as
hexadecimal, over exactly the lines served, with no trailing newline (Perl nodes compare
it as a string). A ``msg`` record is exported as a line whose id is the first 8 hex
digits of the record id (LEGACY.md "Mapping"); nothing here opens a socket or a file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from meshchat.errors import RemoteProtocolError
from meshchat.legacyline import LegacyLine, LineEntry, LineRefused
from meshchat.legacyline import parse as parse_line
from meshchat.records import Record

WINDOW = 500  # legacy nodes keep the newest 500 lines (many in a router's RAM)
PLATFORM = "pi"  # what a meshchat node calls itself on a line and in users_raw
MAX_VERSION_CHARS = 20  # 500 ids of 32 bits sum to at most 12 digits
_VERSION = re.compile(r"[0-9]{1,20}")
_PERL_COUNTS = re.compile(r"[0-9a-f]")
# Legacy UIs put these fields into the page as raw HTML, channels inside a quoted
# attribute: written as entities on export, a user's words show and run nothing.
_TEXT_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ATTR_ENTITIES = {**_TEXT_ENTITIES, '"': "&quot;", "'": "&#39;"}
_BREAKS = re.compile(r"[\t\r\n]")


def md5_hex(body: bytes) -> str:
    """Return the ``Content-MD5`` value legacy nodes send and check: 32 lowercase hex."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def id_sum_term(lid: str) -> int:
    """Return what one line id adds to the version, as Perl 1.02 counts it.

    Perl adds ``hex(id)`` when the id holds a digit or a lowercase hex letter; Lua adds the
    leading lowercase hex digits. Both agree on the 8 lowercase hex digits nodes write.
    """
    if not _PERL_COUNTS.search(lid):
        return 0
    try:
        return int(lid, 16)
    except ValueError:
        return 0


def version_of(lines: Iterable[str]) -> str:
    """Return the version of a set of lines: the decimal sum of their ids."""
    return str(sum(id_sum_term(line.split("\t", 1)[0]) for line in lines))


def parse_version(body: bytes) -> str | None:
    """Return a peer's version without Lua's trailing newline, or None if it is not one."""
    text = body.removesuffix(b"\n").removesuffix(b"\r")
    if not 0 < len(text) <= MAX_VERSION_CHARS:
        return None
    decoded = text.decode("ascii", "replace")
    return decoded if _VERSION.fullmatch(decoded) else None


def body_of(lines: Iterable[str]) -> bytes:
    """Return the file of ``lines``: each one ending in a newline (Perl needs the last one)."""
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def split_body(body: bytes, max_lines: int) -> tuple[list[bytes], int]:
    """Split a body into its lines (``\\n`` only); keep the last ``max_lines``.

    Returns the lines kept and how many were dropped. A file is sorted oldest first, so
    the newest survive a flood. Empty lines are dropped silently (a trailing newline, or
    a Lua node's blank line).
    """
    lines = [raw for raw in body.split(b"\n") if raw]
    dropped = max(0, len(lines) - max_lines)
    return lines[dropped:], dropped


def decode_line(raw: bytes) -> LegacyLine:
    """Parse one line of a peer's body; LineRefused (with its reason) when it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LineRefused("utf8", "legacy line is not UTF-8") from None
    return parse_line(text)


def _entities(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, c) for c in text)


def _cell(text: str) -> str:
    """Return a TSV cell that cannot forge a line: no TAB and no line break, as entities."""
    return _entities(_BREAKS.sub(" ", text), _ATTR_ENTITIES)


def export_line(record: Record) -> LegacyLine | None:
    """Return the line a ``msg`` record is to legacy nodes, or None if it is not exported.

    Direct messages are not exported: a legacy node would show them to everyone. The text
    is written with entities for ``& < >`` and then pack-escaped by ``LegacyLine``.
    """
    body = record.body
    if record.kind != "msg" or "to" in body:
        return None
    text = str(body["text"]).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    try:
        return LegacyLine(
            record.id_hex[:8],
            record.ts // 1000,
            _entities(text, _TEXT_ENTITIES),
            _BREAKS.sub("", str(body["callsign"])),
            _cell(str(body["node"])),
            PLATFORM,
            _cell(str(body["channel"])),
        )
    except RemoteProtocolError:  # pragma: no cover - a validated msg always fits
        return None


def line_entry(record: Record) -> LineEntry | None:
    """Return the id-map row of a record: a msg's export, a legacy record's own line."""
    try:
        if record.kind == "legacy":
            return LineEntry.of(str(record.body["line"]))
        exported = export_line(record)
        return None if exported is None else LineEntry.of(exported.to_line())
    except RemoteProtocolError:
        return None


@dataclass(frozen=True, slots=True)
class Window:
    """What a meshchat node serves as its message file: the zone's newest lines."""

    lines: tuple[str, ...]  # sorted by (epoch, id), oldest first
    body: bytes
    md5: str
    version: str


def build_window(entries: Sequence[LineEntry], limit: int = WINDOW) -> Window:
    """Return the newest ``limit`` distinct lines sorted by (epoch, id), with their sums."""
    unique = {e.line: e for e in entries}
    ordered = sorted(unique.values(), key=lambda e: (e.epoch, e.lid, e.line))[-limit:]
    lines = tuple(e.line for e in ordered)
    body = body_of(lines)
    return Window(lines, body, md5_hex(body), version_of(lines))


# Perl writes values unescaped: a value runs to the quote that a comma or brace follows.
_CONFIG_FIELD = re.compile(r'"(node|zone|version)"\s*:\s*"([^\x00-\x1f]{0,64}?)"\s*(?=[,}])')


def parse_config(body: bytes) -> dict[str, str]:
    """Return ``node``, ``zone`` and ``version`` of a peer's ``config``, leniently.

    Perl nodes build this JSON by concatenation, so it can be invalid (a quote in a zone
    name): when it does not parse, the fields are picked out one by one.
    """
    text = body[:4096].decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        found = {k: v for k in ("node", "zone", "version") if isinstance(v := value.get(k), str)}
    else:
        found = dict(_CONFIG_FIELD.findall(text))
    return {k: v[:64] for k, v in found.items() if v.isprintable()}
