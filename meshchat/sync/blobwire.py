"""The blob route's values (DESIGN §5.2 ``GET /sync/v1/blob/{sha256}``): parsed, never trusted.

One byte range per request (RFC 9110 §14): ``bytes=A-B``, ``bytes=A-`` or ``bytes=-N``;
anything else is a ``400``, a range that starts past the end a ``416``. The client checks
that a ``Content-Range`` answers exactly the range it asked for, of the size it expects.
"""

from __future__ import annotations

import re

from meshchat.errors import RemoteProtocolError

_DIGEST = re.compile(r"[0-9a-f]{64}")
_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")
_CONTENT_RANGE = re.compile(r"bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19})")


class Unsatisfiable(RemoteProtocolError):
    """A range that starts at or past the end of the blob."""

    status = 416
    code = "range_not_satisfiable"


def parse_digest(text: str) -> bytes:
    """Return the 32-byte hash a path names in 64 lowercase hex digits."""
    if not _DIGEST.fullmatch(text):
        raise RemoteProtocolError("a blob is named by 64 lowercase hex digits of its SHA-256")
    return bytes.fromhex(text)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return the inclusive (first, last) byte a ``Range`` asks of a blob; None: all of it."""
    if header is None:
        return None
    found = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if found is None:
        raise RemoteProtocolError("Range must be one range: bytes=A-B, bytes=A- or bytes=-N")
    first, last = found.group(1), found.group(2)
    if not first:
        if not last:
            raise RemoteProtocolError("a range needs a first byte or a suffix length")
        if int(last) == 0:
            raise Unsatisfiable("an empty suffix range")
        if size == 0:
            raise Unsatisfiable("the blob is empty")
        return max(0, size - int(last)), size - 1
    start = int(first)
    if last and int(last) < start:
        raise RemoteProtocolError("a range ends before it starts")
    if start >= size:
        raise Unsatisfiable(f"the blob has {size} bytes")
    return start, min(int(last), size - 1) if last else size - 1


def content_range(first: int, last: int, size: int) -> str:
    """Return the ``Content-Range`` of a 206 reply."""
    return f"bytes {first}-{last}/{size}"


def parse_content_range(value: str) -> tuple[int, int, int]:
    """Return (first, last, size) of a 206 reply's ``Content-Range``."""
    found = _CONTENT_RANGE.fullmatch(value.strip())
    if found is None:
        raise RemoteProtocolError("a 206 reply needs Content-Range: bytes A-B/SIZE")
    first, last, size = (int(g) for g in found.groups())
    if not first <= last < size:
        raise RemoteProtocolError("Content-Range is not a range inside the blob")
    return first, last, size
