"""Contact addresses for offline notices: which kinds there are and what a valid one is.

Addresses are stored only in this node's database (``store.actions``), never in the
replicated log: a phone number or e-mail address stays on the node its owner typed it on.
``sms`` and ``email`` are checked closely; another kind (``aprs``, ``winlink``…) is any
short printable text, for the script of a later bridge to interpret.
"""

from __future__ import annotations

import re

from meshchat.actions.inbound import GatewayError

KIND = re.compile(r"[a-z][a-z0-9_-]{0,15}")
PER_CALLSIGN = 8
TOTAL = 10_000
MAX_ADDRESS = 254
_SMS = re.compile(r"\+?[0-9]{3,20}")
_SMS_NOISE = re.compile(r"[ ().-]")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


def check(kind: object, address: object) -> tuple[str, str]:
    """Return a valid (kind, address), normalised, or raise GatewayError (a 400)."""
    if not isinstance(kind, str) or not KIND.fullmatch(kind):
        raise GatewayError("bad_kind", "kind must be sms, email or another short lower-case word")
    if not isinstance(address, str) or not address.strip() or len(address) > MAX_ADDRESS:
        raise GatewayError("bad_address", f"address must be 1-{MAX_ADDRESS} characters")
    value = address.strip()
    if not value.isprintable():
        raise GatewayError("bad_address", "address must hold no control characters")
    if kind == "sms":
        value = _SMS_NOISE.sub("", value)
        if not _SMS.fullmatch(value):
            raise GatewayError("bad_address", "an sms address is a phone number: +, then digits")
    elif kind == "email" and not _EMAIL.fullmatch(value):
        raise GatewayError("bad_address", "an email address looks like name@example.org")
    return kind, value
