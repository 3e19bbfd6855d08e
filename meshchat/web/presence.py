"""Who is online: ``GET /api/v1/presence`` and setting one's own status."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from meshchat.clock import wall_ms
from meshchat.sync import wire
from meshchat.sync.presence import PresenceTable, combined
from meshchat.web import inputs
from meshchat.web.auth import Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.login import require_session

# A browser that has not been seen for this long is not "online" any more.
IDLE_MS = 5 * 60_000


def local_presence(sessions: Sessions, node_name: str) -> Callable[[str], list[wire.PresenceEntry]]:
    """Return a function listing this node's logged-in users as presence entries."""

    def entries(zone: str) -> list[wire.PresenceEntry]:
        del zone  # a session is present in every zone this node serves
        now = wall_ms()
        latest: dict[str, wire.PresenceEntry] = {}
        for session in sessions.online():
            if session.last_seen_ms < now - IDLE_MS:
                continue
            entry = wire.PresenceEntry(
                session.signer.callsign, node_name, session.status, session.since_ms, now
            )
            known = latest.get(entry.callsign)
            if known is None or entry.since < known.since:
                latest[entry.callsign] = entry
        return list(latest.values())

    return entries


def zone_presence(
    local: Callable[[str], list[wire.PresenceEntry]], tables: dict[str, PresenceTable]
) -> Callable[[str], list[wire.PresenceEntry]]:
    """Return a function listing a zone's users: this node's, then those heard from peers."""

    def users(zone: str) -> list[wire.PresenceEntry]:
        table = tables.get(zone)
        return combined(local(zone), table.remote(wall_ms()) if table is not None else [])

    return users


class PresenceApi:
    """Lists presence zone-wide and lets a user set online / away / busy."""

    def __init__(
        self,
        sessions: Sessions,
        zones: tuple[str, ...],
        users: Callable[[str], list[wire.PresenceEntry]],
    ) -> None:
        self.sessions = sessions
        self.zones = zones
        self.users = users

    async def list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/presence?zone=`` → ``{users: [{callsign, node, status, ...}]}``."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        users = [u.to_wire() for u in self.users(zone)]
        return web.json_response({"zone": zone, "users": users})

    async def set_status(self, request: web.Request) -> web.Response:
        """``POST /api/v1/presence {status}``: online, away or busy."""
        session = require_session(self.sessions, request)
        body = await json_body(request, frozenset({"status"}))
        status = body.get("status")
        if status not in wire.STATUSES:
            fail(400, "bad_status", f"status must be one of {', '.join(wire.STATUSES)}")
        for other in self.sessions.online():
            if other.signer.callsign == session.signer.callsign:
                other.status = str(status)
        return web.json_response({"status": status})
