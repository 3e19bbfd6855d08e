"""Parsing of JSON API input into values that cannot exist invalid (STYLE.md 3)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from meshchat import callsign as callsigns
from meshchat import schemas
from meshchat.errors import IdentityError
from meshchat.timing import DAY_MS
from meshchat.web.http import fail

_HEX_ID = re.compile(r"[0-9a-f]{64}")
SINCE = {"1d": 1, "1w": 7, "1m": 30, "3m": 91}
MAX_LIMIT = 500


def hex_id(value: Any, field: str) -> bytes:
    """Return a 32-byte id from 64 lowercase hex characters, or a 400 naming ``field``."""
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value.lower()):
        fail(400, "bad_id", f"{field} must be a record id of 64 hex characters")
    return bytes.fromhex(value)


def text(value: Any, field: str, max_bytes: int, *, allow_empty: bool = False) -> str:
    """Return message text, or 400 (wrong type, empty) / 413 (over ``max_bytes``)."""
    if not isinstance(value, str):
        fail(400, "bad_type", f"{field} must be a string")
    if not allow_empty and not value.strip():
        fail(400, "empty", f"{field} is empty")
    if "\x00" in value:
        fail(400, "bad_text", f"{field} contains a NUL character")
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        fail(413, "too_large", f"{field} is {size} bytes; the limit is {max_bytes}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        fail(400, "bad_text", f"{field} is not valid Unicode")
    return value


def callsign(value: Any, field: str = "callsign") -> str:
    """Return a normalised callsign, or 400 with the grammar's reason."""
    if not isinstance(value, str):
        fail(400, "bad_type", f"{field} must be a string")
    try:
        return callsigns.normalize(value)
    except IdentityError as exc:
        fail(400, "bad_callsign", f"{field}: {exc}")


def channel(value: Any, field: str = "channel") -> str:
    """Return a channel name ("" is "Everything"), or 400."""
    if not isinstance(value, str) or not schemas.valid_channel(value.strip()):
        fail(400, "bad_channel", f"{field} must be at most 64 characters, no control characters")
    return value.strip()


def zone(value: Any, served: tuple[str, ...]) -> str:
    """Return a zone this node serves (the first one when ``value`` is None), or 404."""
    if value is None:
        return served[0]
    if not isinstance(value, str):
        fail(400, "bad_type", "zone must be a string")
    if value not in served:
        fail(404, "unknown_zone", f"zone {value!r} is not served by this node")
    return value


def geo(value: Any) -> list[int]:
    """Return ``[lat, lon]`` in integer micro-degrees from decimal degrees, or 400."""
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180)
    ):
        fail(400, "bad_geo", "geo must be [latitude, longitude] in decimal degrees")
    return [round(v * schemas.GEO_SCALE) for v in value]


def limit(query: Mapping[str, str]) -> int:
    """Return the page size: default 50, at most 500."""
    raw = query.get("limit", "50")
    # ASCII digits only: str.isdigit() takes "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        fail(400, "bad_limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def since(query: Mapping[str, str], now_ms: int) -> int | None:
    """Return the start of a history jump (``1d|1w|1m|3m``) in ms, or None."""
    raw = query.get("since")
    if raw is None:
        return None
    days = SINCE.get(raw)
    if days is None:
        fail(400, "bad_since", "since must be one of 1d, 1w, 1m, 3m")
    return now_ms - days * DAY_MS
