"""Browser sessions: callsign login, the session cookie, CSRF tokens, and their persistence.

A session survives a restart of the node: its row holds a hash of the cookie and a box
sealed with the cookie (``sealing``), so a passphrase-derived key is never written in the
clear and comes back only with the browser that holds the cookie. A second, long-lived
cookie names the browser itself (the *device*): what a callsign-only user posted can be
edited and deleted only from the browser that posted it (docs/decisions.md "Sessions").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from nacl.signing import SigningKey

from meshchat import callsign as callsigns
from meshchat import identity
from meshchat.clock import wall_ms
from meshchat.errors import MeshchatError
from meshchat.identity import Signer
from meshchat.store.db import Store
from meshchat.web import sealing
from meshchat.web.ratelimit import KdfQueue

COOKIE = "meshchat_session"
DEVICE_COOKIE = "meshchat_device"
MAX_SESSIONS = 10_000

Ended = Callable[[str], None]  # told the token of every session that ends


class LoginBusy(MeshchatError):
    """Too many passphrase logins are being derived at once: come back in a moment."""

    status = 429
    code = "busy"


def device_id(cookie: str) -> bytes:
    """Return the stored form of a device cookie (a hash: the cookie stays in the browser)."""
    return hashlib.blake2b(cookie.encode(), digest_size=16, person=b"meshchat-device").digest()


@dataclass
class Session:
    """One logged-in browser: who signs its records and the CSRF token it must echo."""

    token: str
    signer: Signer
    csrf_token: str
    expires_at_ms: int
    device: bytes
    last_visit: int | None = None

    def check_csrf(self, presented: str | None) -> bool:
        """Tell whether ``presented`` is this session's CSRF token (constant time)."""
        # compare_digest refuses a str that is not ASCII: such a token is simply wrong.
        return (
            presented is not None
            and presented.isascii()
            and hmac.compare_digest(presented, self.csrf_token)
        )


class Sessions:
    """Creates, finds and ends sessions; derives user keys without blocking the loop."""

    def __init__(self, node_key: SigningKey, ttl_s: float, store: Store) -> None:
        self.node_key = node_key
        self.ttl_s = ttl_s
        self.store = store
        self.ended: list[Ended] = []  # the live hub closes the session's sockets, presence ends
        self._live: dict[str, Session] = {}
        self._sealed: dict[bytes, tuple[bytes, int]] = {}  # token hash -> (box, expiry ms)
        # Argon2id takes 64 MiB per derivation: one at a time keeps a Pi's memory bounded.
        self._kdf: ThreadPoolExecutor | None = None
        self.kdf_queue = KdfQueue()

    async def load(self) -> None:
        """Read the sessions a previous run left (each opens only with its cookie)."""
        rows = await self.store.sessions()
        self._sealed = {h: (box, expires) for h, box, expires in rows[-MAX_SESSIONS:]}

    async def login(self, raw_callsign: str, passphrase: str | None, device: bytes) -> Session:
        """Start a session; IdentityError if the callsign is invalid, LoginBusy if swamped."""
        callsign = callsigns.normalize(raw_callsign)
        seed = b""
        if passphrase:
            if not self.kdf_queue.enter():
                raise LoginBusy("the node is busy deriving keys; try again in a moment")
            try:
                if self._kdf is None:
                    self._kdf = ThreadPoolExecutor(1, thread_name_prefix="meshchat-kdf")
                loop = asyncio.get_running_loop()
                key = await loop.run_in_executor(
                    self._kdf, identity.derive_user_key, callsign, passphrase
                )
            finally:
                self.kdf_queue.leave()
            signer = Signer(callsign, key, via_node=False)
            seed = bytes(key)
        else:
            signer = Signer(callsign, self.node_key, via_node=True)
        session = Session(
            token=secrets.token_urlsafe(32),
            signer=signer,
            csrf_token=secrets.token_urlsafe(32),
            expires_at_ms=wall_ms() + int(self.ttl_s * 1000),
            device=device,
        )
        sealed = sealing.seal(
            session.token,
            sealing.Sealed(callsign, seed, session.csrf_token, device, session.expires_at_ms),
        )
        await self.store.save_session(
            sealing.token_hash(session.token), sealed, session.expires_at_ms
        )
        self._keep(session)
        return session

    def _keep(self, session: Session) -> None:
        if len(self._live) >= MAX_SESSIONS:
            oldest = min(self._live.values(), key=lambda s: s.expires_at_ms)
            self._forget(oldest.token)
        self._live[session.token] = session

    def get(self, token: str | None) -> Session | None:
        """Return the live session for a cookie value (one a restart left opens here)."""
        if not token or len(token) > 64:
            return None
        session = self._live.get(token) or self._reopen(token)
        if session is None:
            return None
        if session.expires_at_ms < wall_ms():
            self._forget(token)
            return None
        return session

    def _reopen(self, token: str) -> Session | None:
        found = self._sealed.get(sealing.token_hash(token))
        opened = sealing.unseal(token, found[0]) if found is not None else None
        if opened is None:
            return None
        if opened.seed:
            signer = Signer(opened.callsign, SigningKey(opened.seed), via_node=False)
        else:
            signer = Signer(opened.callsign, self.node_key, via_node=True)
        session = Session(token, signer, opened.csrf_token, opened.expires_at_ms, opened.device)
        self._keep(session)
        return session

    async def logout(self, token: str) -> None:
        """End a session everywhere: its sockets close, its row and key are gone."""
        self._forget(token)
        await self.store.delete_session(sealing.token_hash(token))

    def _forget(self, token: str) -> None:
        self._live.pop(token, None)
        self._sealed.pop(sealing.token_hash(token), None)
        for ended in self.ended:
            ended(token)

    async def close(self) -> None:
        """Drop the sessions from memory (their rows stay) and stop the derivation thread."""
        self._live.clear()
        self._sealed.clear()
        if self._kdf is not None:
            kdf, self._kdf = self._kdf, None
            await asyncio.to_thread(kdf.shutdown, wait=True)
