"""Messages from gateways: posted through the outbox, signed by the node for a callsign.

``POST /api/v1/inbound``, ``meshchat post --token`` and the legacy ``send_message`` all
end in ``Gateway.post``. The record is an ordinary ``msg`` with one more body key,
``gateway`` (the gateway's name, e.g. ``"sms"``), which the record schema allows
(docs/decisions.md). A third party's message (an SMS from a phone number) is posted under
a callsign only when ``[[gateway_senders]]`` maps its address to one; otherwise under the
gateway's own callsign, with the address in the text and in the body key ``sender`` —
never under a made-up callsign.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from meshchat import callsign as callsigns
from meshchat import schemas
from meshchat.actionconfig import GatewaySender
from meshchat.errors import RemoteProtocolError
from meshchat.outbox import Outbox, mentions
from meshchat.records import Record

GATEWAY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,15}")
MAX_SENDER = 64
DEFAULT_GATEWAY = "api"
_PHONE = re.compile(r"\+?[0-9][0-9 ().-]{1,30}")
_PHONE_NOISE = re.compile(r"[ ().-]")


class GatewayError(RemoteProtocolError):
    """A gateway's post is malformed; ``code`` names the field at fault."""

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(detail, status=status, code=code)


def normalize_address(address: str) -> str:
    """Return the form addresses are compared in: a phone number's digits, else lower case."""
    raw = address.strip()
    if _PHONE.fullmatch(raw):
        return _PHONE_NOISE.sub("", raw)
    return raw.lower()


def check_text(text: Any, max_bytes: int) -> str:
    """Return ``text`` if it is a non-empty string of at most ``max_bytes`` of UTF-8."""
    if not isinstance(text, str) or not text.strip():
        raise GatewayError("bad_text", "text must be a non-empty string")
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise GatewayError("too_large", f"text is longer than {max_bytes} bytes", status=413)
    return text


class Gateway:
    """Posts gateway messages; built once by the root and handed to every gateway path."""

    def __init__(
        self,
        outbox: Outbox,
        zones: Sequence[str],
        senders: Sequence[GatewaySender],
        max_text_bytes: int,
    ) -> None:
        self.outbox = outbox
        self.zones = tuple(zones)
        self.max_text_bytes = max_text_bytes
        self._senders = {normalize_address(s.address): s.callsign for s in senders}

    def sender_callsign(self, sender: str) -> str | None:
        """Return the callsign ``[[gateway_senders]]`` maps an address to, or None."""
        return self._senders.get(normalize_address(sender))

    async def post(
        self,
        zone: str | None,
        channel: str,
        callsign: str,
        text: str,
        *,
        gateway: str = DEFAULT_GATEWAY,
        sender: str | None = None,
    ) -> Record:
        """Post ``text`` for ``callsign`` (or the mapped ``sender``); return the committed record.

        ``zone`` None is the node's first zone. Raises GatewayError (a 4xx) for bad input
        and RecordRejected when ingest refuses the record.
        """
        zone = self.zones[0] if zone is None else zone
        if zone not in self.zones:
            raise GatewayError("unknown_zone", f"this node does not serve zone {zone!r}")
        if not isinstance(channel, str) or not schemas.valid_channel(channel):
            raise GatewayError("bad_channel", "channel must be at most 64 characters, no control")
        if not isinstance(gateway, str) or not GATEWAY_NAME.fullmatch(gateway):
            raise GatewayError("bad_gateway", "gateway must be 1-16 of a-z, 0-9, '_' and '-'")
        name = callsigns.normalize(callsign)
        text = check_text(text, self.max_text_bytes)
        body: dict[str, Any] = {"channel": channel, "node": self.outbox.node_name}
        body["gateway"] = gateway
        if sender is not None:
            if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER:
                raise GatewayError("bad_sender", f"sender must be 1-{MAX_SENDER} characters")
            if not sender.isprintable():
                raise GatewayError("bad_sender", "sender must hold no control characters")
            mapped = self.sender_callsign(sender)
            if mapped is not None:
                name = mapped  # a known sender posts as its callsign; its address stays here
            else:
                body["sender"] = sender.strip()
                text = f"[{gateway} {sender.strip()}] {text}"
        body["callsign"] = name
        body["text"] = text
        mentioned = mentions(text)
        if mentioned:
            body["mentions"] = mentioned
        return await self.outbox.publish(self.outbox.node_key, zone, "msg", body)
