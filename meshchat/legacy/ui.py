"""The JSON actions of the old legacy browser UI, so a bookmarked legacy page still works.

``messages`` and ``messages_version_ui`` carry the browser's ``call_sign`` and ``id``: its
user counts as online on this node while it polls. ``messages`` lists the lines this node
serves, as the legacy UI expects them; ``users`` is everyone online in the zone;
``files`` the files legacy peers offer; ``sync_status`` when each peer was last polled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from meshchat.legacy import lists
from meshchat.legacy.users import LegacyBrowsers, ui_users
from meshchat.legacy.window import ExportWindow
from meshchat.legacyline import parse
from meshchat.peers import PeerTable
from meshchat.presence import PresenceService

Params = dict[str, str]
Action = Callable[[web.Request, Params], Awaitable[web.Response]]
KnownUsers = Callable[[], dict[tuple[str, str], lists.LegacyUser]]
RemoteFiles = Callable[[], list[lists.LegacyFile]]


def _json(value: Any) -> web.Response:
    return web.json_response(value)


class LegacyUi:
    """Answers the legacy UI's JSON polls from this node's services."""

    def __init__(
        self,
        window: ExportWindow,
        presence: PresenceService,
        browsers: LegacyBrowsers,
        peers: PeerTable,
        known_users: KnownUsers,
        remote_files: RemoteFiles,
    ) -> None:
        self.window = window
        self.zone = window.zone
        self.presence = presence
        self.browsers = browsers
        self.peers = peers
        self.known_users = known_users
        self.remote_files = remote_files

    def actions(self) -> dict[str, Action]:
        """Return the UI's actions by name."""
        return {
            "messages": self.messages,
            "messages_version_ui": self.messages_version_ui,
            "users": self.users,
            "files": self.files,
            "sync_status": self.sync_status,
            "action_log": self.action_log,
        }

    def _polled(self, params: Params) -> None:
        if params.get("call_sign") and params.get("id"):
            self.browsers.seen(params["call_sign"], params["id"])

    async def messages(self, request: web.Request, params: Params) -> web.Response:
        """The lines this node serves, newest first, with the message text unescaped."""
        del request
        self._polled(params)
        out = []
        for text in reversed((await self.window.current()).lines):
            line = parse(text)
            out.append(
                {
                    "id": line.id,
                    "epoch": line.epoch,
                    "message": line.message,
                    "call_sign": line.callsign,
                    "node": line.node,
                    "platform": line.platform,
                    "channel": line.channel,
                }
            )
        return _json(out)

    async def messages_version_ui(self, request: web.Request, params: Params) -> web.Response:
        """``{"messages_version": N}``; the polling browser's user is online here."""
        del request
        self._polled(params)
        return _json({"messages_version": int((await self.window.current()).version)})

    async def users(self, request: web.Request, params: Params) -> web.Response:
        """Everyone online in the zone, newest first."""
        del request, params
        self.browsers.expire()
        return _json(ui_users(self.presence, self.zone, self.known_users()))

    async def files(self, request: web.Request, params: Params) -> web.Response:
        """The files legacy peers offer (this node holds none until the files layer)."""
        del request, params
        files = [
            {
                "file": f.name,
                "epoch": f.mtime,
                "size": f.size,
                "node": f.node,
                "platform": f.platform,
                "local": 0,
            }
            for f in self.remote_files()
        ]
        stats = {"total": 0, "used": 0, "files": 0, "files_free": 0, "allowed": 0}
        return _json({"stats": stats, "files": sorted(files, key=lambda f: -int(f["epoch"]))})

    async def sync_status(self, request: web.Request, params: Params) -> web.Response:
        """When each peer was last synced, newest first."""
        del request, params
        synced = [
            {"node": p.name or urlsplit(p.url).hostname or p.url, "epoch": int(p.last_sync)}
            for p in self.peers.all()
            if p.last_sync is not None
        ]
        return _json(sorted(synced, key=lambda s: -int(s["epoch"])))

    async def action_log(self, request: web.Request, params: Params) -> web.Response:
        """An empty list, as Lua nodes answer (meshchat's action log is ``/api/v1/actions``)."""
        del request, params
        return _json([])
