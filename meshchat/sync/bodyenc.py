"""Compressed sync bodies (docs/decisions.md "Sync"): zlib, only between nodes that say so.

A node lists ``TOKEN`` in its ``info.enc``. A caller that read it may send a ``put`` with
``Content-Encoding: TOKEN`` and ask for record-carrying replies (``get``, ``range``,
``watch``) with ``Accept-Encoding: TOKEN``; the callee compresses a reply only when asked.
The token is not one aiohttp's client inflates by itself (``gzip``, ``deflate``, ``br``,
``zstd``), so only ``inflate`` below ever inflates a sync body, and always with a hard
bound on its output (docs/sync-threat-model.md). Without I/O.
"""

from __future__ import annotations

import zlib
from contextvars import ContextVar

from meshchat.errors import RemoteProtocolError

TOKEN = "mc-zlib"  # zlib (RFC 1950) framing: a checksum over the inflated bytes
LEVEL = 6
MIN_BYTES = 512  # smaller bodies are sent as they are: a put of one record gains nothing
HEADER_BYTES = len(f"Content-Encoding: {TOKEN}\r\n")  # what compressing adds to a message
IDENTITY = "identity"
THREAD_BYTES = 64 * 1024  # larger bodies are compressed on a worker thread (zlib frees the GIL)

# The body of the sync request being answered, inflated, set by the sync sub-application's
# middleware after its checks for the handler's run only (handlers run in its context).
REQUEST_BODY: ContextVar[bytes] = ContextVar("meshchat_sync_request_body")


def request_body() -> bytes:
    """Return the (inflated) body of the sync request being answered."""
    return REQUEST_BODY.get()


class BadEncoding(RemoteProtocolError):
    """A compressed body that is corrupt, cut short, followed by junk, or inflates too far."""

    def __init__(self, detail: str, *, status: int = 400, code: str = "bad_encoding") -> None:
        super().__init__(detail, status=status, code=code)


def deflate(body: bytes) -> bytes | None:
    """Return ``body`` compressed, or None when it is small or would not get smaller."""
    if len(body) < MIN_BYTES:
        return None
    packed = zlib.compress(body, LEVEL)
    return packed if len(packed) + HEADER_BYTES < len(body) else None


def inflate(data: bytes, limit: int) -> bytes:
    """Return the inflated ``data``, never more than ``limit`` bytes of it, or raise.

    The output bound is enforced by zlib itself (``max_length``), so a body that would
    inflate to gigabytes costs at most ``limit`` bytes of memory and the work to fill them
    before it is refused (``413 too_large``).
    """
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise BadEncoding(f"{TOKEN}: corrupt ({exc})") from None
    if inflater.unconsumed_tail or (not inflater.eof and len(out) >= limit):
        raise BadEncoding(f"{TOKEN}: inflates past {limit} bytes", status=413, code="too_large")
    if not inflater.eof:
        raise BadEncoding(f"{TOKEN}: cut short")
    if inflater.unused_data:
        raise BadEncoding(f"{TOKEN}: bytes after the end of the stream")
    return out


def tokens(header: str | None) -> frozenset[str]:
    """Return the content codings a header lists (``Accept-Encoding`` weights ignored)."""
    if not header:
        return frozenset()
    return frozenset(
        part.split(";", 1)[0].strip().lower() for part in header[:256].split(",") if part.strip()
    )


def encoding_of(header: str | None) -> str:
    """Return a body's one content coding (``identity`` when none is named)."""
    named = (header or IDENTITY).strip().lower()
    return named or IDENTITY
