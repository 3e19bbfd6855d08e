"""The actions' routes in the ``/api/v1`` sub-application: inbound, the action log, contacts.

The root adds these routes to the JSON API's sub-application, whose middleware maps every
``MeshchatError`` to a JSON ``{error, detail}``. This room may not import the web room, so
the session check arrives from the root as a callable (``SessionOf``) that returns the
logged-in callsign or raises the web room's 401/403.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, NoReturn

from aiohttp import web

from meshchat import bodies
from meshchat.actions import contacts
from meshchat.actions.inbound import Gateway, GatewayError
from meshchat.actions.service import ActionService
from meshchat.clock import wall_ms
from meshchat.store.contacts import ContactStore

# (request, check_csrf) -> the session's callsign; raises 401 without a session, 403 on CSRF.
SessionOf = Callable[[web.Request, bool], str]
MAX_JSON_BYTES = 64 * 1024
INBOUND_FIELDS = frozenset({"zone", "channel", "callsign", "text", "gateway", "sender"})
MAX_LOG = 500
STATUS_RUNS = 10


def _fail(code: str, detail: str, status: int = 400) -> NoReturn:
    raise GatewayError(code, detail, status)


async def read_json(request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
    """Return the request's JSON object (``meshchat.bodies``: the same rules as the API)."""
    return await bodies.read_json(request, allowed, MAX_JSON_BYTES)


class InboundApi:
    """``POST /api/v1/inbound``: a gateway posts with ``Authorization: Bearer <token>``."""

    def __init__(self, gateway: Gateway, token: str) -> None:
        self.gateway = gateway
        self.token = token

    def _authorize(self, request: web.Request) -> web.Response | None:
        """Return the refusal for a request without the right token, or None."""
        if not self.token:
            return web.json_response(
                {"error": "inbound_disabled", "detail": "set inbound.token to accept gateways"},
                status=403,
            )
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return web.json_response(
                {"error": "no_token", "detail": "send Authorization: Bearer <inbound.token>"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="meshchat"'},
            )
        if not hmac.compare_digest(presented.strip().encode(), self.token.encode()):
            return web.json_response(
                {"error": "bad_token", "detail": "wrong inbound token"}, status=403
            )
        return None

    async def post(self, request: web.Request) -> web.Response:
        """``{zone?, channel, callsign, text, gateway?, sender?}`` → ``201 {id, ts}``."""
        refused = self._authorize(request)
        if refused is not None:
            return refused
        body = await read_json(request, INBOUND_FIELDS)
        for name in ("channel", "callsign", "text"):
            if name not in body:
                _fail("missing_field", f"{name} is required")
        record = await self.gateway.post(
            body.get("zone"),
            body["channel"],
            body["callsign"],
            body["text"],
            gateway=body.get("gateway") or "api",
            sender=body.get("sender"),
        )
        return web.json_response({"id": record.id_hex, "ts": record.ts}, status=201)


class ActionsApi:
    """``GET /api/v1/actions``: the rules and the action log (and the status page's part)."""

    def __init__(self, service: ActionService) -> None:
        self.service = service

    async def list(self, request: web.Request) -> web.Response:
        """``?limit&rule&state`` → ``{rules, runs}``, newest run first."""
        raw = request.query.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LOG:
            _fail("bad_limit", f"limit must be 1..{MAX_LOG}")
        runs = await self.service.log(
            int(raw), rule=request.query.get("rule"), state=request.query.get("state")
        )
        return web.json_response({"rules": self.service.rules_json(), "runs": runs})

    async def summary(self) -> dict[str, Any]:
        """Return what ``GET /api/v1/status`` shows of the actions: rules and the last runs."""
        return {
            "rules": [r["name"] for r in self.service.rules_json()],
            "runs": await self.service.log(STATUS_RUNS),
        }


class ContactsApi:
    """``/api/v1/contacts``: the logged-in user's addresses for offline notices."""

    def __init__(self, store: ContactStore, session_of: SessionOf) -> None:
        self.store = store
        self.session_of = session_of

    async def list(self, request: web.Request) -> web.Response:
        """``GET`` → ``{callsign, contacts: [{id, kind, address, at}]}``."""
        callsign = self.session_of(request, False)
        found = await self.store.contacts(callsign)
        return web.json_response({"callsign": callsign, "contacts": [c.to_json() for c in found]})

    async def add(self, request: web.Request) -> web.Response:
        """``POST {kind, address}`` → ``201 {id, kind, address, at}`` (again: the same one)."""
        callsign = self.session_of(request, True)
        body = await read_json(request, frozenset({"kind", "address"}))
        kind, address = contacts.check(body.get("kind"), body.get("address"))
        added = await self.store.add_contact(
            callsign,
            kind,
            address,
            wall_ms(),
            per_callsign=contacts.PER_CALLSIGN,
            total=contacts.TOTAL,
        )
        if added is None:
            _fail("too_many_contacts", f"at most {contacts.PER_CALLSIGN} addresses each", 409)
        return web.json_response(added.to_json(), status=201)

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /api/v1/contacts/{id}`` → ``{ok: true}``; 404 if it is not yours."""
        callsign = self.session_of(request, True)
        raw = request.match_info["id"]
        if not raw.isdigit() or not await self.store.delete_contact(callsign, int(raw)):
            _fail("unknown_contact", "no such contact address of yours", 404)
        return web.json_response({"ok": True})


def routes(inbound: InboundApi, actions: ActionsApi, contact: ContactsApi) -> list[web.RouteDef]:
    """Return the routes the root adds to the ``/api/v1`` sub-application."""
    return [
        web.post("/inbound", inbound.post),
        web.get("/actions", actions.list),
        web.get("/contacts", contact.list),
        web.post("/contacts", contact.add),
        web.delete("/contacts/{id}", contact.delete),
    ]
