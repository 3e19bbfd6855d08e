"""The web surface: the JSON API and the UI files, each a sub-application the root mounts.

Both carry the browser security headers; the API maps every error to a JSON
``{error, detail}`` in one place (``http.error_middleware``). Nothing here knows about
sync: the handler objects arrive built by the composition root.
"""

from __future__ import annotations

import asyncio
import hashlib
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

from meshchat.web.channels import ChannelsApi
from meshchat.web.files import FilesApi
from meshchat.web.history import HistoryApi
from meshchat.web.http import compress_json, error_middleware, security_headers
from meshchat.web.live import LiveHub
from meshchat.web.login import LoginApi, Middleware
from meshchat.web.members import MembersApi
from meshchat.web.messages import MessagesApi
from meshchat.web.moderation import ModerationApi
from meshchat.web.presence import PresenceApi
from meshchat.web.status import StatusApi

API = "/api/v1"
UI = "/meshchat"


def api_app(
    login: LoginApi,
    messages: MessagesApi,
    history: HistoryApi,
    channels: ChannelsApi,
    members: MembersApi,
    moderation: ModerationApi,
    status: StatusApi,
    presence: PresenceApi,
    live: LiveHub,
    gate: Middleware,
) -> web.Application:
    """Return the ``/api/v1`` sub-application with every route bound to its handler."""
    app = web.Application(middlewares=[compress_json, error_middleware, gate])
    app.on_response_prepare.append(security_headers)
    app.add_routes(
        [
            web.get("/status", status.status),
            web.post("/login", login.login),
            web.post("/logout", login.logout),
            web.get("/session", login.current),
            web.get("/messages", history.list),
            web.post("/messages", messages.post),
            web.patch("/messages/{id}", messages.edit),
            web.delete("/messages/{id}", messages.delete),
            web.post("/messages/{id}/reactions", messages.react),
            web.delete("/reactions/{id}", messages.unreact),
            web.get("/channels", channels.channels),
            web.post("/channels", channels.create),
            web.post("/channels/{name}/members", members.add),
            web.delete("/channels/{name}/members/{callsign}", members.remove),
            web.get("/moderation", moderation.list),
            web.post("/moderation", moderation.act),
            web.get("/callsigns", channels.callsigns),
            web.get("/dms", history.conversations),
            web.post("/unread", history.unread),
            web.get("/presence", presence.list),
            web.post("/presence", presence.set_status),
            web.get("/ws", live.handle),
        ]
    )
    return app


def files_routes(files: FilesApi) -> list[web.RouteDef]:
    """Return the files routes the root adds to the API sub-application (DESIGN §5.4)."""
    return [
        web.get("/files", files.list),
        web.post("/files", files.upload),
        web.get("/files/{sha256}", files.download, allow_head=False),
    ]


def ui_app() -> web.Application:
    """Return the ``/meshchat`` sub-application: the UI's files (AREDN checks ``/meshchat/``)."""
    files = UiFiles()
    app = web.Application()
    app.on_response_prepare.append(security_headers)
    app.add_routes(
        [
            web.get("/", files.serve),
            web.get("/{name:[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*}", files.serve),
        ]
    )
    return app


def top_routes() -> list[web.RouteDef]:
    """Return the root's own routes: ``/`` and ``/meshchat`` lead to the UI."""
    return [web.get("/", _to_ui), web.get(UI, _advertised)]


async def _to_ui(request: web.Request) -> web.Response:
    raise web.HTTPFound(UI + "/")


# AREDN advertises ``http://HOST:PORT/meshchat`` and stops listing a service whose link
# does not answer 200 (LEGACY.md), so that exact path answers 200 and leads on to the UI.
_ADVERTISED = (
    '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=/meshchat/">'
    '<title>MeshChat</title><a href="/meshchat/">MeshChat</a>'
)


async def _advertised(request: web.Request) -> web.Response:
    response = web.Response(text=_ADVERTISED, content_type="text/html")
    await security_headers(request, response)
    return response


def _asset(name: str) -> Traversable | None:
    """Return a file of the UI by its path below static/, refusing anything else."""
    node = resources.files("meshchat.web").joinpath("static")
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return None
        node = node.joinpath(part)
    return node if node.is_file() else None


# The UI's own kinds of file. Not ``mimetypes``: its first use reads the system's type
# files on the event loop, and a JavaScript module must be text/javascript everywhere.
UI_TYPES = {
    "html": "text/html",
    "js": "text/javascript",
    "css": "text/css",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
    "json": "application/json",
    "webmanifest": "application/manifest+json",
    "woff2": "font/woff2",
}


class UiFiles:
    """Serves the UI's files, read once, with an ETag so a radio link re-sends only a 304."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[bytes, str, str]] = {}

    async def _load(self, name: str) -> tuple[bytes, str, str] | None:
        found = self._cache.get(name)
        if found is None:
            asset = await asyncio.to_thread(_asset, name)
            if asset is None:
                return None
            body = await asyncio.to_thread(asset.read_bytes)
            content_type = UI_TYPES.get(name.rpartition(".")[2], "application/octet-stream")
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            found = self._cache[name] = (body, content_type, etag)
        return found

    async def serve(self, request: web.Request) -> web.Response:
        """Serve one file, or 304 when the browser holds this very version."""
        name = request.match_info.get("name", "index.html")
        found = await self._load(name)
        if found is None:
            raise web.HTTPNotFound(text="no such file")
        body, content_type, etag = found
        # The page itself is revalidated every time, so an upgrade shows at once; the
        # other files may be used for five minutes before they are revalidated.
        cache = "no-cache" if name.endswith(".html") else "max-age=300"
        headers = {"ETag": etag, "Cache-Control": cache}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        response = web.Response(body=body, content_type=content_type, headers=headers)
        response.enable_compression()
        return response
