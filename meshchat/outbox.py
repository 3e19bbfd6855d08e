"""The outbox: every record made on this node is composed, signed, stored and published here.

The JSON API, the legacy ``send_message``, inbound gateways, action scripts and uploads
all post through one ``Outbox`` that the composition root hands them. A record goes
through the same ingest policy as one from a peer, is acknowledged only after its commit,
and is pushed to the peers by the ingest subscribers. A refusal is a ``RecordRejected``
(a ``MeshchatError`` whose status hint is 400, or 429 for the quota).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from nacl.signing import SigningKey

from meshchat import callsign as callsigns
from meshchat import records, schemas
from meshchat.clock import HybridClock
from meshchat.identity import Signer
from meshchat.ingest import Ingestor
from meshchat.records import Record

_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9/-]{0,19})")


def mentions(text: str) -> list[str]:
    """Return the valid callsigns @mentioned in ``text``, in order, without repeats."""
    found: list[str] = []
    for raw in _MENTION.findall(text):
        name = raw.upper()
        if callsigns.is_valid(name) and name not in found:
            found.append(name)
    return found[: schemas.MAX_LIST]


def _for(signer: Signer) -> dict[str, str]:
    """Name the callsign in a record the node signs for a callsign-only user.

    Its callsign-only users share the node key: the callsign says which of them made an
    edit, a delete or a channel, so one cannot undo what another did (docs/decisions.md).
    """
    return {"callsign": signer.callsign} if signer.via_node else {}


class Outbox:
    """Composes and publishes this node's records (DESIGN §2.1 bodies)."""

    def __init__(self, ingestor: Ingestor, clock: HybridClock, node_key: SigningKey, node: str):
        self.ingestor = ingestor
        self.clock = clock
        self.node_key = node_key
        self.node_name = node

    def via_node(self, callsign: str) -> Signer:
        """Return the signer of a callsign that has no key of its own here ("via NODE")."""
        return Signer(callsign, self.node_key, via_node=True)

    async def publish(
        self, key: SigningKey, zone: str, kind: str, body: Mapping[str, Any]
    ) -> Record:
        """Sign a record with ``key``, store it and tell the subscribers; return it."""
        record = records.sign(key, zone, kind, self.clock.now(), body)
        await self.ingestor.add_local(record)
        return record

    async def message(
        self,
        signer: Signer,
        zone: str,
        channel: str,
        text: str,
        *,
        reply_to: bytes | None = None,
        to: str | None = None,
        geo: Sequence[int] | None = None,
    ) -> Record:
        """Post a ``msg``; ``to`` makes it a direct message, ``geo`` is in micro-degrees."""
        body: dict[str, Any] = {
            "callsign": signer.callsign,
            "channel": channel,
            "text": text,
            "node": self.node_name,
        }
        if reply_to is not None:
            body["reply_to"] = reply_to
        if to is not None:
            body["to"] = to
        if geo is not None:
            body["geo"] = list(geo)
        mentioned = mentions(text)
        if mentioned:
            body["mentions"] = mentioned
        return await self.publish(signer.key, zone, "msg", body)

    async def edit(self, signer: Signer, target: Record, text: str) -> Record:
        """Replace the text of one of the signer's messages."""
        body = {"target": target.id, "text": text, **_for(signer)}
        return await self.publish(signer.key, target.zone, "edit", body)

    async def delete(self, signer: Signer, target: Record) -> Record:
        """Retract one of the signer's records (a message, an edit or a reaction)."""
        body = {"target": target.id, **_for(signer)}
        return await self.publish(signer.key, target.zone, "delete", body)

    async def react(self, signer: Signer, target: Record, emoji: str) -> Record:
        """React to a message; the callsign names who reacted when the node signs."""
        body = {"target": target.id, "emoji": emoji, "callsign": signer.callsign}
        return await self.publish(signer.key, target.zone, "react", body)

    async def file(
        self,
        signer: Signer,
        zone: str,
        channel: str,
        *,
        name: str,
        size: int,
        mime: str,
        sha256: bytes,
        caption: str | None = None,
    ) -> Record:
        """Announce a file whose blob is already stored here (DESIGN §2.1, §5.4)."""
        body: dict[str, Any] = {
            "callsign": signer.callsign,
            "channel": channel,
            "name": name,
            "size": size,
            "mime": mime,
            "sha256": sha256,
            "node": self.node_name,
        }
        if caption:
            body["caption"] = caption
        return await self.publish(signer.key, zone, "file", body)

    async def channel(self, signer: Signer, zone: str, name: str, topic: str) -> Record:
        """Declare a channel or set its topic."""
        body = {"name": name, "topic": topic, **_for(signer)}
        return await self.publish(signer.key, zone, "channel", body)

    async def channel_state(
        self, signer: Signer, zone: str, body: Mapping[str, Any], after_ts: int = 0
    ) -> Record:
        """Publish a channel record whose whole ``body`` the caller built (store.rights).

        It is stamped after ``after_ts`` (the newest record of the channel), so it sorts
        after every change it was made from, even one from a clock running ahead.
        """
        ts = max(self.clock.now(), after_ts + 1)
        self.clock.observe(ts)
        record = records.sign(signer.key, zone, "channel", ts, body)
        await self.ingestor.add_local(record)
        return record

    async def moderate(
        self, signer: Signer, zone: str, verb: str, target: bytes, reason: str = ""
    ) -> Record:
        """Hide a record (``target``: its id) or ban an author (its key) zone-wide."""
        body: dict[str, Any] = {"target": target, "moderation": verb}
        if reason:
            body["reason"] = reason
        return await self.publish(signer.key, zone, "delete", body)

    async def announce(self, zone: str, platform: str, version: str) -> Record:
        """Sign this node's ``node`` record in ``zone`` (DESIGN §2.1)."""
        body = {"name": self.node_name, "platform": platform, "version": version}
        return await self.publish(self.node_key, zone, "node", body)
