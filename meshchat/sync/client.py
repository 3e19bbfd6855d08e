"""HTTP client for one peer's sync API: keep-alive, timeouts, zone secret, byte counters.

``send`` takes a ``wire`` request value and returns the ``replies`` value that answers
it, so a ``session.ZoneSession`` is driven with one call per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload
from urllib.parse import urlencode, urlsplit

import aiohttp

from meshchat import records
from meshchat.bodies import read_capped
from meshchat.errors import PeerError, PeerUnavailable, RemoteProtocolError
from meshchat.peers import Peer
from meshchat.presence import MAX_PRESENCE
from meshchat.presencedelta import Update, parse_updates
from meshchat.sync import announce, bodyenc, wire, zoneauth
from meshchat.sync.contacts import plain_address
from meshchat.sync.replies import (
    FirstsReply,
    GetReply,
    IHaveReply,
    PutReply,
    RangeReply,
    ReconcileReply,
    WatchReply,
)
from meshchat.sync.wire import CONTACT_ID_CHARS, KEEP_HEADER, MSGPACK, NODE_HEADER, PREFIX

T = TypeVar("T")
MAX_REPLY_BYTES = 4 * 1024 * 1024
# Headers a peer does not need; every byte counts on a 300 kbit/s link.
SKIP_HEADERS = ("User-Agent", "Accept", "Accept-Encoding")
# Calls that say who calls in full: the callee pushes back to the caller by node id.
CALLER_ROUTES = frozenset({"put", "presence", "ihave", "watch"})
# Calls that carry records: compressed to a peer whose info lists bodyenc.TOKEN.
SENDS_RECORDS = frozenset({"put"})
TAKES_RECORDS = frozenset({"get", "range", "watch"})


__all__ = ["PeerClient", "PeerError"]


class PeerClient:
    """Calls one peer's ``/sync/v1`` routes and counts the traffic on its Peer entry."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        peer: Peer,
        node_id: str,
        zone_secret: str,
        timeout_s: float,
    ) -> None:
        self.http = http
        self.peer = peer
        self.node_id = node_id
        self.zone_secret = zone_secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.base_path = urlsplit(peer.url).path.rstrip("/")
        self.presence_digest: Callable[[str], bytes] | None = None
        self.presence_stale: set[str] = set()  # zones whose presence digests differed

    async def call(
        self,
        method: str,
        route: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request and return the decoded msgpack reply; PeerError on any failure."""
        path_qs = f"{self.base_path}{PREFIX}/{route}"
        if query:
            path_qs += "?" + urlencode(query)
        data = b"" if body is None else records.pack(body)
        # Radio links are slow: only the calls that need to say who is calling say it.
        headers = {NODE_HEADER: self.node_id} if route in CALLER_ROUTES else {}
        if route == "reconcile":  # a short form is enough for ContactLog
            headers[NODE_HEADER] = self.node_id[:CONTACT_ID_CHARS]
        if body is not None:
            headers["Content-Type"] = MSGPACK
        headers.update(extra or {})
        if bodyenc.TOKEN in self.peer.encodings:
            packed = bodyenc.deflate(data) if route in SENDS_RECORDS else None
            if packed is not None:
                data = packed
                headers["Content-Encoding"] = bodyenc.TOKEN
            if route in TAKES_RECORDS:
                headers["Accept-Encoding"] = bodyenc.TOKEN
        if self.zone_secret:  # the MAC covers the bytes as sent
            headers.update(zoneauth.sign(self.zone_secret, method, path_qs, data, time.time()))
        url = self.peer.url.rstrip("/").removesuffix(self.base_path) + path_qs
        self.peer.bytes_out += len(data) + len(path_qs)
        routes = self.peer.route_bytes
        routes[route] = routes.get(route, 0) + len(data) + len(path_qs)
        try:
            # Sync calls follow no redirect: a peer must not send our request elsewhere.
            async with self.http.request(
                method,
                url,
                data=data or None,
                headers=headers,
                timeout=self.timeout if timeout_s is None else aiohttp.ClientTimeout(timeout_s),
                skip_auto_headers=SKIP_HEADERS,
                allow_redirects=False,
            ) as resp:
                coding = bodyenc.encoding_of(resp.headers.get("Content-Encoding"))
                if coding not in (bodyenc.IDENTITY, bodyenc.TOKEN):
                    # aiohttp would inflate gzip or deflate by itself: never read one.
                    raise PeerError(f"{route}: a reply in {coding[:40]!r}, never asked for")
                raw = await read_capped(resp, MAX_REPLY_BYTES + 1)
                status = resp.status
                reply_headers = resp.headers
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise PeerUnavailable(f"{route}: {type(exc).__name__} {exc}".strip()) from None
        self.peer.bytes_in += len(raw)
        routes[route] += len(raw)
        self._note_clock(reply_headers.get("Date"))
        if len(raw) > MAX_REPLY_BYTES:
            raise PeerError(f"{route}: reply over {MAX_REPLY_BYTES} bytes")
        if self.zone_secret and status == 200:
            why = zoneauth.verify(
                self.zone_secret, zoneauth.REPLY, path_qs, raw, reply_headers, time.time()
            )
            if why is not None:
                raise PeerError(f"{route}: the peer's reply fails the zone secret ({why})")
        try:
            if coding == bodyenc.TOKEN:
                raw = bodyenc.inflate(raw, MAX_REPLY_BYTES)
            decoded = records.unpack(raw, 100_000)
        except RemoteProtocolError as exc:
            raise PeerError(f"{route}: HTTP {status}, {exc}") from None
        if status != 200:
            detail = decoded.get("detail", "") if isinstance(decoded, dict) else ""
            failure = PeerUnavailable if status >= 500 else PeerError
            raise failure(f"{route}: HTTP {status} {detail}".strip())
        if not isinstance(decoded, dict):
            raise PeerError(f"{route}: the reply is not a map")
        return decoded

    def _note_clock(self, date: str | None) -> None:
        """Note how far the peer's clock (its ``Date`` header, 1 s resolution) is from ours."""
        if not date:
            return
        try:
            theirs = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        self.peer.clock_skew_s = round(theirs - time.time())

    async def _resolve(self) -> None:
        """Learn the addresses the peer's URL names (a contact from it must come from one)."""
        host = urlsplit(self.peer.url).hostname or ""
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, None)
        except OSError:
            return
        self.peer.addresses = tuple(sorted({plain_address(str(a[4][0])) for a in found}))

    async def info(self) -> dict[str, Any]:
        """``GET /sync/v1/info`` (and where the peer is: its URL's addresses)."""
        result: dict[str, Any] = await self.call("GET", "info")
        await self._resolve()
        return result

    @overload
    async def send(self, request: wire.Firsts) -> FirstsReply: ...
    @overload
    async def send(self, request: wire.Reconcile) -> ReconcileReply: ...
    @overload
    async def send(self, request: wire.Get) -> GetReply: ...
    @overload
    async def send(self, request: wire.Range) -> RangeReply: ...
    @overload
    async def send(self, request: wire.Put) -> PutReply: ...

    async def send(
        self, request: wire.Firsts | wire.Reconcile | wire.Get | wire.Range | wire.Put
    ) -> FirstsReply | ReconcileReply | GetReply | RangeReply | PutReply:
        """Send one request; return the peer's reply value (PeerError if it is bad)."""
        if isinstance(request, wire.Firsts):
            answer = await self.call("GET", "firsts", query=request.to_query())
            return _parse("firsts", FirstsReply.parse, answer)
        if isinstance(request, wire.Reconcile):
            # Each round tells whether both hold the same presence (docs/decisions.md).
            ours = self.presence_digest(request.zone) if self.presence_digest else None
            request = dataclasses.replace(request, pres=ours)
            answer = await self.call("POST", "reconcile", request.to_wire())
            if ours is not None and answer.get("pres") != ours:
                self.presence_stale.add(request.zone)
            return _parse("reconcile", ReconcileReply.parse, answer)
        if isinstance(request, wire.Get):
            answer = await self.call("POST", "get", request.to_wire())
            return _parse("get", GetReply.parse, answer)
        if isinstance(request, wire.Range):
            answer = await self.call("GET", "range", query=request.to_query())
            return _parse("range", RangeReply.parse, answer)
        return await self.push(request)

    async def push(self, request: wire.Put, keep: bool = False) -> PutReply:
        """Send a put; ``keep`` asks the peer to keep the link eager even if nothing is new."""
        extra = {KEEP_HEADER: "1"} if keep else None
        answer = await self.call("POST", "put", request.to_wire(), extra=extra)
        reply = _parse("put", PutReply.parse, answer)
        if len(reply.results) != len(request.records):
            raise PeerError("put: results do not match the records sent")
        self.peer.records_out += reply.accepted
        return reply

    async def ihave(self, request: announce.IHave) -> IHaveReply:
        """Announce new ids on a lazy link; return the prefixes the peer lacks."""
        answer = await self.call("POST", "ihave", request.to_wire())
        return _parse("ihave", IHaveReply.parse, answer)

    async def watch(self, request: announce.Watch, wait_s: float) -> WatchReply:
        """Hold a watch on the peer for up to ``wait_s``; return what it had for us."""
        total = wait_s + (self.timeout.total or 20.0)
        answer = await self.call("POST", "watch", request.to_wire(), timeout_s=total)
        return _parse("watch", WatchReply.parse, answer)

    async def presence(self, request: wire.Presence) -> PresenceAnswer:
        """Send presence changes (and who is typing); return the peer's answer."""
        answer = await self.call("POST", "presence", request.to_wire())
        try:
            updates = parse_updates(answer.get("updates", []))
            want = answer.get("want", [])
            if not isinstance(want, list) or not all(isinstance(n, str) for n in want):
                raise RemoteProtocolError("want: a list of node names")
            digest = answer.get("digest")
            return PresenceAnswer(updates, tuple(want[:MAX_PRESENCE]), digest)
        except RemoteProtocolError as exc:
            raise PeerError(f"presence: {exc}") from None


@dataclass(frozen=True)
class PresenceAnswer:
    """A peer's reply to ``presence``: its whole lists (when asked), the origins it wants."""

    updates: tuple[Update, ...] = ()
    want: tuple[str, ...] = ()
    digest: Any = None


def _parse(route: str, parse: Callable[[Mapping[str, Any]], T], answer: Any) -> T:
    """Build a reply value from a decoded reply map; a malformed one is a PeerError."""
    try:
        return parse(answer)
    except RemoteProtocolError as exc:
        raise PeerError(f"{route}: {exc}") from None
