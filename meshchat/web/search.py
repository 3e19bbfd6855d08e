"""``GET /api/v1/messages?q=…``: search with ``from:`` / ``in:`` filters, pages and a count."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from meshchat.clock import wall_ms
from meshchat.errors import RemoteProtocolError
from meshchat.store import search as search_text
from meshchat.store.db import Store
from meshchat.store.searchpage import SearchQuery, search
from meshchat.web import inputs
from meshchat.web.access import check_channel, current, seen_by
from meshchat.web.auth import Sessions
from meshchat.web.http import fail
from meshchat.web.login import dm_reader
from meshchat.web.messages import yours

MAX_QUERY = 200


class SearchApi:
    """Full-text search over the zone's channels and the user's own direct messages."""

    def __init__(self, store: Store, sessions: Sessions, zones: tuple[str, ...]) -> None:
        self.store = store
        self.sessions = sessions
        self.zones = zones

    async def query(self, request: web.Request) -> SearchQuery:
        """Build the search a request asks for; filters in ``q`` win over parameters."""
        q: Mapping[str, str] = request.query
        if "after" in q:
            fail(400, "conflicting_parameters", "search pages back with before, not after")
        if "before" in q and "since" in q:
            fail(400, "conflicting_parameters", "use only one of before and since")
        raw = q.get("q", "")
        if len(raw) > MAX_QUERY:
            fail(400, "bad_query", f"q must be at most {MAX_QUERY} characters")
        try:
            text = search_text.parse(raw)
        except RemoteProtocolError as exc:
            fail(400, "bad_query", exc.detail)
        # Whose direct messages the search may show: none for a callsign-only session of a
        # callsign bound to a key (web.login.dm_reader).
        me = await dm_reader(self.sessions, request, inputs.zone(q.get("zone"), self.zones))
        author = text.author
        if author is None and "from" in q:
            author = inputs.callsign(q["from"], "from")
        channel, dm = text.channel, text.dm
        if channel is None and dm is None:
            channel = inputs.channel(q["channel"]) if "channel" in q else None
            dm = inputs.callsign(q["dm"], "dm") if "dm" in q else None
        if dm is not None and me is None:
            fail(401, "not_logged_in", "log in to search your direct messages")
        if channel is not None:
            zone = inputs.zone(q.get("zone"), self.zones)
            await check_channel(self.store, current(self.sessions, request), zone, channel)
        try:
            return SearchQuery(
                zone=inputs.zone(q.get("zone"), self.zones),
                words=text.words,
                me=me,
                channel=channel,
                dm=dm,
                author=author,
                before=inputs.hex_id(q["before"], "before") if "before" in q else None,
                since_ts=inputs.since(q, wall_ms()),
                limit=inputs.limit(q),
            )
        except RemoteProtocolError as exc:
            fail(400, "bad_query", exc.detail)

    async def reply(self, request: web.Request) -> web.Response:
        """Answer one page: ``{messages, total, total_exact, terms, filters}``."""
        query = await self.query(request)
        session = current(self.sessions, request)
        seen = await seen_by(self.store, session, query.zone)
        page = await search(self.store, query, seen)
        return web.json_response(
            {
                "messages": [v.to_json() for v in page.messages],
                "yours": await yours(self.store, session, page.messages),
                "total": page.total,
                "total_exact": page.exact,
                "terms": page.terms,
                "filters": {"from": query.author, "channel": query.channel, "dm": query.dm},
            }
        )
