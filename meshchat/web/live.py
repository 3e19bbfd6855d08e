"""Live updates over one WebSocket per tab, resumable by cursor (docs/live-api.md).

The hub reads what was stored after its cursor once per wake-up and fans the events
out to every socket of the zone; a socket that reconnects with an older cursor first
replays from the store, so nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from meshchat.errors import RemoteProtocolError
from meshchat.presence import PresenceService, TypingEntry
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.tasks import TaskGroup
from meshchat.timing import Timing
from meshchat.web import inputs
from meshchat.web.auth import Session, Sessions
from meshchat.web.http import fail
from meshchat.web.livegate import LiveGate
from meshchat.web.login import Visits, reads_dms, require_session, same_origin

log = logging.getLogger(__name__)

PAGE = 500
QUEUE = 2000  # events a slow socket may lag behind before it is closed (it then resumes)
TypingOut = Callable[[str, TypingEntry], None]


@dataclass(eq=False)
class _Socket:
    ws: web.WebSocketResponse
    session: Session
    zone: str
    sent: int  # highest cursor delivered
    reads_dms: bool = True  # False: the callsign signs with a key this session lacks
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE))

    def sees(self, event: dict[str, Any]) -> bool:
        """Direct messages go only to their author and recipient (docs/decisions.md)."""
        message = event.get("message")
        if not message or not message.get("to"):
            return True
        mine = self.session.signer.callsign in (message["callsign"], message["to"])
        return mine and self.reads_dms


class LiveHub:
    """Turns stored records into events and fans them out to the zone's sockets."""

    def __init__(
        self,
        store: Store,
        sessions: Sessions,
        zones: tuple[str, ...],
        node_name: str,
        presence: PresenceService,
        visits: Visits,
        typing_out: TypingOut,
        timing: Timing,
        tasks: TaskGroup,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.zones = zones
        self.node_name = node_name
        self.presence = presence
        self.visits = visits
        self.typing_out = typing_out  # carries a local typing notice on to the peers
        self.timing = timing
        self.tasks = tasks  # closes the sockets of tabs too slow to keep up
        self.gate = LiveGate(store)  # what each socket may be told (DESIGN §10)
        self._sockets: set[_Socket] = set()
        self._cursors: dict[str, int] = dict.fromkeys(zones, 0)
        self._wake = asyncio.Event()
        self._last_presence: dict[str, list[dict[str, Any]]] = {}

    # -- the hub loop -------------------------------------------------------------------

    def on_records(self, records: Sequence[Record], origin: str) -> None:
        """Ingest subscriber: new records are stored; wake the hub."""
        del records, origin
        self._wake.set()

    async def run(self) -> None:
        """Fan out stored changes as they come, and presence when it changes."""
        top = await self.store.last_seq()
        self._cursors = dict.fromkeys(self.zones, top)
        for zone in self.zones:
            await self.gate.refresh(zone)
        presence = asyncio.get_running_loop().create_task(self._presence_loop())
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                for zone in self.zones:
                    await self._drain(zone)
        finally:
            presence.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await presence

    async def _drain(self, zone: str) -> None:
        await self.gate.refresh(zone)
        while True:
            changes = await self.store.changes(zone, self._cursors[zone], PAGE)
            for event in await self.events(zone, changes):
                self._broadcast(zone, event)
            if changes:
                self._cursors[zone] = changes[-1][0]
            if len(changes) < PAGE:
                return

    async def events(
        self, zone: str, changes: Sequence[tuple[int, str, bytes, bytes | None]]
    ) -> list[dict[str, Any]]:
        """Turn stored changes into ``message`` / ``update`` / ``channel`` events."""
        out: list[dict[str, Any]] = []
        seen = self.gate.everything(zone)  # nothing held back here: the gate filters per socket
        for seq, kind, record_id, target in changes:
            if kind in ("msg", "file", "legacy"):
                view = await self.store.message(zone, record_id, seen)
                if view is not None:
                    out.append({"type": "message", "cursor": seq, "message": view.to_json()})
            elif kind in ("edit", "react", "delete") and target is not None:
                view = await self.store.message(zone, target, seen)
                if view is None and kind == "delete":  # a retracted reaction
                    reaction = await self.store.get_record(target)
                    inner = reaction.body.get("target") if reaction is not None else None
                    if isinstance(inner, bytes):
                        view = await self.store.message(zone, inner, seen)
                if view is not None:
                    out.append({"type": "update", "cursor": seq, "message": view.to_json()})
                elif kind == "delete":
                    out.extend(await self.gate.bans(zone, seq, record_id))
            elif kind == "channel":
                record = await self.store.get_record(record_id)
                if record is not None:
                    _, channel = await self.store.channel_view(zone, str(record.body["name"]))
                    out.append({"type": "channel", "cursor": seq, "channel": channel.to_json()})
        return out

    def _broadcast(self, zone: str, event: dict[str, Any]) -> None:
        for sock in list(self._sockets):
            if sock.zone == zone and sock.sees(event):
                admitted = self.gate.admit(sock.session, zone, event)
                if admitted is not None:
                    self._offer(sock, admitted)

    def _offer(self, sock: _Socket, event: dict[str, Any]) -> None:
        try:
            sock.queue.put_nowait(event)
        except asyncio.QueueFull:
            # Too slow to keep up: drop it; the tab reconnects and resumes by cursor.
            self._sockets.discard(sock)
            self.tasks.spawn(sock.ws.close(message=b"too slow"), "close slow socket")

    async def _presence_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timing.browser_presence_s)
            # An open tab is presence enough, even when its user only reads.
            for sock in self._sockets:
                self.presence.seen(sock.session.token)
            for zone in self.zones:
                users = [u.to_wire() for u in self.presence.zone(zone)]
                comparable = [{k: v for k, v in u.items() if k != "last_seen"} for u in users]
                if comparable != self._last_presence.get(zone):
                    self._last_presence[zone] = comparable
                    self._broadcast(zone, {"type": "presence", "users": users})

    # -- typing ---------------------------------------------------------------------------

    def typing(self, zone: str, entry: TypingEntry, *, local: bool) -> None:
        """Show a typing notice to the zone's sockets; pass a local one on to the peers."""
        frame = {
            "type": "typing",
            "callsign": entry.callsign,
            "node": entry.node,
            "channel": entry.channel,
            "expires_ms": entry.ttl_ms,
        }
        if self.store.access_cached(zone) is None:  # the rules changed: read them first
            self.tasks.spawn(self._typing_later(zone, frame), "typing after a rule change")
        else:
            self._broadcast(zone, frame)
        if local:
            self.typing_out(zone, entry)

    async def _typing_later(self, zone: str, frame: dict[str, Any]) -> None:
        await self.gate.refresh(zone)
        self._broadcast(zone, frame)

    # -- one socket -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/v1/ws?zone&cursor``: one tab's live connection."""
        session = require_session(self.sessions, request, csrf=False)
        same_origin(request)  # a page of another origin must not read this session's socket
        zone = inputs.zone(request.query.get("zone"), self.zones)
        raw_cursor = request.query.get("cursor")
        if raw_cursor is not None and not (
            raw_cursor.isascii() and raw_cursor.isdigit() and len(raw_cursor) <= 19
        ):
            fail(400, "bad_cursor", "cursor must be a non-negative integer")
        dms = await reads_dms(self.store, session, zone)
        ws = web.WebSocketResponse(heartbeat=self.timing.ws_heartbeat_s, max_msg_size=4096)
        # Present from the moment the tab is connected (nothing is awaited in between).
        self.presence.opened(session.token, session.signer.callsign)
        try:
            await ws.prepare(request)
        except BaseException:
            self.presence.closed(session.token)
            raise
        start = int(raw_cursor) if raw_cursor else self._cursors[zone]
        sock = _Socket(ws, session, zone, start, dms)
        self._sockets.add(sock)  # before the replay: nothing committed meanwhile is missed
        sender = asyncio.get_running_loop().create_task(self._send(sock))
        try:
            await self._receive(sock)
        finally:
            self._sockets.discard(sock)
            self.presence.closed(session.token)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await self.visits.touch(session.signer.callsign)
        return ws

    async def _send(self, sock: _Socket) -> None:
        hello = {
            "type": "hello",
            "cursor": sock.sent,
            "zone": sock.zone,
            "node": self.node_name,
            "callsign": sock.session.signer.callsign,
        }
        try:
            await sock.ws.send_json(hello)
            if sock.sent > await self.store.last_seq():
                await sock.ws.send_json({"type": "reset"})
            else:
                await self._replay(sock)
            users = [u.to_wire() for u in self.presence.zone(sock.zone)]
            await sock.ws.send_json({"type": "presence", "users": users})
            while True:
                event = await sock.queue.get()
                cursor = event.get("cursor")
                if cursor is not None:
                    if cursor <= sock.sent:
                        continue  # already delivered by the replay
                    sock.sent = cursor
                await sock.ws.send_json(event)
        except (ConnectionResetError, RuntimeError):
            await sock.ws.close()

    async def _replay(self, sock: _Socket) -> None:
        """Send what was stored after the socket's cursor, oldest first."""
        await self.gate.refresh(sock.zone)
        while True:
            changes = await self.store.changes(sock.zone, sock.sent, PAGE)
            if not changes:
                return
            for event in await self.events(sock.zone, changes):
                admitted = self.gate.admit(sock.session, sock.zone, event)
                if sock.sees(event) and admitted is not None:
                    await sock.ws.send_json(admitted)
            sock.sent = changes[-1][0]

    async def _receive(self, sock: _Socket) -> None:
        last_typing = 0.0
        async for msg in sock.ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                frame = None
            if not isinstance(frame, dict):
                frame = {}
            kind: Any = frame.get("type")
            channel: Any = frame.get("channel")
            if kind == "ping":
                await sock.ws.send_json({"type": "pong"})
            elif kind == "typing":
                try:
                    entry = TypingEntry(
                        sock.session.signer.callsign,
                        self.node_name,
                        channel,
                        self.timing.typing_ttl_ms,
                    )
                except RemoteProtocolError:
                    # Refused here, where the browser hears why, not by every peer later.
                    await sock.ws.send_json(
                        {
                            "type": "error",
                            "error": "bad_channel",
                            "detail": "typing needs a channel name (no control characters)",
                        }
                    )
                    continue
                if not self.gate.may_type(sock.session, sock.zone, entry.channel):
                    continue  # not a member of that restricted channel: nobody hears it
                now = time.monotonic()
                if now - last_typing >= 1.0:  # at most one per second per socket
                    last_typing = now
                    self.typing(sock.zone, entry, local=True)
            else:
                await sock.ws.send_json(
                    {
                        "type": "error",
                        "error": "unknown_frame",
                        "detail": "expected a typing or ping frame",
                    }
                )

    def end_session(self, token: str) -> None:
        """A session ended (a logout): close every socket of it at once, and it leaves."""
        for sock in [s for s in self._sockets if s.session.token == token]:
            self._sockets.discard(sock)
            self.tasks.spawn(sock.ws.close(message=b"logged out"), "close a logged-out socket")
        self.presence.leave(token)

    async def close(self) -> None:
        """Close every socket (node shutdown)."""
        for sock in list(self._sockets):
            await sock.ws.close(message=b"node shutting down")
        self._sockets.clear()
