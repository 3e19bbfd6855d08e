"""What answers at a discovered URL: a native meshchat node, a legacy one, or nothing (§5.3).

A native node answers ``GET /sync/v1/info`` with a msgpack map holding its ``node_id``; a
legacy MeshChat node (Perl 1.02, Lua 2.x) answers ``/cgi-bin/meshchat?action=
messages_version`` with 200 and only decimal digits (Lua adds one newline). Replies are
read up to a small cap, so a hostile URL cannot make the probe hold much memory.
"""

from __future__ import annotations

import re
import time
from typing import Literal
from urllib.parse import urlsplit

import aiohttp

from meshchat import records
from meshchat.errors import RemoteProtocolError
from meshchat.sync import zoneauth
from meshchat.sync.wire import PREFIX

Kind = Literal["native", "legacy", "unreachable"]

INFO_CAP = 64 * 1024
VERSION_CAP = 64  # a sum of 500 ids of 32 bits is at most 12 digits
LEGACY_QUERY = "/cgi-bin/meshchat?action=messages_version"
_VERSION = re.compile(rb"[0-9]+\n?")
# aiohttp's ValueError covers a malformed URL; OSError a refused or reset connection.
_FAILURES = (TimeoutError, aiohttp.ClientError, OSError, ValueError)


async def read_capped(resp: aiohttp.ClientResponse, cap: int) -> bytes:
    """Read the body, but never more than ``cap`` bytes (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        chunk = await resp.content.read(min(64 * 1024, cap - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def _get(
    http: aiohttp.ClientSession, url: str, cap: int, timeout_s: float, headers: dict[str, str]
) -> tuple[int, bytes] | None:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with http.get(url, timeout=timeout, headers=headers) as resp:
            return resp.status, await read_capped(resp, cap + 1)
    except _FAILURES:
        return None


async def probe_native(
    http: aiohttp.ClientSession, url: str, timeout_s: float, *, zone_secret: str = ""
) -> bool:
    """Tell whether ``url`` answers ``/sync/v1/info`` like a meshchat node."""
    target = url.rstrip("/") + PREFIX + "/info"
    headers = {}
    if zone_secret:
        path = urlsplit(target).path
        headers = zoneauth.sign(zone_secret, "GET", path, b"", time.time())
    answer = await _get(http, target, INFO_CAP, timeout_s, headers)
    if answer is None or answer[0] != 200 or len(answer[1]) > INFO_CAP:
        return False
    try:
        info = records.unpack(answer[1])
    except RemoteProtocolError:
        return False
    return isinstance(info, dict) and isinstance(info.get("node_id"), str)


async def probe_legacy(http: aiohttp.ClientSession, url: str, timeout_s: float) -> bool:
    """Tell whether ``url`` answers ``action=messages_version`` like a legacy node."""
    answer = await _get(http, url.rstrip("/") + LEGACY_QUERY, VERSION_CAP, timeout_s, {})
    if answer is None or answer[0] != 200 or len(answer[1]) > VERSION_CAP:
        return False
    return bool(_VERSION.fullmatch(answer[1]))


async def probe(
    http: aiohttp.ClientSession, url: str, timeout_s: float, *, zone_secret: str = ""
) -> Kind:
    """Return ``native``, ``legacy`` or ``unreachable``; ``timeout_s`` bounds each request."""
    if await probe_native(http, url, timeout_s, zone_secret=zone_secret):
        return "native"
    if await probe_legacy(http, url, timeout_s):
        return "legacy"
    return "unreachable"
