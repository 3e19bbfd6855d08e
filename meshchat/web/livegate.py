"""What each live socket may be told (DESIGN §10): the access rules on the live hub's events.

The hub builds each event once for the zone (``everything``: nothing held back, hidden
records marked) and asks the gate, per socket, what that reader gets: the event, a
``hidden`` notice instead (a message others saw is now hidden: drop it), a channel with
the reader's own role, ``gone`` for a member who was removed, or nothing; a trusted
operator's ban is a ``banned`` event (the UI drops that author's rows). Typing notices
in a restricted channel reach only its members, and only from its members; while the
rules are being recomputed after a change, typing notices wait (they repeat anyway).
"""

from __future__ import annotations

from typing import Any

from meshchat.store.access import OPEN, Access, ReadFilter
from meshchat.store.db import Store
from meshchat.store.moderation import BAN, action
from meshchat.web.access import reader_key
from meshchat.web.auth import Session

Event = dict[str, Any]


class LiveGate:
    """The access rules of each zone as the hub last read them, and per-reader filters."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._access: dict[str, Access] = {}
        self._filters: dict[tuple[str, bytes | None, str], ReadFilter] = {}

    async def refresh(self, zone: str) -> None:
        """Read the zone's rules again if they changed (before events are fanned out)."""
        access = await self.store.access(zone)
        if access is not self._access.get(zone):
            self._access[zone] = access
            self._filters = {k: f for k, f in self._filters.items() if k[0] != zone}

    def everything(self, zone: str) -> ReadFilter:
        """Return the filter the hub builds events with: marks only."""
        access = self._access.get(zone)
        return access.everything() if access is not None else OPEN

    async def bans(self, zone: str, seq: int, record_id: bytes) -> list[Event]:
        """Return a ``banned`` event when ``record_id`` is a trusted operator's ban."""
        record = await self.store.get_record(record_id)
        if record is None or action(record) != BAN:
            return []
        if record.author not in self.store.zone_operators:
            return []
        return [{"type": "banned", "cursor": seq, "author": bytes(record.body["target"]).hex()}]

    def _filter(self, session: Session, zone: str, access: Access) -> ReadFilter:
        key = reader_key(session)
        slot = (zone, key, session.signer.callsign)
        found = self._filters.get(slot)
        if found is None:
            found = self._filters[slot] = access.reader(key, session.signer.callsign)
        return found

    def admit(self, session: Session, zone: str, event: Event) -> Event | None:
        """Return what ``session``'s socket gets for ``event`` (None: nothing)."""
        kind = event.get("type")
        access = self._access.get(zone)
        if kind == "typing":
            return event if self.may_hear(session, zone, event) else None
        if access is None or kind not in ("message", "update", "channel"):
            return event
        if kind == "channel":
            return self._channel(session, access, event)
        message = event["message"]
        seen = self._filter(session, zone, access)
        channel = None if message.get("to") else str(message["channel"])
        record_id, author = bytes.fromhex(message["id"]), bytes.fromhex(message["author"])
        if seen.shows(record_id, author, channel, int(message["ts"])):
            return event
        if message.get("hidden") and (channel is None or seen.sees_channel(channel)):
            return {"type": "hidden", "cursor": event.get("cursor"), "id": message["id"]}
        return None

    def _channel(self, session: Session, access: Access, event: Event) -> Event | None:
        shown = event["channel"]
        channel = access.channel(str(shown["name"]))
        key = reader_key(session)
        if channel is None or channel.may_read(key):
            you = channel.role(key) if channel is not None else None
            return {**event, "channel": {**shown, "you": you}}
        if key is not None and key in channel.former:  # removed: it learns so, nobody else
            gone = {"name": channel.name, "restricted": True, "you": None, "gone": True}
            return {"type": "channel", "cursor": event.get("cursor"), "channel": gone}
        return None

    def may_hear(self, session: Session, zone: str, event: Event) -> bool:
        """Tell whether a typing notice reaches ``session``."""
        access = self.store.access_cached(zone)
        if access is None:
            return False  # the rules are being recomputed: typing repeats in a moment
        channel = access.channel(str(event.get("channel", "")))
        if channel is None or not channel.restricted:
            return True
        return channel.may_read(reader_key(session)) and (
            event.get("callsign") in channel.members.values()
        )

    def may_type(self, session: Session, zone: str, channel: str) -> bool:
        """Tell whether ``session`` may send a typing notice in ``channel``."""
        access = self._access.get(zone)
        found = access.channel(channel) if access is not None else None
        return found is None or found.may_read(reader_key(session))
