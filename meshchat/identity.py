"""Keys: the node key on disk and user keys derived from callsign + passphrase (DESIGN §3)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nacl import pwhash
from nacl.signing import SigningKey

from meshchat import callsign as callsigns
from meshchat.errors import IdentityError

NODE_KEY_FILE = "node.key"
SEED_BYTES = 32


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs a session's records: the user's own key, or the node's key on their behalf."""

    callsign: str
    key: SigningKey
    via_node: bool

    @property
    def public_hex(self) -> str:
        """Return the hex Ed25519 public key records of this signer carry as ``author``."""
        return bytes(self.key.verify_key).hex()


def load_or_create_node_key(data_dir: Path) -> SigningKey:
    """Return the node key from ``data_dir/node.key``, creating it (mode 0600) on first start."""
    path = data_dir / NODE_KEY_FILE
    try:
        seed = path.read_bytes()
    except FileNotFoundError:
        return _create_node_key(path)
    except OSError as exc:
        raise IdentityError(f"cannot read node key {path}: {exc.strerror}") from None
    if len(seed) != SEED_BYTES:
        raise IdentityError(f"node key {path} is {len(seed)} bytes, not {SEED_BYTES}")
    return SigningKey(seed)


def _create_node_key(path: Path) -> SigningKey:
    key = SigningKey.generate()
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, bytes(key))
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() fails if another process created the key first; then theirs wins.
        try:
            os.link(tmp, path)
        except FileExistsError:
            return load_or_create_node_key(path.parent)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise IdentityError(f"cannot create node key {path}: {exc.strerror}") from None
    return key


def callsign_salt(callsign: str) -> bytes:
    """Return the Argon2id salt for a normalised callsign: BLAKE2b-16 of its UTF-8 bytes."""
    return hashlib.blake2b(callsign.encode(), digest_size=pwhash.argon2id.SALTBYTES).digest()


def derive_user_key(raw_callsign: str, passphrase: str) -> SigningKey:
    """Derive a user's key from callsign + passphrase; the same on every node (DESIGN §3).

    This costs ~64 MiB and a noticeable fraction of a second (Argon2id interactive
    limits): call it off the event loop.
    """
    callsign = callsigns.normalize(raw_callsign)
    if not passphrase:
        raise IdentityError("passphrase is empty")
    seed = pwhash.argon2id.kdf(
        SEED_BYTES,
        passphrase.encode(),
        callsign_salt(callsign),
        opslimit=pwhash.argon2id.OPSLIMIT_INTERACTIVE,
        memlimit=pwhash.argon2id.MEMLIMIT_INTERACTIVE,
    )
    return SigningKey(seed)
