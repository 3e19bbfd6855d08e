"""Writing messages through the JSON API: post, edit, delete, react (``/api/v1/messages``)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from meshchat.outbox import Outbox
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.store.models import MessageView
from meshchat.store.resolve import SHOWN_KINDS
from meshchat.web import inputs
from meshchat.web.access import check_channel, seen_by
from meshchat.web.auth import Session, Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.idempotency import HEADER, IdempotencyKeys, fingerprint, parse_key
from meshchat.web.login import require_session

POST_FIELDS = frozenset({"zone", "channel", "text", "reply_to", "to", "geo"})


async def yours(store: Store, session: Session | None, views: Sequence[MessageView]) -> list[str]:
    """Return the ids among ``views`` that ``session`` may edit or delete (as ``_own_target``).

    The UI offers Edit and Delete on these only; the API refuses the rest anyway.
    """
    if session is None:
        return []
    signer = session.signer
    key = bytes(signer.key.verify_key).hex()
    own = [
        v
        for v in views
        if v.author == key
        and v.callsign == signer.callsign
        and not v.deleted
        and v.kind in ("msg", "file")
    ]
    if signer.via_node and own:  # the node signs for everyone: only this browser's own
        posted = await store.authored_among([bytes.fromhex(v.id) for v in own], session.device)
        own = [v for v in own if bytes.fromhex(v.id) in posted]
    return [v.id for v in own]


def created(record: Record) -> web.Response:
    """Return ``201 {id, ts}`` for a record that has been committed."""
    return web.json_response({"id": record.id_hex, "ts": record.ts}, status=201)


class MessagesApi:
    """Posting, editing, deleting and reacting to messages, all through the outbox."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        sessions: Sessions,
        zones: tuple[str, ...],
        max_text_bytes: int,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.sessions = sessions
        self.zones = zones
        self.max_text_bytes = max_text_bytes
        self.idempotency = IdempotencyKeys()  # memory only: a restart forgets the keys

    async def post(self, request: web.Request) -> web.Response:
        """``POST /api/v1/messages`` → ``201 {id}`` once the record is committed."""
        session = require_session(self.sessions, request)
        body = await json_body(request, POST_FIELDS)
        zone = inputs.zone(body.get("zone"), self.zones)
        if "channel" not in body:
            fail(400, "missing_field", "channel is required ('' is Everything)")
        text = inputs.text(body.get("text"), "text", self.max_text_bytes)
        channel = inputs.channel(body["channel"])
        to = inputs.callsign(body["to"], "to") if body.get("to") is not None else None
        if to is None:  # a post in a restricted channel is its members' to make
            await check_channel(self.store, session, zone, channel)
        reply_to = None
        if body.get("reply_to") is not None:
            reply_to = inputs.hex_id(body["reply_to"], "reply_to")
            seen = await seen_by(self.store, session, zone)
            if await self.store.message(zone, reply_to, seen) is None:
                fail(404, "unknown_reply_to", "reply_to names no message in this zone")
        geo = inputs.geo(body["geo"]) if body.get("geo") is not None else None

        async def make() -> Record:
            return await self.mine(
                session,
                await self.outbox.message(
                    session.signer, zone, channel, text, reply_to=reply_to, to=to, geo=geo
                ),
            )

        key = parse_key(request.headers.get(HEADER))
        if key is None:
            return created(await make())
        # A retry of a post whose reply was lost: the first record's id, no duplicate.
        print_ = fingerprint({**body, "zone": zone})
        record_id, ts, repeat = await self.idempotency.once(session.token, key, print_, make)
        if repeat:
            return web.json_response(
                {"id": record_id, "ts": ts}, status=200, headers={"Idempotent-Replayed": "true"}
            )
        return web.json_response({"id": record_id, "ts": ts}, status=201)

    async def mine(self, session: Session, record: Record) -> Record:
        """Note which browser a record the node signed came from; return the record."""
        if session.signer.via_node:
            await self.store.note_authored(record.id, session.device)
        return record

    async def _own_target(self, request: web.Request, session: Session) -> Record:
        """Return the record named in the path, 403 unless the session wrote it.

        A user key's records are its own. What the node signed for a callsign-only user
        is that callsign's, and only from the browser that posted it (docs/decisions.md).
        """
        target_id = inputs.hex_id(request.match_info["id"], "id")
        target = await self.store.get_record(target_id)
        if target is None or target.zone not in self.zones:
            fail(404, "unknown_message", "no such record on this node")
        if target.gone:
            fail(410, "deleted", "its author deleted it: there is nothing left to change")
        signer = session.signer
        mine = target.author == bytes(signer.key.verify_key) and (
            target.body.get("callsign") == signer.callsign
        )
        if mine and signer.via_node:
            mine = await self.store.authored_by(target.id) == session.device
            if not mine:
                fail(403, "not_author", "only the browser that posted it may change it")
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
        text = inputs.text(body.get("text"), "text", self.max_text_bytes)
        return created(await self.outbox.edit(session.signer, target, text))

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /api/v1/messages/{id}`` → ``201 {id}`` of the delete record."""
        session = require_session(self.sessions, request)
        target = await self._own_target(request, session)
        return created(await self.outbox.delete(session.signer, target))

    async def react(self, request: web.Request) -> web.Response:
        """``POST /api/v1/messages/{id}/reactions {emoji}`` → ``201 {id}``."""
        session = require_session(self.sessions, request)
        body = await json_body(request, frozenset({"emoji"}))
        target_id = inputs.hex_id(request.match_info["id"], "id")
        target = await self.store.get_record(target_id)
        if target is None or target.zone not in self.zones:
            fail(404, "unknown_message", "no such record on this node")
        if target.gone:
            fail(410, "deleted", "its author deleted it")
        emoji = body.get("emoji")
        if not isinstance(emoji, str) or not 1 <= len(emoji) <= 32 or not emoji.isprintable():
            fail(400, "bad_emoji", "emoji must be 1-32 printable characters")
        view = await self.store.message(
            target.zone, target.id, await seen_by(self.store, session, target.zone)
        )
        if view is None and target.kind in SHOWN_KINDS:
            fail(404, "unknown_message", "no such record on this node")
        for reaction in view.reactions if view is not None else ():
            mine = session.signer.callsign
            if reaction.emoji == emoji and mine in reaction.callsigns:
                # Already reacted: answer with that reaction instead of signing a second.
                existing = reaction.ids[reaction.callsigns.index(mine)]
                return web.json_response({"id": existing, "ts": None}, status=200)
        return created(
            await self.mine(session, await self.outbox.react(session.signer, target, emoji))
        )

    async def unreact(self, request: web.Request) -> web.Response:
        """``DELETE /api/v1/reactions/{id}``: retract one's own reaction record."""
        session = require_session(self.sessions, request)
        target = await self._own_target(request, session)
        if target.kind != "react":
            fail(400, "not_a_reaction", "use DELETE /api/v1/messages/{id} for messages")
        return created(await self.outbox.delete(session.signer, target))
