"""HTTP GETs to one legacy peer's ``/cgi-bin/meshchat`` on the node's shared pool.

Every answer is read up to ``max_body`` bytes (docs/legacy-threat-model.md), every call
has a timeout, and the bytes are counted on the peer's entry. ``Content-MD5`` is read as
legacy nodes write it (32 lowercase hex digits) and checked against the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from meshchat.bodies import read_capped
from meshchat.errors import PeerError
from meshchat.legacy import codec
from meshchat.peers import Peer

PATH = "/cgi-bin/meshchat"
# aiohttp's ValueError covers a malformed URL; OSError a refused or reset connection.
_FAILURES = (TimeoutError, aiohttp.ClientError, OSError, ValueError)
_HEADERS = {"User-Agent": "meshchat", "Accept-Encoding": "identity"}


class NotMeshchat(PeerError):
    """The peer answered 404: no MeshChat there (legacy nodes leave it for 10 minutes)."""

    code = "not_meshchat"


class TooLarge(PeerError):
    """The peer's answer passed the body limit."""

    code = "too_large"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer of a legacy peer."""

    status: int
    body: bytes
    md5: str | None  # the Content-MD5 header, lower-cased, or None

    @property
    def checked(self) -> bool:
        """Tell whether the body came with a ``Content-MD5`` that matches it."""
        return self.md5 is not None and self.md5 == codec.md5_hex(self.body)


class LegacyClient:
    """Calls one legacy peer; counts the traffic on its ``Peer``."""

    def __init__(
        self, http: aiohttp.ClientSession, peer: Peer, timeout_s: float, max_body: int
    ) -> None:
        self.http = http
        self.peer = peer
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_body = max_body

    async def get(self, action: str, **params: str) -> Answer:
        """GET ``?action=NAME&…``; PeerError when unreachable, NotMeshchat on a 404."""
        query = urlencode({"action": action, **params})
        url = f"{self.peer.url}{PATH}?{query}"
        try:
            async with self.http.get(
                url, timeout=self.timeout, headers=_HEADERS, allow_redirects=False
            ) as resp:
                status = resp.status
                md5 = resp.headers.get("Content-MD5")
                body = await read_capped(resp, self.max_body + 1)
        except _FAILURES as exc:
            raise PeerError(f"{action}: {type(exc).__name__} {exc}"[:200]) from None
        self.peer.bytes_out += len(url)
        self.peer.bytes_in += len(body)
        if status == 404:
            raise NotMeshchat(f"{action}: 404 Not Found")
        if len(body) > self.max_body:
            raise TooLarge(f"{action}: answer over {self.max_body} bytes")
        if status != 200:
            raise PeerError(f"{action}: HTTP {status}")
        return Answer(status, body, md5.strip().lower() if md5 is not None else None)
