"""Channels through the JSON API: the list, creating one, its topic and its rules.

A channel is founded by its first ``channel`` record seen here; every later one is a whole
new state that names the founding record (``store.rights``, docs/decisions.md "Access
control"). Whoever holds the right signs the change with their own key; a channel that a
callsign-only login founded keeps the rule it had before access control: public, its
topic set by that callsign from that browser.
"""

from __future__ import annotations

from collections.abc import Collection

from aiohttp import web

from meshchat import schemas
from meshchat.outbox import Outbox
from meshchat.records import Record
from meshchat.store import rights
from meshchat.store.db import Store
from meshchat.store.rights import Channel
from meshchat.web import inputs
from meshchat.web.access import check_channel, current, reader_key, require_key
from meshchat.web.auth import Session, Sessions
from meshchat.web.http import fail, json_body
from meshchat.web.login import require_session
from meshchat.web.messages import created

CREATE_FIELDS = frozenset({"zone", "name", "topic", "restricted", "members"})


def refuse_manage(channel: Channel, what: str) -> None:
    """403: only the owner or an operator of ``channel`` may do ``what``."""
    fail(403, "not_channel_owner", f"only the owner or an operator of #{channel.name} may {what}")


async def bound_members(store: Store, zone: str, calls: Collection[str]) -> dict[bytes, str]:
    """Return key -> callsign of ``calls`` by their first-seen binding; 409 for one unbound."""
    bound = await store.bound_keys(zone, calls)
    missing = sorted(set(calls) - set(bound))
    if missing:
        fail(
            409,
            "not_bound",
            f"{', '.join(missing)} has no key in this zone yet: rights belong to keys, so "
            "they log in with a passphrase and post once, then they can be invited",
        )
    return {bound[c]: c for c in calls}


class ChannelsApi:
    """The channels of a zone, their rules, and the callsigns known in it."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        sessions: Sessions,
        zones: tuple[str, ...],
        default_channel: str,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.sessions = sessions
        self.zones = zones
        self.default_channel = default_channel

    async def channels(self, request: web.Request) -> web.Response:
        """``GET /api/v1/channels?zone=`` → ``{channels: [...]}`` (restricted: members only)."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        views = await self.store.channels(zone, reader_key(current(self.sessions, request)))
        return web.json_response(
            {
                "zone": zone,
                "default": self.default_channel,
                "channels": [v.to_json() for v in views],
            }
        )

    async def create(self, request: web.Request) -> web.Response:
        """``POST /api/v1/channels {zone?, name, topic?, restricted?, members?}`` → 201.

        A new name founds the channel; a known one changes it (the topic, whether it is
        restricted, more members): that needs the right to (``store.rights``).
        """
        session = require_session(self.sessions, request)
        body = await json_body(request, CREATE_FIELDS)
        zone = inputs.zone(body.get("zone"), self.zones)
        name = inputs.channel(body.get("name"), "name")
        if not name:
            fail(400, "bad_channel", "a new channel needs a name")
        topic = body.get("topic")
        if topic is not None and (not isinstance(topic, str) or not schemas.valid_topic(topic)):
            fail(400, "bad_topic", "topic must be at most 500 characters, no control characters")
        restricted = body.get("restricted")
        if restricted is not None and not isinstance(restricted, bool):
            fail(400, "bad_restricted", "restricted must be true or false")
        calls = body.get("members")
        if calls is not None and (not isinstance(calls, list) or len(calls) >= schemas.MAX_LIST):
            fail(400, "bad_members", f"members must be a list of fewer than {schemas.MAX_LIST}")
        invited = [inputs.callsign(c, "members") for c in calls or ()]
        channel, view = await self.store.channel_view(zone, name)
        if channel is None or (channel.genesis is None and not channel.unknown):
            record = await self._found(session, zone, name, topic, restricted, invited, view.count)
        else:
            record = await self._change(session, zone, channel, topic, restricted, invited)
        return created(record)

    async def _found(
        self,
        session: Session,
        zone: str,
        name: str,
        topic: str | None,
        restricted: bool | None,
        invited: list[str],
        count: int,
    ) -> Record:
        signer = session.signer
        if not restricted and not invited and signer.via_node:
            # A callsign-only login founds a public channel, as before access control.
            record = await self.outbox.channel(signer, zone, name, topic or "")
            await self.store.note_authored(record.id, session.device)
            return record
        key = require_key(session, "a restricted channel or one with members")
        if restricted and count:
            fail(
                409,
                "channel_in_use",
                f"#{name} already has messages: a restricted channel starts with a new name",
            )
        members = await bound_members(self.store, zone, invited)
        body = rights.genesis_body(
            name, signer.callsign, key, topic or "", bool(restricted), members
        )
        return await self.outbox.channel_state(signer, zone, body)

    async def _change(
        self,
        session: Session,
        zone: str,
        channel: Channel,
        topic: str | None,
        restricted: bool | None,
        invited: list[str],
    ) -> Record:
        if channel.unknown:
            await check_channel(self.store, session, zone, channel.name)
        signer = session.signer
        if channel.owner is None:  # founded through a node key: the old topic rule
            if restricted is not None or invited:
                fail(
                    403,
                    "key_required",
                    f"#{channel.name} was founded without a key: it stays public",
                )
            await self._node_topic(session, channel)
            new = channel.topic if topic is None else topic
            return await self.outbox.channel(signer, zone, channel.name, new)
        key = require_key(session, f"changing #{channel.name}")
        if not channel.may_manage(key):
            refuse_manage(channel, "change it")
        if restricted is not None and restricted != channel.restricted and key != channel.owner:
            fail(
                403, "not_channel_owner", f"only the owner of #{channel.name} restricts or opens it"
            )
        members: dict[bytes, str] | None = None
        if invited:
            members = {**channel.members, **await bound_members(self.store, zone, invited)}
        body = rights.channel_body(
            channel, signer.callsign, topic=topic, restricted=restricted, members=members
        )
        return await self.outbox.channel_state(signer, zone, body, channel.latest_ts)

    async def _node_topic(self, session: Session, channel: Channel) -> None:
        """403 unless the session is the callsign-only founder, from that browser."""
        genesis = channel.genesis
        assert genesis is not None
        signer = session.signer
        ours = genesis.author == bytes(signer.key.verify_key) and signer.via_node
        ours = ours and rights.body_callsign(genesis) == signer.callsign
        if ours:
            ours = await self.store.authored_by(genesis.id) == session.device
        if not ours:
            fail(403, "not_channel_owner", f"only the owner of #{channel.name} may set its topic")

    async def callsigns(self, request: web.Request) -> web.Response:
        """``GET /api/v1/callsigns?zone&prefix`` → known callsigns, for @mention completion."""
        zone = inputs.zone(request.query.get("zone"), self.zones)
        prefix = request.query.get("prefix", "").strip().upper()[:20]
        return web.json_response({"callsigns": await self.store.callsigns(zone, prefix)})
