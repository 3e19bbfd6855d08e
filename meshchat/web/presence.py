"""Who is online: ``GET /api/v1/presence`` and setting one's own status."""

from __future__ import annotations

from aiohttp import web

from meshchat.presence import STATUSES, PresenceService
from meshchat.web import inputs
from meshchat.web.auth import Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.login import require_session


class PresenceApi:
    """Lists presence zone-wide and lets a user set online / away / busy."""

    def __init__(self, sessions: Sessions, zones: tuple[str, ...], presence: PresenceService):
        self.sessions = sessions
        self.zones = zones
        self.presence = presence

    async def list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/presence?zone=`` → ``{users: [{callsign, node, status, ...}]}``."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        users = [u.to_wire() for u in self.presence.zone(zone)]
        return web.json_response({"zone": zone, "users": users})

    async def set_status(self, request: web.Request) -> web.Response:
        """``POST /api/v1/presence {status}``: online, away or busy."""
        session = require_session(self.sessions, request)
        body = await json_body(request, frozenset({"status"}))
        status = body.get("status")
        if not isinstance(status, str) or status not in STATUSES:
            fail(400, "bad_status", f"status must be one of {', '.join(STATUSES)}")
        self.presence.set_status(session.signer.callsign, status)
        return web.json_response({"status": status})
