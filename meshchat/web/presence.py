"""Who is online: ``GET /api/v1/presence`` and setting one's own status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from meshchat.presence import STATUSES, PresenceEntry, PresenceService
from meshchat.store.db import Store
from meshchat.web import inputs
from meshchat.web.auth import Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.login import require_session


def verified(entry: PresenceEntry, bound: bytes | None) -> str:
    """Return key | via | conflict: what an online entry says of who is there.

    A callsign bound to a key here (docs/decisions.md "Identity") is that key's alone: an
    entry for it from a session without that key is a conflict, as its messages would be.
    The key is what the entry's node says (presence is not signed).
    """
    if bound is not None:
        return "key" if entry.key == bound else "conflict"
    return "key" if entry.key is not None else "via"


async def presence_json(
    store: Store, zone: str, entries: Sequence[PresenceEntry]
) -> list[dict[str, Any]]:
    """Return online entries as browsers get them, each with its ``verified`` mark."""
    bound = await store.bound_keys(zone, {e.callsign for e in entries})
    return [entry_json(e, verified(e, bound.get(e.callsign))) for e in entries]


def entry_json(entry: PresenceEntry, mark: str) -> dict[str, Any]:
    """Return one online entry as browsers get it, with its ``verified`` mark."""
    return {**entry.to_wire(), "verified": mark}


class PresenceApi:
    """Lists presence zone-wide and lets a user set online / away / busy."""

    def __init__(
        self, store: Store, sessions: Sessions, zones: tuple[str, ...], presence: PresenceService
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.zones = zones
        self.presence = presence

    async def list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/presence?zone=`` → ``{users: [{callsign, node, status, ...}]}``."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        users = await presence_json(self.store, zone, self.presence.zone(zone))
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
