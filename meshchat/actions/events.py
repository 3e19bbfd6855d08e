"""The action events and their payload, declared once (STYLE.md 17; DESIGN §7).

A script gets one ``Event`` as JSON on stdin and as ``MESHCHAT_*`` environment variables.
``events_for`` says which events one stored message raises; it is pure (no I/O), so the
whole mapping is tested without a store or a process. ``mention_offline`` is only a
candidate here: whether its addressee is offline, and with which contact addresses, is
the runner's question (``meshchat.actions.offline``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from meshchat.store.models import MessageView

# Event name -> what raises it. The README documents each (tests/actions/test_docs.py).
EVENTS: dict[str, str] = {
    "message": "a message in a channel (legacy messages included); not a direct message",
    "mention": "a message that @mentions a callsign; one event per callsign mentioned",
    "mention_offline": (
        "a mention or direct message whose addressee has contact addresses on this node "
        "and has not been online for action_runner.offline_after_s"
    ),
    "direct": "a direct message (target: its recipient)",
    "file": "a shared file",
}
# Events about someone: the ``callsign`` filter of a rule matches the addressee.
ADDRESSED = frozenset({"mention", "mention_offline", "direct"})
# Environment variables are plain strings without NUL; longer lists go on stdin only.
ENV_PREFIX = "MESHCHAT_"


@dataclass(frozen=True, slots=True)
class Event:
    """One event about one stored record, as every action script receives it."""

    event: str
    id: str  # the record id, hex
    zone: str
    channel: str
    callsign: str  # the author's callsign
    text: str
    node: str
    verified: str  # key | via | legacy | conflict
    kind: str  # msg | legacy | file
    ts: int  # the author's timestamp, ms
    origin: str  # local (posted on this node) | remote (from a peer or an import)
    target: str = ""  # the addressee of mention, mention_offline and direct
    to: str | None = None
    mentions: tuple[str, ...] = ()
    reply_to: str | None = None
    gateway: str | None = None  # set when a gateway posted the record (body key)
    sender: str | None = None  # the third party a gateway posted for, when not mapped
    file: Mapping[str, Any] | None = None
    contacts: tuple[tuple[str, str], ...] = field(default=())  # (kind, address)

    @property
    def subject(self) -> str:
        """Return the callsign a rule's ``callsign`` filter is matched against."""
        return self.target if self.event in ADDRESSED else self.callsign

    def with_contacts(self, contacts: tuple[tuple[str, str], ...]) -> Event:
        """Return this event carrying the addressee's contact addresses."""
        return replace(self, contacts=contacts)

    def to_json(self, rule: str) -> dict[str, Any]:
        """Return the payload a script reads on stdin."""
        return {
            "event": self.event,
            "rule": rule,
            "id": self.id,
            "zone": self.zone,
            "channel": self.channel,
            "callsign": self.callsign,
            "text": self.text,
            "node": self.node,
            "verified": self.verified,
            "kind": self.kind,
            "ts": self.ts,
            "origin": self.origin,
            "target": self.target or None,
            "to": self.to,
            "mentions": list(self.mentions),
            "reply_to": self.reply_to,
            "gateway": self.gateway,
            "sender": self.sender,
            "file": dict(self.file) if self.file is not None else None,
            "contacts": [{"kind": k, "address": a} for k, a in self.contacts],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Event:
        """Rebuild an event from its payload (a queued run keeps it in the store)."""
        file = value.get("file")
        return cls(
            event=str(value["event"]),
            id=str(value["id"]),
            zone=str(value["zone"]),
            channel=str(value["channel"]),
            callsign=str(value["callsign"]),
            text=str(value["text"]),
            node=str(value["node"]),
            verified=str(value["verified"]),
            kind=str(value["kind"]),
            ts=int(value["ts"]),
            origin=str(value["origin"]),
            target=str(value.get("target") or ""),
            to=value.get("to"),
            mentions=tuple(value.get("mentions") or ()),
            reply_to=value.get("reply_to"),
            gateway=value.get("gateway"),
            sender=value.get("sender"),
            file=dict(file) if isinstance(file, dict) else None,
            contacts=tuple((c["kind"], c["address"]) for c in value.get("contacts") or ()),
        )

    def environment(self, rule: str) -> dict[str, str]:
        """Return the ``MESHCHAT_*`` variables a script gets besides stdin."""
        values = {
            "ID": self.id,
            "ZONE": self.zone,
            "CHANNEL": self.channel,
            "CALLSIGN": self.callsign,
            "TEXT": self.text,
            "NODE": self.node,
            "VERIFIED": self.verified,
            "EVENT": self.event,
            "RULE": rule,
            "KIND": self.kind,
            "TS": str(self.ts),
            "ORIGIN": self.origin,
            "TARGET": self.target,
            "GATEWAY": self.gateway or "",
            "SENDER": self.sender or "",
            "CONTACTS": " ".join(f"{k}:{a}" for k, a in self.contacts),
        }
        return {ENV_PREFIX + k: v.replace("\x00", "") for k, v in values.items()}


def _str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


def events_for(view: MessageView, body: Mapping[str, Any], origin: str) -> list[Event]:
    """Return the events one newly stored message raises (``mention_offline`` as candidates).

    ``body`` is the record's body (for the gateway keys), ``origin`` where it came from
    ("local", "peer:<id>", "import"). A deleted message raises nothing; nobody is told of
    their own mention or of a direct message to themselves.
    """
    if view.deleted:
        return []
    base = Event(
        event="message",
        id=view.id,
        zone=view.zone,
        channel=view.channel,
        callsign=view.callsign,
        text=view.text,
        node=view.node,
        verified=view.verified,
        kind=view.kind,
        ts=view.ts,
        origin="local" if origin == "local" else "remote",
        to=view.to,
        mentions=tuple(view.mentions),
        reply_to=view.reply_to,
        gateway=_str(body, "gateway"),
        sender=_str(body, "sender"),
        file=view.file,
    )
    if view.kind == "file":
        return [replace(base, event="file")]
    out: list[Event] = []
    addressed: list[str] = []
    if view.to is None:
        out.append(base)
    elif view.to != view.callsign:
        out.append(replace(base, event="direct", target=view.to))
        addressed.append(view.to)
    for name in view.mentions:
        if name != view.callsign:
            out.append(replace(base, event="mention", target=name))
            if name not in addressed:
                addressed.append(name)
    out.extend(replace(base, event="mention_offline", target=name) for name in addressed)
    return out
