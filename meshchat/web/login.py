"""Login, logout and the current session (``/api/v1/login``, ``logout``, ``session``)."""

from __future__ import annotations

from aiohttp import web

from meshchat.clock import wall_ms
from meshchat.errors import IdentityError
from meshchat.store.db import Store
from meshchat.web import inputs
from meshchat.web.auth import COOKIE, RateLimiter, Session, Sessions
from meshchat.web.http import fail, json_body

CSRF_HEADER = "X-CSRF-Token"
MAX_PASSPHRASE = 1024


def require_session(sessions: Sessions, request: web.Request, *, csrf: bool = True) -> Session:
    """Return the request's session: 401 without one, 403 when the CSRF token is wrong."""
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None:
        fail(401, "not_logged_in", "log in first: POST /api/v1/login")
    if csrf and not session.check_csrf(request.headers.get(CSRF_HEADER)):
        fail(403, "bad_csrf", f"missing or wrong {CSRF_HEADER} header")
    return session


def session_json(session: Session, status: str) -> dict[str, str | bool | int | None]:
    """Return what the UI needs to know about a session."""
    return {
        "csrf_token": session.csrf_token,
        "callsign": session.signer.callsign,
        "key": session.signer.public_hex,
        "via_node": session.signer.via_node,
        "status": status,
        "last_visit": session.last_visit,
    }


class Visits:
    """When each callsign was last here, so the UI can mark what it missed."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def begin(self, callsign: str) -> int | None:
        """Start a visit; return when the previous one ended (ms), or None."""
        previous = await self.store.meta_get(f"last_visit:{callsign}")
        await self.touch(callsign)
        return int(previous) if previous and previous.isdigit() else None

    async def touch(self, callsign: str) -> None:
        """Record that ``callsign`` is here now."""
        await self.store.meta_set(f"last_visit:{callsign}", str(wall_ms()))


class LoginApi:
    """Handlers that start and end browser sessions."""

    def __init__(
        self, sessions: Sessions, limiter: RateLimiter, ttl_s: int, visits: Visits
    ) -> None:
        self.sessions = sessions
        self.limiter = limiter
        self.ttl_s = ttl_s
        self.visits = visits

    async def login(self, request: web.Request) -> web.Response:
        """``POST /api/v1/login {callsign, passphrase?}`` → cookie + ``{csrf_token, ...}``."""
        if not self.limiter.allow(request.remote or "?"):
            fail(429, "rate_limited", "too many login attempts; wait a minute")
        body = await json_body(request, frozenset({"callsign", "passphrase"}))
        callsign = inputs.callsign(body.get("callsign"))
        passphrase = body.get("passphrase")
        if passphrase is not None and (
            not isinstance(passphrase, str) or len(passphrase) > MAX_PASSPHRASE
        ):
            fail(400, "bad_passphrase", f"passphrase must be a string of at most {MAX_PASSPHRASE}")
        try:
            session = await self.sessions.login(callsign, passphrase or None)
        except IdentityError as exc:
            fail(400, "bad_login", str(exc))
        session.last_visit = await self.visits.begin(session.signer.callsign)
        response = web.json_response(session_json(session, "online"))
        response.set_cookie(
            COOKIE,
            session.token,
            httponly=True,
            samesite="Strict",
            path="/",
            max_age=self.ttl_s,
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        """``POST /api/v1/logout`` ends the session and clears the cookie."""
        session = require_session(self.sessions, request)
        self.sessions.logout(session.token)
        await self.visits.touch(session.signer.callsign)
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/")
        return response

    async def current(self, request: web.Request) -> web.Response:
        """``GET /api/v1/session``: the session behind the cookie (a reload keeps it)."""
        session = require_session(self.sessions, request, csrf=False)
        status = self.sessions.presence.status_of(session.token)
        return web.json_response(session_json(session, status))
