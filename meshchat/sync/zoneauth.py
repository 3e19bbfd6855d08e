"""Zone secret: HMAC-SHA256 authentication of sync requests (DESIGN §5.2).

The MAC covers the method, the path with its query, the SHA-256 of the body and a Unix
timestamp; a request older or newer than the window is refused, so a captured request
cannot be replayed later. It authenticates only: amateur bands forbid encryption.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

# Replies are signed too, under this pseudo-method, so a node that holds the secret never
# mistakes a peer without it for a member (and pushes the zone to it).
REPLY = "REPLY"
TIME_HEADER = "X-Meshchat-Time"
AUTH_HEADER = "X-Meshchat-Auth"
WINDOW_S = 300


def _mac(secret: str, method: str, path_qs: str, body: bytes, timestamp: str) -> str:
    digest = hashlib.sha256(body).hexdigest()
    message = "\n".join((method.upper(), path_qs, digest, timestamp)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, method: str, path_qs: str, body: bytes, now_s: float) -> dict[str, str]:
    """Return the headers that authenticate a request for a zone secret."""
    timestamp = str(int(now_s))
    return {TIME_HEADER: timestamp, AUTH_HEADER: _mac(secret, method, path_qs, body, timestamp)}


def verify(
    secret: str,
    method: str,
    path_qs: str,
    body: bytes,
    headers: Mapping[str, str],
    now_s: float,
) -> str | None:
    """Return None when the request carries a valid, fresh MAC; else why it does not."""
    timestamp = headers.get(TIME_HEADER, "")
    presented = headers.get(AUTH_HEADER, "")
    if not timestamp or not presented:
        return "missing zone authentication"
    # ASCII digits only: int() refuses some str.isdigit() characters ("²").
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 20):
        return "stale or malformed zone authentication timestamp"
    if abs(int(timestamp) - now_s) > WINDOW_S:
        return "stale or malformed zone authentication timestamp"
    expected = _mac(secret, method, path_qs, body, timestamp)
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str from a header.
    if not hmac.compare_digest(expected.encode(), presented.encode("utf-8", "surrogateescape")):
        return "wrong zone authentication"
    return None
