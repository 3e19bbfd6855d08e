"""Reading a request body the same careful way on every surface (docs/sync-threat-model.md).

An encoded body is refused unread (aiohttp's server never inflates one; the sync API
inflates its own coding itself, bounded, after these checks), a declared length over
the limit is refused before reading, the read itself has a deadline, and JSON is parsed
strictly: no NaN or Infinity, no nesting deep enough to exhaust the stack. Every refusal
is a ``BodyRefused`` (a 4xx with a reason) that each surface maps in one place.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, NoReturn

import aiohttp
from aiohttp import web

from meshchat.errors import RemoteProtocolError
from meshchat.timing import Timing

BODY_TIMEOUT_S = Timing.body_timeout_s  # the one default, shrunk by tests through Timing
MAX_DEPTH = 64  # JSON nesting a client may send


class BodyRefused(RemoteProtocolError):
    """A request body that is not taken: wrong type, encoded, too large, slow or malformed."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail, status=status, code=code)


def _refuse(status: int, code: str, detail: str) -> NoReturn:
    raise BodyRefused(status, code, detail)


async def read_body(
    request: web.Request,
    max_bytes: int,
    timeout_s: float = BODY_TIMEOUT_S,
    encodings: frozenset[str] = frozenset(),
) -> bytes:
    """Return the raw body, refused when larger than ``max_bytes``, too slow, or encoded.

    ``encodings`` names the content codings a surface inflates itself, with its own bound
    (the sync API's ``mc-zlib``); the body is returned as it came, still encoded.
    """
    coding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if coding != "identity" and coding not in encodings:
        _refuse(415, "unsupported_media_type", "bodies are not compressed")
    if (request.content_length or 0) > max_bytes:
        _refuse(413, "too_large", f"bodies here are at most {max_bytes} bytes")
    try:
        raw = await asyncio.wait_for(request.read(), timeout_s)
    except TimeoutError:
        _refuse(408, "body_timeout", f"the body did not arrive within {timeout_s:g} s")
    except web.HTTPRequestEntityTooLarge:
        _refuse(413, "too_large", f"bodies here are at most {max_bytes} bytes")
    except ConnectionError:
        _refuse(400, "incomplete_body", "the client hung up mid-body")
    if len(raw) > max_bytes:
        _refuse(413, "too_large", f"bodies here are at most {max_bytes} bytes")
    return raw


async def read_json(
    request: web.Request,
    allowed: frozenset[str],
    max_bytes: int,
    timeout_s: float = BODY_TIMEOUT_S,
) -> dict[str, Any]:
    """Return the request's JSON object, refusing other types and unknown fields."""
    if request.content_type != "application/json":
        _refuse(415, "unsupported_media_type", "send the body as application/json")
    raw = await read_body(request, max_bytes, timeout_s)
    body = loads(raw)
    if not isinstance(body, dict):
        _refuse(400, "bad_json", "the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        _refuse(400, "unknown_fields", f"unknown fields: {', '.join(unknown)}")
    return body


def loads(raw: bytes | str) -> Any:
    """Parse JSON strictly, or raise ``BodyRefused`` 400 ``bad_json``."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if _depth(text) > MAX_DEPTH:
            _refuse(400, "bad_json", f"JSON nested deeper than {MAX_DEPTH}")
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        _refuse(400, "bad_json", f"malformed JSON: {exc}")


def _depth(text: str) -> int:
    """Return the deepest bracket nesting of ``text`` (strings are skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


async def read_capped(resp: aiohttp.ClientResponse, cap: int) -> bytes:
    """Read a reply's body, but never more than ``cap`` bytes (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        chunk = await resp.content.read(min(64 * 1024, cap - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
