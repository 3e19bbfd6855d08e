"""Callsigns: normalisation and the grammar a callsign must follow (README "Callsigns")."""

from __future__ import annotations

import re

from meshchat.errors import IdentityError

MAX_CALLSIGN = 20
# Letters and digits, with "/" (portable, e.g. VE3/W1AW/P) and "-" (tactical, e.g. EOC-1)
# inside; it starts and ends with a letter or digit.
_GRAMMAR = re.compile(r"[A-Z0-9](?:[A-Z0-9/-]{0,18}[A-Z0-9])?")


def is_valid(callsign: str) -> bool:
    """Tell whether ``callsign`` is already normalised and follows the grammar."""
    return _GRAMMAR.fullmatch(callsign) is not None


def normalize(raw: str) -> str:
    """Return the callsign trimmed and upper-cased, or raise IdentityError with the reason."""
    if not isinstance(raw, str):
        raise IdentityError("callsign must be a string")
    callsign = raw.strip().upper()
    if not callsign:
        raise IdentityError("callsign is empty")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in callsign):
        raise IdentityError("callsign contains control characters")
    if len(callsign) > MAX_CALLSIGN:
        raise IdentityError(f"callsign is longer than {MAX_CALLSIGN} characters")
    if not is_valid(callsign):
        raise IdentityError(
            "callsign may hold only letters, digits, '/' and '-', "
            "and must start and end with a letter or digit"
        )
    return callsign
