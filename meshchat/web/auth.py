"""Browser sessions: callsign login, the session cookie, CSRF tokens, login rate limits.

Sessions live in memory only: a passphrase-derived user key must never touch the disk
(DESIGN §3), so a restarted node asks its users to log in again.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from nacl.signing import SigningKey

from meshchat import callsign as callsigns
from meshchat import identity
from meshchat.identity import Signer
from meshchat.presence import PresenceService

COOKIE = "meshchat_session"
MAX_SESSIONS = 10_000


@dataclass
class Session:
    """One logged-in browser: who signs its records and the CSRF token it must echo."""

    token: str
    signer: Signer
    csrf_token: str
    expires_at: float
    created_at: float = field(default_factory=time.monotonic)
    last_visit: int | None = None

    def check_csrf(self, presented: str | None) -> bool:
        """Tell whether ``presented`` is this session's CSRF token (constant time)."""
        # compare_digest refuses a str that is not ASCII: such a token is simply wrong.
        return (
            presented is not None
            and presented.isascii()
            and hmac.compare_digest(presented, self.csrf_token)
        )


class RateLimiter:
    """A sliding one-minute window of attempts per client address."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._attempts: dict[str, deque[float]] = {}

    def allow(self, client: str) -> bool:
        """Record an attempt by ``client``; tell whether it is within the limit."""
        now = time.monotonic()
        window = self._attempts.setdefault(client, deque())
        while window and window[0] <= now - self.window_s:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        if len(self._attempts) > MAX_SESSIONS:  # bound memory under a spray of addresses
            cutoff = now - self.window_s
            self._attempts = {k: v for k, v in self._attempts.items() if v and v[-1] > cutoff}
        return True


class Sessions:
    """Creates, finds and ends sessions; derives user keys without blocking the loop."""

    def __init__(self, node_key: SigningKey, ttl_s: float, presence: PresenceService) -> None:
        self.node_key = node_key
        self.ttl_s = ttl_s
        self.presence = presence  # told of every session that begins, is seen, or ends
        self._by_token: dict[str, Session] = {}
        # Argon2id takes 64 MiB per derivation: one at a time keeps a Pi's memory bounded.
        self._kdf: ThreadPoolExecutor | None = None

    async def login(self, raw_callsign: str, passphrase: str | None) -> Session:
        """Start a session; IdentityError if the callsign is invalid."""
        callsign = callsigns.normalize(raw_callsign)
        if passphrase:
            if self._kdf is None:
                self._kdf = ThreadPoolExecutor(1, thread_name_prefix="meshchat-kdf")
            loop = asyncio.get_running_loop()
            key = await loop.run_in_executor(
                self._kdf, identity.derive_user_key, callsign, passphrase
            )
            signer = Signer(callsign, key, via_node=False)
        else:
            signer = Signer(callsign, self.node_key, via_node=True)
        self._expire()
        session = Session(
            token=secrets.token_urlsafe(32),
            signer=signer,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=time.monotonic() + self.ttl_s,
        )
        self._by_token[session.token] = session
        self.presence.join(session.token, callsign)
        return session

    async def close(self) -> None:
        """End every session and stop the key-derivation thread without blocking the loop."""
        for token in list(self._by_token):
            self._end(token)
        if self._kdf is not None:
            kdf, self._kdf = self._kdf, None
            await asyncio.to_thread(kdf.shutdown, wait=True)

    def get(self, token: str | None) -> Session | None:
        """Return the live session for a cookie value, or None."""
        if not token:
            return None
        session = self._by_token.get(token)
        if session is None:
            return None
        if session.expires_at < time.monotonic():
            self._end(token)
            return None
        self.presence.seen(token)
        return session

    def logout(self, token: str) -> None:
        """End a session (and forget its key)."""
        self._end(token)

    def _end(self, token: str) -> None:
        self._by_token.pop(token, None)
        self.presence.leave(token)

    def online(self) -> list[Session]:
        """Return the live sessions (presence is built from these)."""
        self._expire()
        return list(self._by_token.values())

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, s in self._by_token.items() if s.expires_at < now]:
            self._end(token)
        while len(self._by_token) >= MAX_SESSIONS:
            oldest = min(self._by_token.values(), key=lambda s: s.created_at)
            self._end(oldest.token)
