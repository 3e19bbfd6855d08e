"""What answers at a peer's URL: a native meshchat node, a legacy one, or nothing (§5.3).

A native node answers ``GET /sync/v1/info`` with a msgpack map holding its ``node_id``; a
legacy MeshChat node (Perl 1.02, Lua 2.x) answers ``/cgi-bin/meshchat?action=
messages_version`` with 200 and only decimal digits (Lua adds one newline). Replies are
read up to a small cap, so a hostile URL cannot make the probe hold much memory.

A peer link probes a peer of unknown kind with ``examine``, reading ``info`` through its
own client (zone secret checked both ways, bytes counted), so a native peer costs one
request; ``probe`` is the same decision with a plain capped GET.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp

from meshchat import records
from meshchat.bodies import read_capped
from meshchat.errors import PeerError, PeerUnavailable, RemoteProtocolError
from meshchat.sync import zoneauth
from meshchat.sync.wire import PREFIX

Kind = Literal["native", "legacy", "unreachable"]
# Returns a native node's info map; raises PeerError when nothing native answers.
InfoReader = Callable[[], Awaitable[dict[str, Any]]]

INFO_CAP = 64 * 1024
VERSION_CAP = 64  # a sum of 500 ids of 32 bits is at most 12 digits
LEGACY_QUERY = "/cgi-bin/meshchat?action=messages_version"
_VERSION = re.compile(rb"[0-9]+\n?")
# aiohttp's ValueError covers a malformed URL; OSError a refused or reset connection.
_FAILURES = (TimeoutError, aiohttp.ClientError, OSError, ValueError)


@dataclass(frozen=True, slots=True)
class Probed:
    """What a probe found: the kind, a native node's info, or why its info call failed."""

    kind: Kind
    info: dict[str, Any] | None = None
    error: str = ""


async def _get(
    http: aiohttp.ClientSession, url: str, cap: int, timeout_s: float, headers: dict[str, str]
) -> tuple[int, bytes] | None:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with http.get(url, timeout=timeout, headers=headers, allow_redirects=False) as resp:
            return resp.status, await read_capped(resp, cap + 1)
    except _FAILURES:
        return None


async def read_info(
    http: aiohttp.ClientSession, url: str, timeout_s: float, *, zone_secret: str = ""
) -> dict[str, Any]:
    """Return what ``url`` answers at ``/sync/v1/info``; PeerError unless a meshchat node."""
    target = url.rstrip("/") + PREFIX + "/info"
    headers = {}
    if zone_secret:
        path = urlsplit(target).path
        headers = zoneauth.sign(zone_secret, "GET", path, b"", time.time())
    answer = await _get(http, target, INFO_CAP, timeout_s, headers)
    if answer is None or answer[0] >= 500:
        raise PeerUnavailable("info: no answer, or the node is failing")
    if answer[0] != 200 or len(answer[1]) > INFO_CAP:
        raise PeerError("info: no meshchat node answers")
    try:
        info = records.unpack(answer[1])
    except RemoteProtocolError as exc:
        raise PeerError(f"info: {exc}") from None
    if not isinstance(info, dict) or not isinstance(info.get("node_id"), str):
        raise PeerError("info: not a meshchat sync peer")
    return info


async def probe_legacy(http: aiohttp.ClientSession, url: str, timeout_s: float) -> bool:
    """Tell whether ``url`` answers ``action=messages_version`` like a legacy node."""
    answer = await _get(http, url.rstrip("/") + LEGACY_QUERY, VERSION_CAP, timeout_s, {})
    if answer is None or answer[0] != 200 or len(answer[1]) > VERSION_CAP:
        return False
    return bool(_VERSION.fullmatch(answer[1]))


async def examine(
    http: aiohttp.ClientSession,
    url: str,
    timeout_s: float,
    *,
    zone_secret: str = "",
    read: InfoReader | None = None,
) -> Probed:
    """Ask ``info`` (through ``read`` if given), then the legacy path if info was refused."""

    async def plain() -> dict[str, Any]:
        return await read_info(http, url, timeout_s, zone_secret=zone_secret)

    try:
        info = await (read or plain)()
    except PeerUnavailable as exc:
        # A meshchat node that is busy or starting also answers the legacy path (its
        # bridge): only a definite "not here" from info lets the probe try that path.
        return Probed("unreachable", error=str(exc))
    except PeerError as exc:
        error = str(exc)
    else:
        return Probed("native", info)
    if await probe_legacy(http, url, timeout_s):
        return Probed("legacy")
    return Probed("unreachable", error=error)


async def probe(
    http: aiohttp.ClientSession, url: str, timeout_s: float, *, zone_secret: str = ""
) -> Kind:
    """Return ``native``, ``legacy`` or ``unreachable``; ``timeout_s`` bounds each request."""
    return (await examine(http, url, timeout_s, zone_secret=zone_secret)).kind
