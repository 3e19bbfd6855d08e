"""The node-to-node sync API under ``/sync/v1/`` (DESIGN §5.2): a thin adapter.

Every body is msgpack; every fault of the caller is a 4xx with a msgpack
``{error, detail}`` and a counter, never a crash (see docs/sync-threat-model.md).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from meshchat import __version__, records
from meshchat.clock import wall_ms
from meshchat.config import Config
from meshchat.errors import RemoteProtocolError
from meshchat.ingest import Ingestor
from meshchat.store.db import Store
from meshchat.sync import wire, zoneauth
from meshchat.sync.index import ZoneIndex
from meshchat.sync.negentropy import NegentropyResponder
from meshchat.sync.peers import ContactLog
from meshchat.sync.presence import PresenceTable, combined

log = logging.getLogger(__name__)

PREFIX = "/sync/v1"
MSGPACK = "application/msgpack"
NODE_HEADER = "X-Meshchat-Node"
RANGE_REPLY_BYTES = 256 * 1024
DAY_MS = 86_400_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LocalPresence = Callable[[str], list[wire.PresenceEntry]]
# (zone, entries, sending node id): show typing here and pass it on to other peers.
TypingSink = Callable[[str, Sequence[wire.TypingEntry], str], None]


class SyncError(Exception):
    """Ends a sync request with a 4xx and a msgpack ``{error, detail}``."""

    def __init__(self, status: int, error: str, detail: str = "") -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def reply(body: Any, status: int = 200) -> web.Response:
    """Return a msgpack response."""
    return web.Response(body=records.pack(body), status=status, content_type=MSGPACK)


class SyncServer:
    """Answers peers: info, reconcile, get, put, range and presence."""

    def __init__(
        self,
        config: Config,
        store: Store,
        ingestor: Ingestor,
        index: ZoneIndex,
        node_id: str,
        presence: dict[str, PresenceTable],
        local_presence: LocalPresence,
        contacts: ContactLog,
        on_typing: TypingSink,
    ) -> None:
        self.on_typing = on_typing
        self.config = config
        self.store = store
        self.ingestor = ingestor
        self.index = index
        self.node_id = node_id
        self.presence = presence
        self.local_presence = local_presence
        self.contacts = contacts
        self.horizon_ms = config.store.max_age_days * DAY_MS
        self.errors: Counter[str] = Counter()

    def routes(self) -> list[web.RouteDef]:
        """Return the sync routes."""
        return [
            web.get(f"{PREFIX}/info", self._guard(self.info)),
            web.post(f"{PREFIX}/reconcile", self._guard(self.reconcile)),
            web.post(f"{PREFIX}/get", self._guard(self.get)),
            web.post(f"{PREFIX}/put", self._guard(self.put)),
            web.get(f"{PREFIX}/range", self._guard(self.range)),
            web.post(f"{PREFIX}/presence", self._guard(self.presence_exchange)),
        ]

    def _guard(self, handler: Handler) -> Handler:
        """Answer a fault raised inside ``handler`` as a counted msgpack error.

        The JSON API's error middleware sits inside ours, so a handler's RemoteProtocolError
        must be turned into a reply here, before that middleware makes it JSON.
        """

        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except SyncError as exc:
                return self._fail(request, exc.status, exc.error, exc.detail)
            except RemoteProtocolError as exc:
                return self._fail(request, 400, "bad_request", str(exc))
            except Exception:  # our bug, not the peer's: log it, still answer in msgpack
                log.exception("sync %s %s failed", request.method, request.path)
                return self._fail(request, 500, "internal", "unexpected error; see the log")

        return guarded

    def _fail(self, request: web.Request, status: int, error: str, detail: str) -> web.Response:
        """Count an error and return its msgpack ``{error, detail}`` reply."""
        self.errors[error] += 1
        log.debug("sync %s from %s: %s %s", request.path, request.remote, error, detail)
        return reply({"error": error, "detail": detail[:300]}, status)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Check the framing and zone secret; answer a peer's fault as a counted 4xx."""
        if not request.path.startswith(PREFIX + "/"):
            return await handler(request)
        try:
            if request.method == "POST" and request.content_type != MSGPACK:
                raise SyncError(415, "unsupported_media_type", f"send {MSGPACK}")
            if request.headers.get("Content-Encoding", "identity").lower() != "identity":
                # aiohttp would inflate it: a small compressed body could cost far more.
                raise SyncError(415, "unsupported_media_type", "bodies are not compressed")
            if request.content_length is not None and request.content_length > wire.MAX_BODY_BYTES:
                raise SyncError(413, "too_large", f"bodies are at most {wire.MAX_BODY_BYTES} B")
            try:
                body = await request.read()
            except ConnectionError:  # hung up mid-body: count it rather than log a traceback
                return self._fail(request, 400, "incomplete_body", "the peer hung up mid-body")
            if body and request.method in ("GET", "HEAD"):
                raise SyncError(400, "bad_request", "a GET request has no body")
            secret = self.config.sync.zone_secret
            if secret:
                why = zoneauth.verify(
                    secret,
                    request.method,
                    request.path_qs,
                    body,
                    request.headers,
                    time.time(),
                )
                if why is not None:
                    raise SyncError(401, "unauthorized", why)
                response = await handler(request)
                if isinstance(response, web.Response) and isinstance(response.body, bytes):
                    response.headers.update(
                        zoneauth.sign(
                            secret, zoneauth.REPLY, request.path_qs, response.body, time.time()
                        )
                    )
                return response
            return await handler(request)
        except SyncError as exc:
            return self._fail(request, exc.status, exc.error, exc.detail)
        except web.HTTPRequestEntityTooLarge:
            return self._fail(request, 413, "too_large", "body over the size limit")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            # No such route or method: still a msgpack error (DESIGN §5.2).
            error = (exc.reason or "error").lower().replace(" ", "_")
            return self._fail(request, exc.status, error, exc.text or "")

    def _zone(self, zone: str) -> str:
        if zone not in self.config.node.zones:
            raise SyncError(404, "unknown_zone", f"zone {zone!r} is not served here")
        return zone

    def _horizon_start(self) -> int:
        return max(0, wall_ms() - self.horizon_ms)

    async def info(self, request: web.Request) -> web.Response:
        """``GET /sync/v1/info``: who we are and what we serve."""
        if request.query:
            raise SyncError(400, "bad_request", "info takes no parameters")
        counts = await self.store.counts()
        zones = [
            {"name": z, "count": counts.get(z, 0), "horizon_ms": self.horizon_ms}
            for z in self.config.node.zones
        ]
        return reply(
            {
                "node_id": self.node_id,
                "name": self.config.node.name,
                "version": __version__,
                "zones": zones,
                "protocols": [wire.PROTOCOL],
            }
        )

    async def reconcile(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/reconcile {zone, neg, since?}`` → ``{neg}`` (stateless)."""
        req = wire.Reconcile.parse(records.unpack(await request.read(), 8))
        zone = self._zone(req.zone)
        caller = request.headers.get(NODE_HEADER, "")
        if caller:
            self.contacts.heard(caller, time.time(), reconcile=True)
        # Never reconcile below our own horizon: a longer-lived peer cannot feed us back
        # what we pruned, nor ask us for it (DESIGN §2.4).
        since = max(req.since or 0, self._horizon_start())
        window = await self.index.window(zone, since)
        responder = NegentropyResponder(window, self.config.sync.frame_limit)
        return reply({"neg": responder.reconcile(req.neg)})

    async def get(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/get {zone, ids}`` → ``{records, more}``, cut at 64 KiB."""
        req = wire.Get.parse(records.unpack(await request.read(), wire.MAX_GET_IDS + 8))
        zone = self._zone(req.zone)
        found = await self.store.get_envelopes(list(dict.fromkeys(req.ids)))
        out: list[list[bytes]] = []
        size = 0
        more: list[bytes] = []
        for signed, sig in found:
            record = records.load_trusted(signed, sig)
            if record.zone != zone:
                continue
            if out and size + len(signed) + len(sig) > wire.GET_REPLY_BYTES:
                more.append(record.id)
                continue
            out.append([signed, sig])
            size += len(signed) + len(sig)
        return reply({"records": out, "more": more})

    async def put(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/put {zone, records}`` → ``{results}`` after the commit."""
        req = wire.Put.parse(records.unpack(await request.read(), wire.MAX_PUT_RECORDS + 8))
        self._zone(req.zone)
        caller = request.headers.get(NODE_HEADER, "")
        if caller:
            self.contacts.heard(caller, time.time())
        origin = f"peer:{(caller or request.remote or '?')[:64]}"
        results = await self.ingestor.submit(req.records, origin)
        return reply({"results": results})

    async def range(self, request: web.Request) -> web.Response:
        """``GET /sync/v1/range?zone&after_ts&after_id&limit``: a bootstrap page."""
        req = wire.Range.parse(request.query)
        zone = self._zone(req.zone)
        after_ts, after_id = req.after_ts, req.after_id
        start = self._horizon_start()
        if after_ts < start:
            after_ts, after_id = start, b""
        page = await self.store.range_page(zone, after_ts, after_id, req.limit)
        out: list[list[bytes]] = []
        size = 0
        for signed, sig in page:
            if out and size + len(signed) + len(sig) > RANGE_REPLY_BYTES:
                break
            out.append([signed, sig])
            size += len(signed) + len(sig)
        done = len(out) == len(page) and len(page) < req.limit
        return reply({"records": out, "done": done})

    async def presence_exchange(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/presence {zone, users}`` → ``{users}``; never logged."""
        req = wire.Presence.parse(records.unpack(await request.read(), wire.MAX_PRESENCE * 6 + 8))
        zone = self._zone(req.zone)
        table = self.presence.setdefault(zone, PresenceTable())
        now = wall_ms()
        table.merge(req.users, now, self.config.node.name)
        caller = request.headers.get(NODE_HEADER, "")
        if caller:
            self.contacts.heard(caller, time.time())
        if req.typing:
            self.on_typing(zone, req.typing, caller)
        users = combined(self.local_presence(zone), table.remote(now))
        return reply({"users": [u.to_wire() for u in users]})
