"""Zone moderation and local hides through the JSON API (``/api/v1/moderation``).

A zone operator (a key in this node's ``zone.operators``) hides a record or bans an
author key from the zone with a signed record (``store.moderation``): every node that
trusts that operator applies it when reading, and the log stays append-only. A node
operator (``node.operators``, or a zone operator) hides a record on this node only: a row
in the node's own table, never in the log. The hidden record's author still sees it,
marked. Undoing is ``unhide`` / ``unban``: the operator's own records are retracted.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aiohttp import web

from meshchat.outbox import Outbox
from meshchat.store.db import Store
from meshchat.store.moderation import BAN, HIDE, MAX_REASON
from meshchat.web import inputs
from meshchat.web.access import current, reader_key, require_key
from meshchat.web.auth import Session, Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.login import require_session
from meshchat.web.messages import created

FIELDS = frozenset({"zone", "target", "author", "action", "scope", "reason"})
ACTIONS = {"hide": HIDE, "unhide": HIDE, "ban": BAN, "unban": BAN}


class ModerationApi:
    """Hide and ban, zone-wide or here only, and the list of what is hidden."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        sessions: Sessions,
        zones: tuple[str, ...],
        node_operators: Collection[bytes],
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.sessions = sessions
        self.zones = zones
        self.zone_operators = store.zone_operators
        self.node_operators = frozenset(node_operators) | self.zone_operators

    def _operator(self, session: Session, scope: str) -> bytes:
        key = require_key(session, "moderation")
        if scope == "zone" and key not in self.zone_operators:
            fail(
                403,
                "not_zone_operator",
                "this node does not trust your key as a zone operator (its [zone] operators)",
            )
        if scope == "node" and key not in self.node_operators:
            fail(403, "not_node_operator", "your key is not an operator of this node")
        return key

    async def act(self, request: web.Request) -> web.Response:
        """``POST /api/v1/moderation {zone?, target|author, action, scope?, reason?}``."""
        session = require_session(self.sessions, request)
        body = await json_body(request, FIELDS)
        zone = inputs.zone(body.get("zone"), self.zones)
        action = body.get("action")
        if action not in ACTIONS:
            fail(400, "bad_action", "action must be hide, unhide, ban or unban")
        scope = body.get("scope", "zone")
        if scope not in ("zone", "node") or (scope == "node" and ACTIONS[action] == BAN):
            fail(400, "bad_scope", "scope is zone, or node for hide and unhide")
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > MAX_REASON or not reason.isprintable():
            fail(400, "bad_reason", f"reason must be at most {MAX_REASON} printable characters")
        key = self._operator(session, scope)
        verb = ACTIONS[action]
        if verb == HIDE:
            target = inputs.hex_id(body.get("target"), "target")
            found = await self.store.get_record(target)
            if found is None or found.zone != zone:
                fail(404, "unknown_record", "no such record in this zone here")
        else:
            target = inputs.hex_id(body.get("author"), "author")  # a key: 64 hex digits too
        if scope == "node":
            return await self._local(zone, action, target, key)
        access = await self.store.access(zone)
        mine = access.moderation.by(key, verb, target)
        if action in ("hide", "ban"):
            if mine:
                return web.json_response({"id": mine[0].id_hex, "ts": mine[0].ts})
            made = await self.outbox.moderate(session.signer, zone, verb, target, reason)
            return created(made)
        if not mine:
            fail(404, "not_moderated", f"you have no {verb} of that in force")
        for record in mine:
            made = await self.outbox.delete(session.signer, record)
        return created(made)

    async def _local(self, zone: str, action: str, target: bytes, key: bytes) -> web.Response:
        if action == "hide":
            await self.store.hide_locally(zone, target, key)
            return web.json_response({"id": None, "ts": None, "scope": "node"}, status=201)
        if not await self.store.unhide_locally(zone, target):
            fail(404, "not_moderated", "that record is not hidden on this node")
        return web.json_response({"id": None, "ts": None, "scope": "node"})

    async def list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/moderation?zone=``: what is hidden and banned here, and your rights."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        key = reader_key(current(self.sessions, request))
        access = await self.store.access(zone)
        hidden: list[dict[str, Any]] = [
            {"id": rid.hex(), "by": "zone" if rid in access.moderation.hidden else "node"}
            for rid in sorted(access.hidden_ids)
        ]
        return web.json_response(
            {
                "zone": zone,
                "zone_operator": key is not None and key in self.zone_operators,
                "node_operator": key is not None and key in self.node_operators,
                "operators": sorted(k.hex() for k in self.zone_operators),
                "hidden": hidden,
                "banned": sorted(k.hex() for k in access.banned),
            }
        )
