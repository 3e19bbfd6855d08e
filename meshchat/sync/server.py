"""The node-to-node sync API (DESIGN §5.2): its own sub-application under ``/sync/v1``.

A thin adapter: every body is msgpack, and every fault of the caller is a 4xx with a
msgpack ``{error, detail}`` and a counter, mapped in one place (the sub-application's
middleware), never a crash (docs/sync-threat-model.md). Replies carry no browser headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from meshchat import __version__, bodies, records
from meshchat.clock import wall_ms
from meshchat.config import Config
from meshchat.errors import MeshchatError
from meshchat.horizon import Horizon
from meshchat.ingest import Ingestor
from meshchat.presence import PresenceService, TypingEntry
from meshchat.store.blobs import BlobStore
from meshchat.store.db import Store
from meshchat.sync import blobwire, bodyenc, responder, wire, zoneauth
from meshchat.sync.broadcast import Broadcast
from meshchat.sync.contacts import ContactLog, plain_address
from meshchat.sync.index import ZoneIndex
from meshchat.sync.replies import FirstsReply, PutReply
from meshchat.sync.wire import MSGPACK, NODE_HEADER

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# (zone, entries, sending node id): show typing here and pass it on to other peers.
TypingSink = Callable[[str, Sequence[TypingEntry], str], None]


class SyncError(MeshchatError):
    """Ends a sync request with a 4xx and a msgpack ``{error, detail}``."""

    def __init__(self, status: int, error: str, detail: str = "") -> None:
        super().__init__(detail, status=status, code=error)
        self.error = error


def reply(body: Any, status: int = 200) -> web.Response:
    """Return a msgpack response."""
    return web.Response(body=records.pack(body), status=status, content_type=MSGPACK)


async def _peer_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Replies go to peers over slow radio links: a short Server header and nothing else."""
    del request
    response.headers["Server"] = "meshchat"


