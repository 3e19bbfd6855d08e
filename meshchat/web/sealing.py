"""Sessions kept across a restart without writing a passphrase-derived key in the clear.

A session row holds only a hash of its cookie and a box sealed with a key derived from the
cookie (XSalsa20-Poly1305, PyNaCl ``SecretBox``): the node can open it only when the
browser that holds the cookie comes back (DESIGN §3, docs/decisions.md "Sessions").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from meshchat import records
from meshchat.errors import RemoteProtocolError


def token_hash(token: str) -> bytes:
    """Return the store's key of a session cookie (it never stores the cookie itself)."""
    return hashlib.blake2b(token.encode(), digest_size=32, person=b"meshchat-sessid").digest()


def _box(token: str) -> SecretBox:
    key = hashlib.blake2b(token.encode(), digest_size=32, person=b"meshchat-sealkey").digest()
    return SecretBox(key)


@dataclass(frozen=True, slots=True)
class Sealed:
    """What a session needs to come back: who, with which key, and its CSRF token."""

    callsign: str
    seed: bytes  # the user key's seed; empty for a callsign-only session (the node signs)
    csrf_token: str
    device: bytes
    expires_at_ms: int


def seal(token: str, content: Sealed) -> bytes:
    """Return ``content`` sealed with the key only ``token`` gives."""
    plain = records.pack(
        [content.callsign, content.seed, content.csrf_token, content.device, content.expires_at_ms]
    )
    return bytes(_box(token).encrypt(plain))


def unseal(token: str, sealed: bytes) -> Sealed | None:
    """Open a sealed session with its cookie, or None when it is not this cookie's."""
    try:
        value = records.unpack(_box(token).decrypt(sealed), 8)
        callsign, seed, csrf, device, expires = value
        return Sealed(str(callsign), bytes(seed), str(csrf), bytes(device), int(expires))
    except (CryptoError, ValueError, TypeError, RemoteProtocolError):
        return None
