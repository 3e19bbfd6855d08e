"""``/cgi-bin/meshchat``: the legacy API as its own sub-application (LEGACY.md).

One route, ``action=NAME`` in the query string or a urlencoded POST body. What legacy
peers poll (``messages_version``, ``messages_raw``, ``users_raw``, ``local_files_raw``,
``file_download``, ``config``) is plain text, always 200, with ``Content-MD5`` where legacy
nodes check it and a ``Content-Length`` (never chunked); ``send_message`` and the old UI's
JSON actions (``legacy.ui``) are JSON. Every error is mapped in one place, the
middleware: 200 with ``error <detail>``, or ``{"status":500, "response":…}`` for a JSON
action. Replies carry no browser headers: they are for legacy nodes and scripts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

from meshchat import __version__
from meshchat.errors import MeshchatError
from meshchat.legacy import codec, lists
from meshchat.legacy.files import FileSource
from meshchat.legacy.stats import LegacyStats
from meshchat.legacy.ui import LegacyUi
from meshchat.legacy.users import local_users
from meshchat.legacy.window import ExportWindow
from meshchat.presence import PresenceService
from meshchat.records import Record

log = logging.getLogger(__name__)

PREFIX = "/cgi-bin/meshchat"
MAX_FORM_BYTES = 128 * 1024  # a 30 KB message, percent-encoded, and the other fields
MAX_FIELDS = 32
OK_REPLY = b'{"status":200, "response":"OK"}'  # byte for byte what legacy nodes answer
JSON_ACTIONS = frozenset(
    {"send_message", "config", "messages", "users", "files", "sync_status"}
    | {"messages_version_ui", "action_log"}
)
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()+-]")

Params = dict[str, str]
Action = Callable[[web.Request, Params], Awaitable[web.Response]]


class PostMessage(Protocol):
    """``Gateway.post``: posts a message signed by the node for a callsign."""

    async def __call__(
        self,
        zone: str | None,
        channel: str,
        callsign: str,
        text: str,
        *,
        gateway: str = ...,
        sender: str | None = None,
    ) -> Record: ...


class LegacyError(MeshchatError):
    """Ends a legacy request with its error text (HTTP 200, as legacy nodes answer)."""

    status = 400
    code = "legacy"


class ActionFailed(Exception):
    """An action raised: the middleware answers in the action's format (text or JSON)."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


def text_reply(body: bytes, *, md5: bool = False, **headers: str) -> web.Response:
    """Return a plain-text answer with its length set (and its ``Content-MD5`` if asked)."""
    response = web.Response(body=body, content_type="text/plain", headers=headers)
    if md5:
        response.headers["Content-MD5"] = codec.md5_hex(body)
    return response


def json_reply(value: Any) -> web.Response:
    """Return a JSON answer of the legacy UI."""
    return web.Response(body=json.dumps(value).encode(), content_type="application/json")