class SyncServer:
    """Answers peers: info, reconcile, get, put, range and presence."""

    def __init__(
        self,
        config: Config,
        store: Store,
        ingestor: Ingestor,
        index: ZoneIndex,
        node_id: str,
        presence: PresenceService,
        contacts: ContactLog,
        on_typing: TypingSink,
        horizon: Horizon,
        blobs: BlobStore | None = None,
        before_blob: Callable[[str], Awaitable[None]] | None = None,
        broadcast: Broadcast | None = None,
    ) -> None:
        self.broadcast = broadcast  # ihave and watch (docs/decisions.md "Dissemination")
        self.on_typing = on_typing
        self.blobs = blobs  # the blob route answers 404 without a blob store
        # Awaited before a blob reply to the node id calling: records to it go first.
        self.before_blob = before_blob
        self.config = config
        self.store = store
        self.ingestor = ingestor
        self.index = index
        self.node_id = node_id
        self.presence = presence
        self.contacts = contacts
        self.horizon = horizon  # where each zone's history starts here
        self.body_timeout_s = bodies.BODY_TIMEOUT_S
        self.errors: Counter[str] = Counter()

    def app(self) -> web.Application:
        """Return the ``/sync/v1`` sub-application (the root mounts it at ``PREFIX``)."""
        app = web.Application(middlewares=[self.middleware])
        app.on_response_prepare.append(_peer_headers)
        app.add_routes(
            [
                web.get("/info", self.info),
                web.post("/reconcile", self.reconcile),
                web.post("/get", self.get),
                web.post("/put", self.put),
                web.get("/range", self.range),
                web.get("/firsts", self.firsts),
                web.post("/presence", self.presence_exchange),
                web.get("/blob/{sha256}", self.blob, allow_head=False),
            ]
        )
        if self.broadcast is not None:
            app.add_routes(
                [
                    web.post("/ihave", self.broadcast.ihave),
                    web.post("/watch", self.broadcast.watch),
                ]
            )
        return app

    def _fail(self, request: web.Request, status: int, error: str, detail: str) -> web.Response:
        """Count an error and return its msgpack ``{error, detail}`` reply."""
        self.errors[error] += 1
        log.debug("sync %s from %s: %s %s", request.path, request.remote, error, detail)
        return reply({"error": error, "detail": detail[:300]}, status)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Check framing and the zone secret; map every error to a counted msgpack reply."""
        try:
            return await self._checked(request, handler)
        except MeshchatError as exc:
            if exc.status >= 500 and not exc.public:  # our own fault, not the peer's
                log.error("sync %s %s failed: %s", request.method, request.path, exc)
                return self._fail(request, 500, "internal", "unexpected error; see the log")
            return self._fail(request, exc.status, exc.code, exc.detail)
        except web.HTTPRequestEntityTooLarge:
            return self._fail(request, 413, "too_large", "body over the size limit")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            # No such route or method: still a msgpack error (DESIGN §5.2).
            error = (exc.reason or "error").lower().replace(" ", "_")
            return self._fail(request, exc.status, error, exc.text or "")
        except Exception:  # our bug, not the peer's: log it, still answer in msgpack
            log.exception("sync %s %s failed", request.method, request.path)
            return self._fail(request, 500, "internal", "unexpected error; see the log")

    async def _checked(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and request.content_type != MSGPACK:
            raise SyncError(415, "unsupported_media_type", f"send {MSGPACK}")
        # The length is checked before reading, the read has a deadline, and an encoded
        # body other than our own coding is refused unread (meshchat.bodies); ours is
        # inflated only after the zone secret passed, and never past the body limit.
        raw = await bodies.read_body(
            request, wire.MAX_BODY_BYTES, self.body_timeout_s, frozenset({bodyenc.TOKEN})
        )
        if raw and request.method in ("GET", "HEAD"):
            raise SyncError(400, "bad_request", "a GET request has no body")
        secret = self.config.sync.zone_secret
        if secret:
            why = zoneauth.verify(
                secret, request.method, request.path_qs, raw, request.headers, time.time()
            )
            if why is not None:
                raise SyncError(401, "unauthorized", why)
        coding = bodyenc.encoding_of(request.headers.get("Content-Encoding"))
        body = raw if coding == bodyenc.IDENTITY else bodyenc.inflate(raw, wire.MAX_BODY_BYTES)
        token = bodyenc.REQUEST_BODY.set(body)
        try:
            response = await handler(request)
        finally:
            bodyenc.REQUEST_BODY.reset(token)
        if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
            return response
        if bodyenc.TOKEN in bodyenc.tokens(request.headers.get("Accept-Encoding")):
            body = response.body
            # A range page (256 KiB) takes milliseconds to pack, more on a Pi: off the loop.
            big = len(body) > bodyenc.THREAD_BYTES
            packed = (
                await asyncio.to_thread(bodyenc.deflate, body) if big else bodyenc.deflate(body)
            )
            if packed is not None:
                response.body = packed
                response.headers["Content-Encoding"] = bodyenc.TOKEN
        if secret:  # the MAC covers the reply's bytes as sent
            response.headers.update(
                zoneauth.sign(secret, zoneauth.REPLY, request.path_qs, response.body, time.time())
            )
        return response

    def _zone(self, zone: str) -> str:
        if zone not in self.config.node.zones:
            raise SyncError(404, "unknown_zone", f"zone {zone!r} is not served here")
        return zone

    def _horizon_start(self, zone: str) -> int:
        return self.horizon.start(zone, wall_ms())

    async def info(self, request: web.Request) -> web.Response:
        """``GET /sync/v1/info``: who we are and what we serve."""
        if request.query:
            raise SyncError(400, "bad_request", "info takes no parameters")
        counts = await self.store.counts()
        now = wall_ms()
        zones = [
            {"name": z, "count": counts.get(z, 0), "horizon_ms": self.horizon.span_ms(z, now)}
            for z in self.config.node.zones
        ]
        return reply(
            {
                "node_id": self.node_id,
                "name": self.config.node.name,
                "version": __version__,
                "zones": zones,
                "protocols": [wire.PROTOCOL],
                "enc": [bodyenc.TOKEN],  # the body codings taken and sent (bodyenc)
                # The node keys trusted here, so peers may trust them too (decisions.md).
                "nodes": [k.hex() for k in sorted(self.store.node_keys)][: wire.MAX_INFO_NODES],
            }
        )

    async def reconcile(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/reconcile {zone, neg, since?}`` → ``{neg}`` (stateless)."""
        req = wire.Reconcile.parse(records.unpack(bodyenc.request_body(), 8))
        zone = self._zone(req.zone)
        caller = request.headers.get(NODE_HEADER, "")
        if caller:
            self.contacts.heard(caller, request.remote or "", time.time(), reconcile=True)
        start = self.horizon.reconcile_start(zone, wall_ms())
        since = responder.reconcile_since(req.since, start)
        window = await self.index.window(zone, since)
        frame_limit = self.config.sync.frame_limit
        answer = responder.answer_reconcile(window, frame_limit, req.neg, req.since, since)
        body = answer.to_wire()
        if req.pres is not None:  # whether we hold the same presence (docs/decisions.md)
            body["pres"] = self.presence.digest(zone)
        return reply(body)

    async def get(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/get {zone, ids}`` → ``{records, more}``, cut at 64 KiB."""
        req = wire.Get.parse(records.unpack(bodyenc.request_body(), wire.MAX_GET_IDS + 8))
        zone = self._zone(req.zone)
        found = await self.store.get_envelopes(list(dict.fromkeys(req.ids)))
        return reply(responder.get_reply(zone, found).to_wire())

    async def put(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/put {zone, records}`` → ``{results}`` after the commit."""
        req = wire.Put.parse(records.unpack(bodyenc.request_body(), wire.MAX_PUT_RECORDS + 8))
        self._zone(req.zone)
        caller = request.headers.get(NODE_HEADER, "")
        if caller:
            self.contacts.heard(caller, request.remote or "", time.time())
        origin = f"peer:{(caller or request.remote or '?')[:64]}"
        results = await self.ingestor.submit(req.records, origin)
        keep = False
        if caller and self.broadcast is not None:
            asked = request.headers.get(wire.KEEP_HEADER) == "1"  # the caller's last link
            address = plain_address(request.remote or "")
            keep = self.broadcast.pushed(caller, address, results, asked)
        return reply(PutReply(tuple(results), keep).to_wire())

    async def range(self, request: web.Request) -> web.Response:
        """``GET /sync/v1/range?zone&after_ts&after_id&limit``: a bootstrap page."""
        req = wire.Range.parse(request.query)
        zone = self._zone(req.zone)
        after_ts, after_id = responder.range_start(req, self._horizon_start(zone))
        page = await self.store.range_page(zone, after_ts, after_id, req.limit)
        return reply(responder.range_reply(page, req.limit).to_wire())

    async def firsts(self, request: web.Request) -> web.Response:
        """``GET /sync/v1/firsts?zone``: the records that made each claim, in arrival order."""
        req = wire.Firsts.parse(request.query)
        zone = self._zone(req.zone)
        ids = await self.store.first_claims(zone, max(req.since, self._horizon_start(zone)))
        return reply(FirstsReply(tuple(ids[: wire.MAX_FIRSTS])).to_wire())

    async def presence_exchange(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/presence {zone, updates?, typing?, digest?}``; never logged."""
        req = wire.Presence.parse(records.unpack(bodyenc.request_body(), wire.MAX_PRESENCE * 6 + 8))
        zone = self._zone(req.zone)
        caller = request.headers.get(NODE_HEADER, "")
        if caller:
            self.contacts.heard(caller, request.remote or "", time.time())
        source = plain_address(request.remote or "")
        applied, want = self.presence.take(zone, req.updates, source)
        if applied and self.broadcast is not None:
            self.broadcast.forward_presence(zone, applied, caller)
        if req.typing:
            self.on_typing(zone, req.typing, caller)
        body: dict[str, Any] = {"want": want} if want else {}
        if req.digest is not None:
            ours = self.presence.digest(zone)
            body["digest"] = ours
            if ours != req.digest:  # the caller asks for our whole lists (docs/decisions.md)
                body["updates"] = [u.to_wire() for u in self.presence.whole(zone)]
        return reply(body)

    async def blob(self, request: web.Request) -> web.StreamResponse:
        """``GET /sync/v1/blob/{sha256}`` with an optional ``Range``: 206 for a range (§5.4).

        Streamed from disk; with a zone secret the request is authenticated by the
        middleware, the reply is not (the caller verifies the bytes by their SHA-256).
        """
        if request.query:
            raise SyncError(400, "bad_request", "blob takes no parameters")
        sha256 = blobwire.parse_digest(request.match_info["sha256"])
        held = await self.blobs.info(sha256) if self.blobs is not None else None
        if self.blobs is None or held is None:
            raise SyncError(404, "no_blob", "this node does not hold that blob")
        try:
            span = blobwire.parse_range(request.headers.get("Range"), held.size)
        except blobwire.Unsatisfiable as exc:
            refused = self._fail(request, 416, exc.code, exc.detail)
            refused.headers["Content-Range"] = f"bytes */{held.size}"
            return refused
        caller = request.headers.get(NODE_HEADER, "")
        if caller and self.before_blob is not None:
            await self.before_blob(caller)
        first, last = span if span is not None else (0, held.size - 1)
        response = web.StreamResponse(status=200 if span is None else 206)
        response.content_type = "application/octet-stream"
        response.content_length = last - first + 1
        if span is None:
            response.headers["Accept-Ranges"] = "bytes"
        else:
            response.headers["Content-Range"] = blobwire.content_range(first, last, held.size)
        try:
            await response.prepare(request)
            # aclosing: a peer that hangs up mid-reply must not leave the file open.
            async with contextlib.aclosing(self.blobs.iter_bytes(sha256, first, last)) as pieces:
                async for piece in pieces:
                    await response.write(piece)
            await response.write_eof()
        except ConnectionError:  # the peer hung up: it resumes from what it got
            self.errors["blob_cut"] += 1
        return response
