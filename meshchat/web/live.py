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
from meshchat.web import inputs, liveevents
from meshchat.web.access import reader_key
from meshchat.web.auth import Session, Sessions
from meshchat.web.http import fail
from meshchat.web.livegate import LiveGate
from meshchat.web.login import Visits, reads_dms, require_session, same_origin
from meshchat.web.presence import entry_json, presence_json, verified

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
    # (cursor or None, the frame as JSON text): each frame is encoded once for every socket.
    queue: asyncio.Queue[tuple[int | None, str]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE)
    )

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
        # What the sockets of each zone were last told: (callsign, node) -> comparable entry.
        self._shown: dict[str, dict[tuple[str, str], tuple[Any, ...]]] = {}

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
        if not any(sock.zone == zone for sock in self._sockets):
            # Nobody to tell: no per-record work (a bootstrap ingests 10^5 records). A tab
            # that opens later replays from its own cursor.
            self._cursors[zone] = await self.store.last_seq()
            return
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
        return await liveevents.events(self.store, self.gate, zone, changes)

    def _broadcast(self, zone: str, event: dict[str, Any]) -> None:
        text: str | None = None
        for sock in list(self._sockets):
            if sock.zone == zone and sock.sees(event):
                admitted = self.gate.admit(sock.session, zone, event)
                if admitted is event:  # as it is: encoded once for every socket
                    text = json.dumps(event) if text is None else text
                    self._offer(sock, (event.get("cursor"), text))
                elif admitted is not None:  # this reader's own version of it
                    self._offer(sock, (admitted.get("cursor"), json.dumps(admitted)))

    def _offer(self, sock: _Socket, frame: tuple[int | None, str]) -> None:
        try:
            sock.queue.put_nowait(frame)
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
                await self._presence_changes(zone)

    async def _presence_changes(self, zone: str) -> None:
        """Tell the zone's sockets who came, changed or went since the last time (once)."""
        entries = {(e.callsign, e.node): e for e in self.presence.zone(zone)}
        # The verified mark is part of what was shown: it changes when a callsign gets
        # bound to a key (its owner's first signed message), with no presence change.
        bound = await self.store.bound_keys(zone, {e.callsign for e in entries.values()})
        now = {
            key: (e.status, e.since, e.key, verified(e, bound.get(e.callsign)))
            for key, e in entries.items()
        }
        before = self._shown.get(zone, {})
        if now == before:
            return
        self._shown[zone] = now
        changed = [entry_json(entries[k], v[3]) for k, v in now.items() if before.get(k) != v]
        gone = [list(k) for k in before if k not in now]
        self._broadcast(zone, {"type": "presence_delta", "set": changed, "gone": gone})

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
        self.presence.opened(session.token, session.signer.callsign, reader_key(session))
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
            users = await presence_json(self.store, sock.zone, self.presence.zone(sock.zone))
            await sock.ws.send_json({"type": "presence", "users": users})
            while True:
                cursor, text = await sock.queue.get()
                if cursor is not None:
                    if cursor <= sock.sent:
                        continue  # already delivered by the replay
                    sock.sent = cursor
                await sock.ws.send_str(text)
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
