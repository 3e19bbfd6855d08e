"""Reading through the JSON API: history pages, search, threads, conversations, channels."""

from __future__ import annotations

from aiohttp import web

from meshchat import schemas
from meshchat.clock import wall_ms
from meshchat.outbox import Outbox
from meshchat.store.db import Store
from meshchat.store.views import MessageQuery
from meshchat.web import inputs
from meshchat.web.auth import Session, Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.login import dm_reader, refuse_unbound_reader, require_session
from meshchat.web.messages import created
from meshchat.web.search import SearchApi
from meshchat.web.unread import UnreadApi

LIST_PARAMS = frozenset(
    {"zone", "channel", "limit", "before", "after", "q", "since", "dm", "thread", "from"}
)


class HistoryApi:
    """Pages of messages, search, threads and direct conversations."""

    def __init__(self, store: Store, sessions: Sessions, zones: tuple[str, ...]) -> None:
        self.store = store
        self.sessions = sessions
        self.zones = zones
        self.search = SearchApi(store, sessions, zones)
        self.unread = UnreadApi(store, sessions, zones).counts

    async def list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/messages?zone&channel&limit&before&after&q&since&dm&from``."""
        q = request.query
        extra = sorted(set(q) - LIST_PARAMS)
        if extra:
            fail(400, "unknown_parameters", f"unknown parameters: {', '.join(extra)}")
        if "thread" in q:
            return await self._thread(request)
        if "q" in q or "from" in q:
            return await self.search.reply(request)
        given = [name for name in ("before", "after", "since") if name in q]
        if len(given) > 1:
            fail(400, "conflicting_parameters", "use only one of before, after and since")
        dm = None
        zone = inputs.zone(q.get("zone"), self.zones)
        if "dm" in q:
            session = require_session(self.sessions, request, csrf=False)
            if await dm_reader(self.sessions, request, zone) is None:
                refuse_unbound_reader(session.signer.callsign)
            dm = (session.signer.callsign, inputs.callsign(q["dm"], "dm"))
        query = MessageQuery(
            zone=zone,
            channel=inputs.channel(q["channel"]) if "channel" in q else None,
            limit=inputs.limit(q),
            before=inputs.hex_id(q["before"], "before") if "before" in q else None,
            after=inputs.hex_id(q["after"], "after") if "after" in q else None,
            since_ts=inputs.since(q, wall_ms()),
            dm=dm,
        )
        views = await self.store.messages(query)
        return web.json_response({"messages": [v.to_json() for v in views]})

    async def _thread(self, request: web.Request) -> web.Response:
        """``GET /api/v1/messages?thread=ID``: a message and its replies, oldest first."""
        q = request.query
        if set(q) - {"zone", "thread"}:
            fail(400, "conflicting_parameters", "thread takes only zone")
        zone = inputs.zone(q.get("zone"), self.zones)
        views = await self.store.thread(zone, inputs.hex_id(q["thread"], "thread"))
        me = await dm_reader(self.sessions, request, zone)
        # Direct messages stay between their two callsigns here too.
        shown = [v for v in views if v.to is None or me in (v.callsign, v.to)]
        return web.json_response({"messages": [v.to_json() for v in shown]})

    async def conversations(self, request: web.Request) -> web.Response:
        """``GET /api/v1/dms?zone=`` → ``{conversations: [{callsign, last_ts, count}]}``."""
        session = require_session(self.sessions, request, csrf=False)
        zone = inputs.zone(request.query.get("zone"), self.zones)
        if await dm_reader(self.sessions, request, zone) is None:
            refuse_unbound_reader(session.signer.callsign)
        found = await self.store.conversations(zone, session.signer.callsign)
        return web.json_response(
            {
                "zone": zone,
                "conversations": [
                    {"callsign": who, "last_ts": last, "count": n} for who, last, n in found
                ],
            }
        )


class ChannelsApi:
    """The channels of a zone and the callsigns known in it."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        sessions: Sessions,
        zones: tuple[str, ...],
        default_channel: str,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.sessions = sessions
        self.zones = zones
        self.default_channel = default_channel

    async def channels(self, request: web.Request) -> web.Response:
        """``GET /api/v1/channels?zone=`` → ``{channels: [...]}``."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        views = await self.store.channels(zone)
        return web.json_response(
            {
                "zone": zone,
                "default": self.default_channel,
                "channels": [v.to_json() for v in views],
            }
        )

    async def create(self, request: web.Request) -> web.Response:
        """``POST /api/v1/channels {zone?, name, topic?}`` → ``201 {id}``."""
        session = require_session(self.sessions, request)
        body = await json_body(request, frozenset({"zone", "name", "topic"}))
        zone = inputs.zone(body.get("zone"), self.zones)
        name = inputs.channel(body.get("name"), "name")
        if not name:
            fail(400, "bad_channel", "a new channel needs a name")
        topic = body.get("topic", "")
        if not isinstance(topic, str) or not schemas.valid_topic(topic):
            fail(400, "bad_topic", "topic must be at most 500 characters, no control characters")
        await self._may_set(session, zone, name)
        record = await self.outbox.channel(session.signer, zone, name, topic)
        if session.signer.via_node:
            await self.store.note_authored(record.id, session.device)
        return created(record)

    async def _may_set(self, session: Session, zone: str, name: str) -> None:
        """403 unless the channel is new or the session's own (the owner sets the topic)."""
        owner = await self.store.channel_owner(zone, name)
        if owner is None:
            return
        signer = session.signer
        ours = owner.author == bytes(signer.key.verify_key)
        if ours and signer.via_node:  # the node's key: that callsign, from that browser
            ours = owner.body.get("callsign") == signer.callsign and (
                await self.store.authored_by(owner.id) == session.device
            )
        if not ours:
            fail(403, "not_channel_owner", f"only the owner of #{name} may set its topic")

    async def callsigns(self, request: web.Request) -> web.Response:
        """``GET /api/v1/callsigns?zone&prefix`` → known callsigns, for @mention completion."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        prefix = request.query.get("prefix", "").strip().upper()[:20]
        return web.json_response({"callsigns": await self.store.callsigns(zone, prefix)})
