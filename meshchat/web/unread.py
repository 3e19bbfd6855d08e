"""``POST /api/v1/unread``: how many messages others wrote since the user last read each place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from meshchat.store.db import Store
from meshchat.store.unread import CAP, Floors, unread
from meshchat.web import inputs
from meshchat.web.access import seen_by
from meshchat.web.auth import Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.login import require_session

MAX_PLACES = 1000


def _floors(value: Any, field: str, parse: Callable[[Any, str], str]) -> dict[str, int]:
    """Return ``{name: ms}`` from a JSON object, or a 400 naming ``field``."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_PLACES:
        fail(400, "bad_floors", f"{field} must be an object of at most {MAX_PLACES} entries")
    out: dict[str, int] = {}
    for name, ms in value.items():
        if type(ms) is not int or ms < 0:
            fail(400, "bad_floors", f"{field} values are times in ms since the epoch")
        out[parse(name, field)] = ms
    return out


class UnreadApi:
    """Unread counts by message time: imported old history is not "unread"."""

    def __init__(self, store: Store, sessions: Sessions, zones: tuple[str, ...]) -> None:
        self.store = store
        self.sessions = sessions
        self.zones = zones

    async def counts(self, request: web.Request) -> web.Response:
        """``{zone?, floor, channels?: {name: ms}, dms?: {CALL: ms}}`` → counts past them."""
        session = require_session(self.sessions, request)
        body = await json_body(request, frozenset({"zone", "floor", "channels", "dms"}))
        zone = inputs.zone(body.get("zone"), self.zones)
        floor = body.get("floor")
        if type(floor) is not int or floor < 0:
            fail(400, "bad_floors", "floor is a time in ms since the epoch")
        floors = Floors(
            default=floor,
            channels=_floors(body.get("channels"), "channels", inputs.channel),
            dms=_floors(body.get("dms"), "dms", inputs.callsign),
        )
        seen = await seen_by(self.store, session, zone)
        found = await unread(self.store, zone, session.signer.callsign, floors, seen)
        return web.json_response(
            {
                "zone": zone,
                "channels": found.channels,
                "dms": found.dms,
                "cap": CAP,
                "seq": found.seq,
            }
        )