async def _plain_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Legacy nodes read these answers, not browsers: a short Server header, nothing else."""
    del request
    response.headers["Server"] = "meshchat"


async def read_params(request: web.Request) -> Params:
    """Return the request's fields: a urlencoded POST body, with the query string on top."""
    params: Params = {}
    if request.method == "POST":
        if (request.content_length or 0) > MAX_FORM_BYTES:
            raise LegacyError("too large")
        body = b""
        while len(body) <= MAX_FORM_BYTES:
            chunk = await request.content.read(MAX_FORM_BYTES + 1 - len(body))
            if not chunk:
                break
            body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise LegacyError("too large")
        if request.content_type.startswith("multipart/"):
            raise LegacyError("uploads are not taken here")
        try:
            text = body.decode("utf-8")
            params.update(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
        except ValueError:  # UnicodeDecodeError too
            raise LegacyError("bad request") from None
    if len(request.query) > MAX_FIELDS:
        raise LegacyError("bad request")
    params.update(request.query)
    return params


class LegacyCgi:
    """Answers legacy peers, SMS-in scripts and old bookmarked UIs."""

    def __init__(
        self,
        window: ExportWindow,
        ui: LegacyUi,
        files: FileSource,
        post: PostMessage,
        presence: PresenceService,
        node_name: str,
        stats: LegacyStats,
        accept_posts: bool,
    ) -> None:
        self.window = window
        self.zone = window.zone
        self.ui = ui
        self.files = files
        self.post = post
        self.presence = presence
        self.node_name = node_name
        self.stats = stats
        self.accept_posts = accept_posts
        self.actions: dict[str, Action] = {
            "messages_version": self.messages_version,
            "messages_raw": self.messages_raw,
            "messages_download": self.messages_raw,
            "messages_md5": self.messages_md5,
            "users_raw": self.users_raw,
            "local_files_raw": self.local_files_raw,
            "file_download": self.file_download,
            "config": self.config,
            "send_message": self.send_message,
            **ui.actions(),
        }

    def app(self) -> web.Application:
        """Return the sub-application the root mounts at ``PREFIX``."""
        app = web.Application(middlewares=[self.middleware])
        app.on_response_prepare.append(_plain_headers)
        app.router.add_get("", self.dispatch)
        app.router.add_post("", self.dispatch)
        return app

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Map every error to a 200 answer a legacy client reads (LEGACY.md: always 200)."""
        # Before the form is read, a POST is most likely a send_message: answer it in JSON,
        # which the old UI checks (a text error would look like a success to it).
        action = request.query.get("action") or ("send_message" if request.method == "POST" else "")
        error: BaseException | None = None
        try:
            return await handler(request)
        except ActionFailed as failed:
            action, error = failed.action, failed.__cause__
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            action, error = "", LegacyError("no action")
        except Exception as exc:  # read_params: a body too large or malformed
            error = exc
        if isinstance(error, MeshchatError):
            if error.status >= 500:
                log.error("legacy %s failed: %s", action, error)
            detail = error.detail or error.code
        else:  # a bug must not show a legacy client a stack trace
            log.error("legacy %s crashed", action, exc_info=error)
            detail = "internal error"
        self.stats.count("errors")
        if action in JSON_ACTIONS:
            return json_reply({"status": 500, "response": detail[:200]})
        return text_reply(f"error {detail[:200]}".encode())

    async def dispatch(self, request: web.Request) -> web.Response:
        """Run the action a request names."""
        params = await read_params(request)
        action = params.get("action", "")
        handler = self.actions.get(action)
        if handler is None:
            raise ActionFailed("") from LegacyError("no action")
        try:
            return await handler(request, params)
        except Exception as exc:
            raise ActionFailed(action) from exc

    # -- what legacy peers poll ------------------------------------------------------------

    async def messages_version(self, request: web.Request, params: Params) -> web.Response:
        """The version: digits only, no trailing newline (Perl compares strings)."""
        del request, params
        self.stats.count("served_version")
        return text_reply((await self.window.current()).version.encode())

    async def messages_raw(self, request: web.Request, params: Params) -> web.Response:
        """The newest 500 lines with their ``Content-MD5`` (also ``messages_download``)."""
        del request
        window = await self.window.current()
        self.stats.count("served_raw")
        if params.get("action") == "messages_download":
            disposition = "attachment; filename=messages.txt;"
            return text_reply(window.body, md5=True, **{"Content-Disposition": disposition})
        return text_reply(window.body, md5=True)

    async def messages_md5(self, request: web.Request, params: Params) -> web.Response:
        """The MD5 of the message file (a Perl and Lua action)."""
        del request, params
        return text_reply((await self.window.current()).md5.encode())

    async def users_raw(self, request: web.Request, params: Params) -> web.Response:
        """This node's users; the caller's ``platform`` and ``node`` are ignored."""
        del request, params
        users = local_users(self.presence, self.zone, self.node_name)
        return text_reply(lists.list_body(users), md5=True)

    async def local_files_raw(self, request: web.Request, params: Params) -> web.Response:
        """The files this node holds, with the TAB Lua nodes leave out."""
        del params
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        port = sockname[1] if isinstance(sockname, tuple) else request.url.port
        where = f"{self.node_name}:{port}"
        listed = []
        for offered in await self.files.offered():
            try:
                item = lists.LegacyFile(offered.name, where, offered.size, offered.mtime, "pi")
            except MeshchatError:
                continue  # a name no legacy line can hold
            listed.append(item)
        return text_reply(lists.list_body(listed), md5=True)

    async def file_download(self, request: web.Request, params: Params) -> web.Response:
        """A file by name (``no file`` when this node holds none by that name)."""
        del request
        name = params.get("file", "")
        data = await self.files.read(name) if name else None
        if data is None:
            return text_reply(b"no file")
        safe = _FILENAME_UNSAFE.sub("_", name)[:128]
        response = web.Response(body=data, content_type="application/octet-stream")
        response.headers["Content-MD5"] = codec.md5_hex(data)
        response.headers["Content-Disposition"] = f'attachment; filename="{safe}";'
        return response

    async def config(self, request: web.Request, params: Params) -> web.Response:
        """``{"version", "node", "zone"}`` with the keys Lua nodes add."""
        del request, params
        return json_reply(
            {
                "version": __version__,
                "protocol_verison": "1.02",  # sic: the key Lua nodes send
                "node": self.node_name,
                "zone": self.zone,
                "default_channel": "",
                "debug": 0,
            }
        )

    async def send_message(self, request: web.Request, params: Params) -> web.Response:
        """Post a message for a callsign through the gateway path (docs/decisions.md)."""
        del request
        if not self.accept_posts:
            raise LegacyError("send_message is turned off on this node")
        message, callsign = params.get("message", ""), params.get("call_sign", "")
        await self.post(self.zone, params.get("channel", ""), callsign, message, gateway="legacy")
        self.stats.count("posted")
        return web.Response(body=OK_REPLY, content_type="application/json")
