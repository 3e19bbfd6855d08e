"""The URL map of the node: JSON API, UI, and the mount points later layers add to."""

from __future__ import annotations

import mimetypes
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

from meshchat.sync.server import SyncServer
from meshchat.sync.wire import MAX_BODY_BYTES
from meshchat.web.http import error_middleware, security_headers
from meshchat.web.live import LiveHub
from meshchat.web.login import LoginApi
from meshchat.web.messages import MessagesApi
from meshchat.web.presence import PresenceApi
from meshchat.web.status import StatusApi

API = "/api/v1"
UI = "/meshchat/"


def build(
    login: LoginApi,
    messages: MessagesApi,
    status: StatusApi,
    presence: PresenceApi,
    sync: SyncServer,
    live: LiveHub,
) -> web.Application:
    """Return the aiohttp application with every route bound to its handler object."""
    # The sync API takes the largest bodies (put batches); the JSON API checks its own,
    # smaller limit in json_body.
    app = web.Application(
        middlewares=[sync.middleware, error_middleware], client_max_size=MAX_BODY_BYTES
    )
    app.on_response_prepare.append(security_headers)
    app.add_routes(sync.routes())
    app.add_routes(
        [
            web.get(f"{API}/status", status.status),
            web.post(f"{API}/login", login.login),
            web.post(f"{API}/logout", login.logout),
            web.get(f"{API}/session", login.current),
            web.get(f"{API}/messages", messages.list),
            web.post(f"{API}/messages", messages.post),
            web.patch(f"{API}/messages/{{id}}", messages.edit),
            web.delete(f"{API}/messages/{{id}}", messages.delete),
            web.post(f"{API}/messages/{{id}}/reactions", messages.react),
            web.delete(f"{API}/reactions/{{id}}", messages.unreact),
            web.get(f"{API}/channels", messages.channels),
            web.post(f"{API}/channels", messages.create_channel),
            web.get(f"{API}/callsigns", messages.callsigns),
            web.get(f"{API}/dms", messages.conversations),
            web.get(f"{API}/presence", presence.list),
            web.post(f"{API}/presence", presence.set_status),
            web.get(f"{API}/ws", live.handle),
            web.get("/", _to_ui),
            web.get("/meshchat", _to_ui),
            web.get(UI, _static),
            web.get(UI + "{name:[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*}", _static),
        ]
    )
    return app


async def _to_ui(request: web.Request) -> web.Response:
    raise web.HTTPFound(UI)


def _asset(name: str) -> Traversable | None:
    """Return a file of the UI by its path below static/, refusing anything else."""
    node = resources.files("meshchat.web").joinpath("static")
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return None
        node = node.joinpath(part)
    return node if node.is_file() else None


async def _static(request: web.Request) -> web.Response:
    """Serve the UI's files (AREDN's service check needs a 200 at /meshchat/)."""
    name = request.match_info.get("name", "index.html")
    asset = _asset(name)
    if asset is None:
        raise web.HTTPNotFound(text="no such file")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".js"):
        content_type = "text/javascript"
    response = web.Response(body=asset.read_bytes(), content_type=content_type)
    # The page itself must never be stale after an upgrade; assets may be cached briefly.
    response.headers["Cache-Control"] = "no-cache" if name.endswith(".html") else "max-age=300"
    response.enable_compression()
    return response
