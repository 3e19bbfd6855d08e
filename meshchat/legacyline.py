"""One legacy MeshChat message line (LEGACY.md "The message line"), parsed and validated.

``id \\t epoch \\t message \\t call_sign \\t node \\t platform \\t channel``; the message has
newlines written as the two characters ``\\n`` and ``"`` as ``\\"`` (lossy: backslashes are
not escaped). A TAB or line break inside any field forges a message on every legacy node,
so such a line is refused and no such line can be built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meshchat.errors import RemoteProtocolError

FIELDS = 7
# The grammar the ``legacy`` record schema accepts (meshchat.schemas), so every stored
# legacy record parses.
_ID = re.compile(r"[0-9a-fA-F]{1,8}")
_EPOCH = re.compile(r"[0-9]{1,12}")
_BREAKS = re.compile(r"[\t\n\r]")
_ESCAPED = re.compile(r'\\([n"])')
_UNESCAPE = {"n": "\n", '"': '"'}


class LineRefused(RemoteProtocolError):
    """A legacy line that cannot be one message; ``reason`` is the counted code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, code=f"legacy_{reason}")
        self.reason = reason  # fields | id | epoch | break | text


@dataclass(frozen=True, slots=True)
class LegacyLine:
    """A legacy message; ``message`` is unescaped text, every other field is one TSV cell."""

    id: str
    epoch: int
    message: str
    callsign: str
    node: str
    platform: str
    channel: str

    def __post_init__(self) -> None:
        """Refuse values that cannot travel as one legacy line."""
        if not isinstance(self.id, str) or _ID.fullmatch(self.id) is None:
            raise LineRefused("id", f"legacy id is not 1-8 hex digits: {self.id!r:.40}")
        if type(self.epoch) is not int or not 0 <= self.epoch < 10**12:
            raise LineRefused("epoch", f"legacy epoch out of range: {self.epoch!r:.40}")
        if not isinstance(self.message, str) or "\t" in self.message or "\r" in self.message:
            raise LineRefused("break", "legacy message holds a TAB or carriage return")
        for name in ("callsign", "node", "platform", "channel"):
            value = getattr(self, name)
            if not isinstance(value, str) or _BREAKS.search(value):
                raise LineRefused("break", f"legacy {name} holds a TAB or line break")

    def to_line(self) -> str:
        """Return the TSV line (no trailing newline) with the message escaped."""
        return "\t".join(
            (
                self.id,
                str(self.epoch),
                escape_message(self.message),
                self.callsign,
                self.node,
                self.platform,
                self.channel,
            )
        )


@dataclass(frozen=True, slots=True)
class LineEntry:
    """A line as legacy nodes sort it: by epoch, then by its id read as hexadecimal."""

    epoch: int
    lid: int
    line: str

    @classmethod
    def of(cls, line: str) -> LineEntry:
        """Return the entry of a line that parses (LineRefused otherwise), kept verbatim."""
        parsed = parse(line)
        return cls(parsed.epoch, int(parsed.id, 16), line)


def unescape_message(raw: str) -> str:
    r"""Turn the two characters ``\n`` into a newline and ``\"`` into ``"``, left to right."""
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group(1)], raw)


def escape_message(text: str) -> str:
    r"""Write newlines as ``\n`` and ``"`` as ``\"``; a TAB becomes a space (as Lua nodes do)."""
    return text.replace("\r", "").replace("\t", " ").replace('"', '\\"').replace("\n", "\\n")


def parse(line: str) -> LegacyLine:
    """Parse one line (a single trailing ``\\n`` allowed) or raise LineRefused."""
    if not isinstance(line, str):
        raise LineRefused("text", "legacy line is not text")
    if line.endswith("\n"):
        line = line[:-1]
    if "\n" in line or "\r" in line:
        raise LineRefused("break", "legacy line holds a line break")
    fields = line.split("\t")
    if len(fields) != FIELDS:
        raise LineRefused("fields", f"legacy line has {len(fields)} fields, not {FIELDS}")
    msg_id, epoch, message, callsign, node, platform, channel = fields
    if _EPOCH.fullmatch(epoch) is None:
        raise LineRefused("epoch", f"legacy epoch is not 1-12 digits: {epoch!r:.40}")
    return LegacyLine(
        msg_id, int(epoch), unescape_message(message), callsign, node, platform, channel
    )
