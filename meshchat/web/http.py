"""HTTP plumbing shared by the JSON API: error replies, security headers, JSON bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from aiohttp import web

from meshchat import bodies
from meshchat.errors import MeshchatError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The UI loads only its own vendored files; no inline script may run (DESIGN §6).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class ApiError(MeshchatError):
    """Ends a request with a 4xx/5xx and a JSON body ``{error, detail}``."""

    def __init__(self, status: int, error: str, detail: str = "") -> None:
        super().__init__(detail, status=status, code=error)
        self.error = error


def error_reply(status: int, error: str, detail: str) -> web.Response:
    """Return the JSON API's error reply."""
    return web.json_response({"error": error, "detail": detail}, status=status)


def fail(status: int, error: str, detail: str = "") -> NoReturn:
    """Abort the request with a JSON error."""
    raise ApiError(status, error, detail)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every error to a JSON reply: a client's fault is a 4xx with a reason."""
    try:
        return await handler(request)
    except MeshchatError as exc:
        if exc.status >= 500:
            if not exc.public:  # a full disk is logged where it is found, once a minute
                log.error("%s %s failed: %s", request.method, request.path, exc)
            shown = isinstance(exc, ApiError) or exc.public
            return error_reply(exc.status, exc.code, exc.detail if shown else "see the node's log")
        return error_reply(exc.status, exc.code, exc.detail)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = (exc.reason or "error").lower().replace(" ", "_")
        return error_reply(exc.status, error, exc.text or "")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_reply(500, "internal", "the node hit an unexpected error; see its log")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the browser security headers (an on_response_prepare hook of the web apps)."""
    del request
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


# JSON bodies are small; message text is capped well below this by web.max_text_bytes.
MAX_JSON_BYTES = 256 * 1024


async def json_body(request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
    """Return the request's JSON object, refusing other types and unknown fields."""
    return await bodies.read_json(request, allowed, MAX_JSON_BYTES)


COMPRESS_MIN = 1024  # smaller JSON replies are not worth a gzip header


@web.middleware
async def compress_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Gzip a JSON reply when the client accepts it (a page of 50 messages: 55 → ~4 KB)."""
    response = await handler(request)
    if (
        isinstance(response, web.Response)
        and response.content_type == "application/json"
        and isinstance(response.body, bytes)
        and len(response.body) >= COMPRESS_MIN
        and "gzip" in request.headers.get("Accept-Encoding", "")
        and "Content-Encoding" not in response.headers
    ):
        response.enable_compression(web.ContentCoding.gzip)
    return response
