"""Reading through the JSON API: history pages, search, threads, conversations.

Every read is filtered by what the reader may see (``web.access``, DESIGN §10).
"""

from __future__ import annotations

from aiohttp import web

from meshchat.clock import wall_ms
from meshchat.store.db import Store
from meshchat.store.views import MessageQuery
from meshchat.web import inputs
from meshchat.web.access import check_channel, current, seen_by
from meshchat.web.auth import Sessions
from meshchat.web.http import fail
from meshchat.web.login import dm_reader, refuse_unbound_reader, require_session
from meshchat.web.messages import yours
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
            me = require_session(self.sessions, request, csrf=False)
            if await dm_reader(self.sessions, request, zone) is None:
                refuse_unbound_reader(me.signer.callsign)
            dm = (me.signer.callsign, inputs.callsign(q["dm"], "dm"))
        channel = inputs.channel(q["channel"]) if "channel" in q else None
        session = current(self.sessions, request)
        if channel is not None:
            await check_channel(self.store, session, zone, channel)
        query = MessageQuery(
            zone=zone,
            channel=channel,
            limit=inputs.limit(q),
            before=inputs.hex_id(q["before"], "before") if "before" in q else None,
            after=inputs.hex_id(q["after"], "after") if "after" in q else None,
            since_ts=inputs.since(q, wall_ms()),
            dm=dm,
        )
        views = await self.store.messages(query, await seen_by(self.store, session, zone))
        return web.json_response(
            {
                "messages": [v.to_json() for v in views],
                "yours": await yours(self.store, session, views),
            }
        )

    async def _thread(self, request: web.Request) -> web.Response:
        """``GET /api/v1/messages?thread=ID``: a message and its replies, oldest first."""
        q = request.query
        if set(q) - {"zone", "thread"}:
            fail(400, "conflicting_parameters", "thread takes only zone")
        zone = inputs.zone(q.get("zone"), self.zones)
        seen = await seen_by(self.store, current(self.sessions, request), zone)
        views = await self.store.thread(zone, inputs.hex_id(q["thread"], "thread"), seen=seen)
        me = await dm_reader(self.sessions, request, zone)
        # Direct messages stay between their two callsigns here too.
        shown = [v for v in views if v.to is None or me in (v.callsign, v.to)]
        return web.json_response(
            {
                "messages": [v.to_json() for v in shown],
                "yours": await yours(self.store, current(self.sessions, request), shown),
            }
        )

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
