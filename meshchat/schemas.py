"""Body schemas of the record kinds (DESIGN §2.1), checked once at decode time.

Keys a kind does not know are allowed and ignored, so a newer node's optional fields do not
split the mesh; known keys must have the documented types. Text fields other than message
text may hold no control characters, so nothing forged can reach a legacy TSV line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from meshchat import callsign as callsigns
from meshchat.errors import RecordRejected

KINDS = ("msg", "edit", "delete", "react", "file", "channel", "node", "legacy")
MAX_NAME = 64
MAX_TOPIC = 500
MAX_LIST = 64
MAX_EMOJI = 32
GEO_SCALE = 1_000_000  # geo is [lat, lon] in integer micro-degrees: bodies carry no floats
# Control characters, and the bidirectional overrides and isolates that can make a name
# read as another (an RTL override in a channel name): refused in every field but message
# text, where right-to-left marks are ordinary writing.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LEGACY_LINE = re.compile(r"[0-9a-fA-F]{1,8}\t[0-9]{1,12}\t[^\t\n\r]*(?:\t[^\t\n\r]*){4}")

Check = Callable[[Any], bool]


def _plain(max_len: int, min_len: int = 0) -> Check:
    return lambda v: isinstance(v, str) and min_len <= len(v) <= max_len and not _CONTROL.search(v)


def _id(v: Any) -> bool:
    return isinstance(v, bytes) and len(v) == 32


def _text(v: Any) -> bool:
    return isinstance(v, str)


def _callsign(v: Any) -> bool:
    return isinstance(v, str) and callsigns.is_valid(v)


def _callsigns(v: Any) -> bool:
    return isinstance(v, list) and len(v) <= MAX_LIST and all(_callsign(c) for c in v)


def _ids(v: Any) -> bool:
    return isinstance(v, list) and len(v) <= MAX_LIST and all(_id(k) for k in v)


def _geo(v: Any) -> bool:
    return (
        isinstance(v, list)
        and len(v) == 2
        and all(type(c) is int for c in v)
        and abs(v[0]) <= 90 * GEO_SCALE
        and abs(v[1]) <= 180 * GEO_SCALE
    )


def _size(v: Any) -> bool:
    return type(v) is int and v >= 0


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


_channel = _plain(MAX_NAME)
_name = _plain(MAX_NAME, 1)

# kind -> (required keys, optional keys)
SCHEMAS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "msg": (
        {"callsign": _callsign, "channel": _channel, "text": _text, "node": _name},
        {"reply_to": _id, "to": _callsign, "mentions": _callsigns, "geo": _geo},
    ),
    "edit": ({"target": _id, "text": _text}, {}),
    # moderation: "hide" (target: a record id) | "ban" (target: an author key), from a
    # zone operator (docs/decisions.md "Access control"); unknown words are ignored.
    "delete": ({"target": _id}, {"moderation": _plain(16, 1), "reason": _plain(200)}),
    "react": ({"target": _id, "emoji": _plain(MAX_EMOJI, 1)}, {}),
    "file": (
        {
            "callsign": _callsign,
            "channel": _channel,
            "name": _plain(255, 1),
            "size": _size,
            "mime": _plain(127, 1),
            "sha256": _id,
            "node": _name,
        },
        {"caption": _text},
    ),
    # genesis: the id of the record that founded the channel (absent on that record);
    # member_keys[i] is the key of members[i]; operators are member keys.
    "channel": (
        {"name": _name, "topic": _plain(MAX_TOPIC)},
        {
            "members": _callsigns,
            "restricted": _bool,
            "member_keys": _ids,
            "operators": _ids,
            "genesis": _id,
            "callsign": _callsign,
        },
    ),
    "node": ({"name": _name, "platform": _name, "version": _name}, {}),
    "legacy": ({"line": _text}, {}),
}


def valid_zone(zone: str) -> bool:
    """Tell whether a zone name is usable: 1-64 characters, no control characters."""
    return bool(_name(zone))


def valid_channel(channel: str) -> bool:
    """Tell whether a channel name is usable ("" is the legacy "Everything" channel)."""
    return bool(_channel(channel))


def valid_topic(topic: str) -> bool:
    """Tell whether a channel topic is usable: at most 500 characters, no control characters."""
    return bool(_plain(MAX_TOPIC)(topic))


def _has_float(value: Any, depth: int = 0) -> bool:
    """Tell whether ``value`` holds a float anywhere (DESIGN §2.1: bodies carry none)."""
    if isinstance(value, float):
        return True
    if depth > 32:
        return False  # canonical msgpack bounds nesting well before this
    if isinstance(value, dict):
        return any(_has_float(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v, depth + 1) for v in value)
    return False


def check_body(kind: str, body: dict[str, Any], *, author: bytes, sig: bytes, ts: int) -> None:
    """Raise RecordRejected unless ``body`` fits the schema of ``kind``."""
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise RecordRejected("kind", kind[:32])
    required, optional = schema
    for key, check in required.items():
        if key not in body:
            raise RecordRejected("schema", f"{kind}: missing {key}")
        if not check(body[key]):
            raise RecordRejected("schema", f"{kind}: bad {key}")
    for key, check in optional.items():
        if key in body and not check(body[key]):
            raise RecordRejected("schema", f"{kind}: bad {key}")
    if _has_float(body):
        raise RecordRejected("schema", f"{kind}: floats are not allowed in bodies")
    if kind == "legacy":
        _check_legacy(body["line"], author, sig, ts)
    elif not any(author):
        raise RecordRejected("schema", "only legacy records may have the zero author")


def _check_legacy(line: str, author: bytes, sig: bytes, ts: int) -> None:
    """A legacy record is unsigned: zero author and sig, one well-formed line, ts = epoch."""
    if any(author) or any(sig):
        raise RecordRejected("legacy_line", "legacy records carry zero author and signature")
    if _LEGACY_LINE.fullmatch(line) is None:
        raise RecordRejected("legacy_line", "not an id/epoch/.../channel TSV line")
    if _LINE_CONTROL.search(line) or any(_CONTROL.search(f) for f in line.split("\t")[3:]):
        raise RecordRejected("legacy_line", "a legacy field holds a control character")
    epoch = int(line.split("\t", 2)[1])
    if ts != epoch * 1000:
        raise RecordRejected("legacy_line", "ts is not the line's epoch in ms")
