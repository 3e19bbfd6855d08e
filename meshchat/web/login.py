"""Login, logout and the current session (``/api/v1/login``, ``logout``, ``session``)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn
from urllib.parse import urlsplit

from aiohttp import web

from meshchat.clock import wall_ms
from meshchat.errors import IdentityError
from meshchat.presence import PresenceService
from meshchat.store.db import Store
from meshchat.web import inputs
from meshchat.web.auth import COOKIE, DEVICE_COOKIE, Session, Sessions, device_id
from meshchat.web.http import fail, json_body
from meshchat.web.ratelimit import RateLimiter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# aiohttp's own middleware type is newer than 3.8 (DESIGN §9): any such callable.
Middleware = Callable[..., Any]
CSRF_HEADER = "X-CSRF-Token"
MAX_PASSPHRASE = 1024
DEVICE_S = 10 * 365 * 86_400  # the device cookie names this browser for years


def require_session(sessions: Sessions, request: web.Request, *, csrf: bool = True) -> Session:
    """Return the request's session: 401 without one, 403 when the CSRF token is wrong."""
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None:
        fail(401, "not_logged_in", "log in first: POST /api/v1/login")
    if csrf:
        same_origin(request)
        if not session.check_csrf(request.headers.get(CSRF_HEADER)):
            fail(403, "bad_csrf", f"missing or wrong {CSRF_HEADER} header")
    return session


# What a node with ``web.access`` set answers without a session: logging in, and enough of
# the status for the login page to name the node and its zones.
OPEN_PATHS = frozenset({"/api/v1/login", "/api/v1/session", "/api/v1/status"})


def access_middleware(sessions: Sessions, closed: bool) -> Middleware:
    """Return the API's gate: with ``web.access`` set, reading needs a session too."""

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if closed and request.path not in OPEN_PATHS:
            require_session(sessions, request, csrf=False)
        return await handler(request)

    return gate


def can_read(sessions: Sessions, closed: bool) -> Callable[[web.Request], bool]:
    """Return whether a request may read the node's full status (peers, users, counts)."""
    return lambda request: not closed or sessions.get(request.cookies.get(COOKIE)) is not None


def same_origin(request: web.Request) -> None:
    """403 unless a browser's ``Origin`` names the host it asked (CSRF and cross-site sockets).

    A page on another port of the same host is the same *site*, so the Strict cookie goes
    with its requests: only the origin tells it apart. Clients that send no Origin (the
    CLI, gateways) are not browsers and still need the CSRF token.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return
    host = request.headers.get("Host", "")
    parts = urlsplit(origin)
    if origin == "null" or parts.netloc.lower() != host.lower() or not host:
        fail(403, "bad_origin", "requests from another origin are refused")


async def reads_dms(store: Store, session: Session, zone: str) -> bool:
    """Tell whether a session may read its callsign's direct messages in ``zone``.

    A callsign bound to a user key reads its conversations only with that key; a
    callsign-only session for it (signed by the node) does not (docs/decisions.md).
    """
    if not session.signer.via_node:
        return True
    callsign = session.signer.callsign
    return callsign not in await store.bound_keys(zone, [callsign])


async def dm_reader(sessions: Sessions, request: web.Request, zone: str) -> str | None:
    """Return the callsign whose direct messages this request may read, or None.

    None without a session, and for a callsign-only session of a callsign bound to a key
    (``reads_dms``): such a session reads no conversation of that callsign.
    """
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None or not await reads_dms(sessions.store, session, zone):
        return None
    return session.signer.callsign


def refuse_unbound_reader(callsign: str) -> NoReturn:
    """403: a callsign-only session asks for a bound callsign's direct messages."""
    fail(403, "passphrase_required", f"{callsign} reads its direct messages with its passphrase")


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
        self,
        sessions: Sessions,
        limiter: RateLimiter,
        ttl_s: int,
        visits: Visits,
        presence: PresenceService,
        zones: tuple[str, ...],
        password: str = "",
    ) -> None:
        self.sessions = sessions
        self.limiter = limiter
        self.ttl_s = ttl_s
        self.visits = visits
        self.presence = presence
        self.zones = zones
        self.password = password  # web.access: the node's own password, or the zone secret

    async def login(self, request: web.Request) -> web.Response:
        """``POST /api/v1/login {callsign, passphrase?, password?}`` → cookie + session."""
        same_origin(request)  # a page elsewhere must not log this browser in as someone
        if not self.limiter.allow(request.remote or "?"):
            fail(429, "rate_limited", "too many login attempts; wait a minute")
        body = await json_body(request, frozenset({"callsign", "passphrase", "password"}))
        callsign = inputs.callsign(body.get("callsign"))
        passphrase = body.get("passphrase")
        if passphrase is not None and (
            not isinstance(passphrase, str) or len(passphrase) > MAX_PASSPHRASE
        ):
            fail(400, "bad_passphrase", f"passphrase must be a string of at most {MAX_PASSPHRASE}")
        self._check_password(body.get("password"))
        if not passphrase:
            await self._refuse_bound(callsign)
        cookie = request.cookies.get(DEVICE_COOKIE, "")
        fresh = not (cookie.isascii() and 20 <= len(cookie) <= 64)
        if fresh:
            cookie = secrets.token_urlsafe(24)
        try:
            session = await self.sessions.login(callsign, passphrase or None, device_id(cookie))
        except IdentityError as exc:
            fail(400, "bad_login", str(exc))
        session.last_visit = await self.visits.begin(session.signer.callsign)
        status = self.presence.status_of(session.signer.callsign)
        response = web.json_response(session_json(session, status))
        response.set_cookie(
            COOKIE, session.token, httponly=True, samesite="Strict", path="/", max_age=self.ttl_s
        )
        if fresh:  # the browser's own name here: edits of what it posted stay its own
            response.set_cookie(
                DEVICE_COOKIE, cookie, httponly=True, samesite="Strict", path="/", max_age=DEVICE_S
            )
        return response

    def _check_password(self, given: object) -> None:
        if not self.password:
            return
        ok = isinstance(given, str) and given.isascii() and len(given) <= MAX_PASSPHRASE
        if not ok or not hmac.compare_digest(str(given), self.password):
            fail(403, "bad_password", "this node asks for its password to log in")

    async def _refuse_bound(self, callsign: str) -> None:
        """A callsign bound to a user key here signs with its passphrase (docs/decisions.md)."""
        for zone in self.zones:
            if callsign in await self.sessions.store.bound_keys(zone, [callsign]):
                fail(
                    403,
                    "passphrase_required",
                    f"{callsign} signs with a passphrase here: log in with it",
                )

    async def logout(self, request: web.Request) -> web.Response:
        """``POST /api/v1/logout`` ends the session (every tab of it, at once)."""
        session = require_session(self.sessions, request)
        await self.sessions.logout(session.token)
        await self.visits.touch(session.signer.callsign)
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/")
        return response

    async def current(self, request: web.Request) -> web.Response:
        """``GET /api/v1/session``: the session behind the cookie (a reload keeps it)."""
        session = require_session(self.sessions, request, csrf=False)
        status = self.presence.status_of(session.signer.callsign)
        return web.json_response(session_json(session, status))
