"""The message and channel routes of the JSON API (``/api/v1/messages``, ``/channels``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from meshchat import records, schemas
from meshchat.clock import HybridClock, wall_ms
from meshchat.config import Config
from meshchat.errors import RecordRejected
from meshchat.ingest import Ingestor
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.store.views import MessageQuery
from meshchat.web import inputs
from meshchat.web.auth import COOKIE, Session, Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.login import require_session

POST_FIELDS = frozenset({"zone", "channel", "text", "reply_to", "to", "geo"})


class MessagesApi:
    """Posting, editing, deleting, reacting to and reading messages."""

    def __init__(
        self,
        config: Config,
        store: Store,
        ingestor: Ingestor,
        sessions: Sessions,
        clock: HybridClock,
    ) -> None:
        self.config = config
        self.store = store
        self.ingestor = ingestor
        self.sessions = sessions
        self.clock = clock
        self.zones = config.node.zones

    async def _publish(
        self, session: Session, zone: str, kind: str, body: dict[str, Any]
    ) -> Record:
        """Sign a record as the session's signer and store it; return it after the commit."""
        record = records.sign(session.signer.key, zone, kind, self.clock.now(), body)
        try:
            await self.ingestor.add_local(record)
        except RecordRejected as exc:
            fail(429 if exc.reason == "quota" else 400, f"rejected_{exc.reason}", exc.detail)
        return record

    async def post(self, request: web.Request) -> web.Response:
        """``POST /api/v1/messages`` → ``201 {id}`` once the record is committed."""
        session = require_session(self.sessions, request)
        body = await json_body(request, POST_FIELDS)
        zone = inputs.zone(body.get("zone"), self.zones)
        if "channel" not in body:
            fail(400, "missing_field", "channel is required ('' is Everything)")
        text = inputs.text(body.get("text"), "text", self.config.web.max_text_bytes)
        msg: dict[str, Any] = {
            "callsign": session.signer.callsign,
            "channel": inputs.channel(body["channel"]),
            "text": text,
            "node": self.config.node.name,
        }
        if body.get("reply_to") is not None:
            target = inputs.hex_id(body["reply_to"], "reply_to")
            if await self.store.message(zone, target) is None:
                fail(404, "unknown_reply_to", "reply_to names no message in this zone")
            msg["reply_to"] = target
        if body.get("to") is not None:
            msg["to"] = inputs.callsign(body["to"], "to")
        if body.get("geo") is not None:
            msg["geo"] = inputs.geo(body["geo"])
        mentioned = inputs.mentions(text)
        if mentioned:
            msg["mentions"] = mentioned
        record = await self._publish(session, zone, "msg", msg)
        return web.json_response({"id": record.id_hex, "ts": record.ts}, status=201)

    async def _own_target(self, request: web.Request, session: Session) -> Record:
        """Return the record named in the path, 403 unless the session wrote it."""
        target_id = inputs.hex_id(request.match_info["id"], "id")
        target = await self.store.get_record(target_id)
        if target is None or target.zone not in self.zones:
            fail(404, "unknown_message", "no such record on this node")
        signer = session.signer
        mine = target.author == bytes(signer.key.verify_key) and (
            target.body.get("callsign") == signer.callsign or target.kind == "react"
        )
        if not mine:
            fail(403, "not_author", "only the author of a record may edit or delete it")
        return target

    async def edit(self, request: web.Request) -> web.Response:
        """``PATCH /api/v1/messages/{id} {text}`` → ``201 {id}`` of the edit record."""
        session = require_session(self.sessions, request)
        body = await json_body(request, frozenset({"text"}))
        target = await self._own_target(request, session)
        if target.kind != "msg":
            fail(400, "not_editable", "only messages can be edited")
        text = inputs.text(body.get("text"), "text", self.config.web.max_text_bytes)
        record = await self._publish(
            session, target.zone, "edit", {"target": target.id, "text": text}
        )
        return web.json_response({"id": record.id_hex, "ts": record.ts}, status=201)

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /api/v1/messages/{id}`` → ``201 {id}`` of the delete record."""
        session = require_session(self.sessions, request)
        target = await self._own_target(request, session)
        record = await self._publish(session, target.zone, "delete", {"target": target.id})
        return web.json_response({"id": record.id_hex, "ts": record.ts}, status=201)

    async def react(self, request: web.Request) -> web.Response:
        """``POST /api/v1/messages/{id}/reactions {emoji}`` → ``201 {id}``."""
        session = require_session(self.sessions, request)
        body = await json_body(request, frozenset({"emoji"}))
        target_id = inputs.hex_id(request.match_info["id"], "id")
        target = await self.store.get_record(target_id)
        if target is None or target.zone not in self.zones:
            fail(404, "unknown_message", "no such record on this node")
        emoji = body.get("emoji")
        if not isinstance(emoji, str) or not 1 <= len(emoji) <= 32 or not emoji.isprintable():
            fail(400, "bad_emoji", "emoji must be 1-32 printable characters")
        view = await self.store.message(target.zone, target.id)
        for reaction in view.reactions if view is not None else ():
            mine = session.signer.callsign
            if reaction.emoji == emoji and mine in reaction.callsigns:
                # Already reacted: answer with that reaction instead of signing a second.
                existing = reaction.ids[reaction.callsigns.index(mine)]
                return web.json_response({"id": existing, "ts": None}, status=200)
        react = {"target": target.id, "emoji": emoji, "callsign": session.signer.callsign}
        record = await self._publish(session, target.zone, "react", react)
        return web.json_response({"id": record.id_hex, "ts": record.ts}, status=201)

    async def unreact(self, request: web.Request) -> web.Response:
        """``DELETE /api/v1/reactions/{id}``: retract one's own reaction record."""
        session = require_session(self.sessions, request)
        target = await self._own_target(request, session)
        if target.kind != "react":
            fail(400, "not_a_reaction", "use DELETE /api/v1/messages/{id} for messages")
        record = await self._publish(session, target.zone, "delete", {"target": target.id})
        return web.json_response({"id": record.id_hex, "ts": record.ts}, status=201)

    async def list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/messages?zone&channel&limit&before&after&q&since&dm``."""
        q = request.query
        known = {"zone", "channel", "limit", "before", "after", "q", "since", "dm", "thread"}
        extra = sorted(set(q) - known)
        if extra:
            fail(400, "unknown_parameters", f"unknown parameters: {', '.join(extra)}")
        if "thread" in q:
            return await self._thread(request)
        given = [name for name in ("before", "after", "since") if name in q]
        if len(given) > 1:
            fail(400, "conflicting_parameters", "use only one of before, after and since")
        dm = None
        if "dm" in q:
            session = require_session(self.sessions, request, csrf=False)
            dm = (session.signer.callsign, inputs.callsign(q["dm"], "dm"))
        search = q.get("q")
        if search is not None and not 1 <= len(search) <= 200:
            fail(400, "bad_query", "q must be 1-200 characters")
        query = MessageQuery(
            zone=inputs.zone(q.get("zone"), self.zones),
            channel=inputs.channel(q["channel"]) if "channel" in q else None,
            limit=inputs.limit(q),
            before=inputs.hex_id(q["before"], "before") if "before" in q else None,
            after=inputs.hex_id(q["after"], "after") if "after" in q else None,
            q=search,
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
        session = self.sessions.get(request.cookies.get(COOKIE))
        me = session.signer.callsign if session is not None else None
        # Direct messages stay between their two callsigns here too.
        shown = [v for v in views if v.to is None or me in (v.callsign, v.to)]
        return web.json_response({"messages": [v.to_json() for v in shown]})

    async def conversations(self, request: web.Request) -> web.Response:
        """``GET /api/v1/dms?zone=`` → ``{conversations: [{callsign, last_ts, count}]}``."""
        session = require_session(self.sessions, request, csrf=False)
        zone = inputs.zone(request.query.get("zone"), self.zones)
        found = await self.store.conversations(zone, session.signer.callsign)
        return web.json_response(
            {
                "zone": zone,
                "conversations": [
                    {"callsign": who, "last_ts": last, "count": n} for who, last, n in found
                ],
            }
        )

    async def channels(self, request: web.Request) -> web.Response:
        """``GET /api/v1/channels?zone=`` → ``{channels: [...]}``."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        views = await self.store.channels(zone)
        return web.json_response(
            {
                "zone": zone,
                "default": self.config.node.default_channel,
                "channels": [v.to_json() for v in views],
            }
        )

    async def create_channel(self, request: web.Request) -> web.Response:
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
        record = await self._publish(session, zone, "channel", {"name": name, "topic": topic})
        return web.json_response({"id": record.id_hex, "ts": record.ts}, status=201)

    async def callsigns(self, request: web.Request) -> web.Response:
        """``GET /api/v1/callsigns?zone&prefix`` → known callsigns, for @mention completion."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        prefix = request.query.get("prefix", "").strip().upper()[:20]
        return web.json_response({"callsigns": await self.store.callsigns(zone, prefix)})
