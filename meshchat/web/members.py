"""A channel's members through the JSON API: invite (with a role), change a role, kick.

``POST /api/v1/channels/{name}/members {zone?, callsign, role?}`` and ``DELETE
/api/v1/channels/{name}/members/{callsign}?zone=``. The owner and the operators invite
and kick members; only the owner names or removes operators; nobody removes the owner.
Each change is a new ``channel`` record with the whole state (``store.rights``).
"""

from __future__ import annotations

from aiohttp import web

from meshchat import schemas
from meshchat.outbox import Outbox
from meshchat.store import rights
from meshchat.store.db import Store
from meshchat.store.rights import MEMBER, OPERATOR, Channel
from meshchat.web import inputs
from meshchat.web.access import require_key
from meshchat.web.auth import Session, Sessions
from meshchat.web.channels import bound_members, refuse_manage
from meshchat.web.http import fail, json_body
from meshchat.web.login import require_session
from meshchat.web.messages import created

ROLES = (MEMBER, OPERATOR)


class MembersApi:
    """Inviting, promoting and kicking members of a channel."""

    def __init__(
        self, store: Store, outbox: Outbox, sessions: Sessions, zones: tuple[str, ...]
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.sessions = sessions
        self.zones = zones

    async def _managed(
        self, request: web.Request, zone: str, session: Session
    ) -> tuple[Channel, bytes]:
        """Return the channel named in the path and the session's key, 403/404 otherwise."""
        name = inputs.channel(request.match_info["name"], "name")
        key = require_key(session, f"managing the members of #{name}")
        channel = (await self.store.access(zone)).channel(name)
        if channel is None or channel.genesis is None:
            fail(404, "unknown_channel", f"#{name} has no channel record here")
        if channel.owner is None:
            fail(409, "no_members", f"#{name} was founded without a key: it has no members")
        if not channel.may_manage(key):
            refuse_manage(channel, "invite or remove members")
        return channel, key

    async def add(self, request: web.Request) -> web.Response:
        """Invite ``callsign`` (or change its role): ``201 {id, ts}``, or 200 when unchanged."""
        session = require_session(self.sessions, request)
        body = await json_body(request, frozenset({"zone", "callsign", "role"}))
        zone = inputs.zone(body.get("zone"), self.zones)
        channel, key = await self._managed(request, zone, session)
        role = body.get("role", MEMBER)
        if role not in ROLES:
            fail(400, "bad_role", "role must be member or operator")
        call = inputs.callsign(body.get("callsign"))
        [(member, _)] = (await bound_members(self.store, zone, [call])).items()
        if member == channel.owner:
            fail(409, "owner", f"{call} owns #{channel.name}")
        promote = role == OPERATOR
        was = channel.role(member)
        if (promote or was == OPERATOR) and key != channel.owner:
            fail(403, "not_channel_owner", f"only the owner of #{channel.name} names operators")
        if was == role:
            return web.json_response({"id": None, "ts": None, "unchanged": True})
        members = {**channel.members, member: call}
        ops = set(channel.operators)
        (ops.add if promote else ops.discard)(member)
        return await self._publish(session, zone, channel, members, ops)

    async def remove(self, request: web.Request) -> web.Response:
        """Kick ``callsign`` (every key of it that is a member): ``201 {id, ts}``."""
        session = require_session(self.sessions, request)
        zone = inputs.zone(request.query.get("zone"), self.zones)
        channel, key = await self._managed(request, zone, session)
        call = inputs.callsign(request.match_info["callsign"])
        gone = {k for k, c in channel.members.items() if c == call}
        if not gone:
            fail(404, "not_member", f"{call} is not a member of #{channel.name}")
        if channel.owner in gone:
            fail(403, "owner", f"{call} owns #{channel.name}: the owner cannot be removed")
        if gone & channel.operators and key != channel.owner:
            fail(403, "not_channel_owner", f"only the owner of #{channel.name} removes operators")
        members = {k: c for k, c in channel.members.items() if k not in gone}
        return await self._publish(session, zone, channel, members, channel.operators - gone)

    async def _publish(
        self,
        session: Session,
        zone: str,
        channel: Channel,
        members: dict[bytes, str],
        operators: set[bytes] | frozenset[bytes],
    ) -> web.Response:
        if len(members) > schemas.MAX_LIST:
            fail(409, "channel_full", f"#{channel.name} has {schemas.MAX_LIST} members already")
        body = rights.channel_body(
            channel, session.signer.callsign, members=members, operators=operators
        )
        return created(
            await self.outbox.channel_state(session.signer, zone, body, channel.latest_ts)
        )
