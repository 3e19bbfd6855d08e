"""The callee's half of dissemination (docs/decisions.md "Dissemination"): ``ihave``, ``watch``.

- ``POST /sync/v1/ihave {zone, ids}``: a peer on a lazy link names new records by id
  prefix; the reply names those still missing here after ``graft_wait_s`` (they may be on
  their way over the tree), and the link is grafted (made eager) when any are.
- ``POST /sync/v1/watch {zones, eager, want}``: a peer that may not be reachable from
  here (a LAN host behind a NAT) holds this request open; it is answered as soon as
  records new here can go to it (whole while it is eager, by id prefix while lazy), or
  after ``watch_wait_s``. When this node has a live link of its own to the caller it
  answers ``linked`` at once: it pushes over that link instead.

Watchers are bounded in number and queue; one that stops polling is dropped after
``watch_keep_s`` (anti-entropy delivers what it missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from meshchat import records
from meshchat.errors import RemoteProtocolError
from meshchat.presencedelta import Update
from meshchat.records import Record
from meshchat.store.db import Store
from meshchat.sync import announce, bodyenc, wire
from meshchat.sync.contacts import ContactLog, plain_address
from meshchat.sync.pusher import LinkMode
from meshchat.sync.replies import IHaveReply, WatchReply
from meshchat.timing import Timing

RECENT = 65_536  # id prefixes of records stored lately, checked before the store
MAX_WATCHERS = 256
WATCH_QUEUE = 2_000  # records queued for one watcher


class LinkLike(Protocol):
    """What the broadcast needs of a peer link (``peerlink.PeerLink``)."""

    mode: LinkMode

    @property
    def live(self) -> bool:
        """Tell whether the link's peer answers."""
        ...


@dataclass(eq=False)
class Watcher:
    """One caller holding (or about to re-arm) a watch on this node."""

    node_id: str
    address: str
    zones: frozenset[str] = frozenset()
    eager: bool = True
    polling: bool = False
    last_poll: float = 0.0
    queue: dict[bytes, Record] = field(default_factory=dict)
    told: dict[bytes, Record] = field(default_factory=dict)  # prefixes sent while lazy
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Broadcast:
    """Recent ids, announcements taken, and the watchers of this node."""

    def __init__(
        self,
        store: Store,
        zones: Sequence[str],
        timing: Timing,
        contacts: ContactLog,
        find_link: Callable[[str, str], LinkLike | None],
        forward_presence: Callable[[str, Sequence[Update], str], None] = lambda z, u, s: None,
    ) -> None:
        # Pass presence changes a peer sent on along the tree (``gossip.Gossip.forward``).
        self.forward_presence = forward_presence
        self.store = store
        self.zones = frozenset(zones)
        self.timing = timing
        self.contacts = contacts
        self.find_link = find_link
        self._recent: dict[bytes, None] = {}
        self._stored = asyncio.Event()
        self._watchers: dict[tuple[str, str], Watcher] = {}
        self._closing = False

    # -- what is stored here --------------------------------------------------------------

    def note(self, fresh: Iterable[Record]) -> None:
        """Remember the prefixes of newly stored records (ingest subscriber)."""
        recent = self._recent
        for record in fresh:
            recent[record.id[: announce.ID_PREFIX]] = None
        if len(recent) > RECENT:
            for key in list(recent)[: len(recent) - RECENT]:
                del recent[key]
        self._stored.set()

    async def lacking(self, prefixes: Sequence[bytes], wait_s: float = 0.0) -> list[bytes]:
        """Return the prefixes of records not stored here, waiting up to ``wait_s``."""
        deadline = time.monotonic() + wait_s
        missing = [p for p in prefixes if p not in self._recent]
        if missing:
            held = await self.store.by_prefix(missing)
            missing = [p for p in missing if p not in held]
        while missing and (left := deadline - time.monotonic()) > 0:
            self._stored.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stored.wait(), left)
            missing = [p for p in missing if p not in self._recent]
        return missing

    def pushed(self, caller: str, address: str, results: Sequence[str], keep: bool = False) -> bool:
        """A peer pushed to us: nothing new prunes our link to it, anything new grafts it.

        Return True when nothing was new but the link stays eager (our last one, or the
        caller's, which it says with ``keep``): the reply then asks it to keep it too.
        """
        link = self.find_link(caller, address)
        return link is not None and link.mode.took(results, keep)

    # -- watchers -------------------------------------------------------------------------

    def feed(self, fresh: Sequence[Record], source: str | None) -> None:
        """Queue new records for every watcher but the one they came from."""
        now = time.monotonic()
        for key, watcher in list(self._watchers.items()):
            if not watcher.polling and now - watcher.last_poll > self.timing.watch_keep_s:
                del self._watchers[key]
                continue
            if source is not None and watcher.node_id.startswith(source[: len(watcher.node_id)]):
                continue
            link = self.find_link(watcher.node_id, watcher.address)
            if link is not None and link.live:
                watcher.ready.set()  # answer `linked`: that link pushes to it now
                continue
            for record in fresh:
                if record.zone in watcher.zones and len(watcher.queue) < WATCH_QUEUE:
                    watcher.queue[record.id] = record
            if watcher.queue:
                watcher.ready.set()

    def close(self) -> None:
        """Answer every held watch now (the node shuts down; watchers come back later)."""
        self._closing = True
        for watcher in self._watchers.values():
            watcher.ready.set()

    def watching(self) -> dict[tuple[str, str], bool]:
        """Return {(node id, address): polling now} of the known watchers."""
        return {key: w.polling for key, w in self._watchers.items()}

    # -- handlers (the sync sub-application routes them; its middleware frames them) -------

    def _caller(self, request: web.Request) -> tuple[str, str]:
        caller = request.headers.get(wire.NODE_HEADER, "")[:64]
        if not caller:
            raise RemoteProtocolError(f"send {wire.NODE_HEADER}")
        address = plain_address(request.remote or "")
        self.contacts.heard(caller, address, time.time())
        return caller, address

    async def ihave(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/ihave {zone, ids}`` → ``{want}``."""
        req = announce.IHave.parse(records.unpack(bodyenc.request_body(), announce.MAX_IHAVE + 8))
        if req.zone not in self.zones:
            raise RemoteProtocolError("zone not served here", status=404, code="unknown_zone")
        caller, address = self._caller(request)
        want = await self.lacking(req.ids, self.timing.graft_wait_s)
        if want:
            link = self.find_link(caller, address)
            if link is not None:
                link.mode.set(True, "graft_want")  # graft: the tree missed us there
        return _reply(IHaveReply(tuple(want)).to_wire())

    async def watch(self, request: web.Request) -> web.Response:
        """``POST /sync/v1/watch {zones, eager, want}`` → ``{records, ihave, linked}``."""
        req = announce.Watch.parse(records.unpack(bodyenc.request_body(), 2 * announce.MAX_IHAVE))
        caller, address = self._caller(request)
        zones = frozenset(req.zones) & self.zones
        if not zones:
            raise RemoteProtocolError("no zone served here", status=404, code="unknown_zone")
        link = self.find_link(caller, address)
        if link is not None and link.live:
            return _reply(WatchReply(linked=True).to_wire())
        key = (caller, address)
        watcher = self._watchers.get(key)
        if watcher is None:
            if len(self._watchers) >= MAX_WATCHERS:
                raise RemoteProtocolError("too many watchers", status=503, code="busy")
            watcher = self._watchers[key] = Watcher(caller, address)
        if watcher.polling:
            raise RemoteProtocolError("a watch is already held", status=409, code="watching")
        watcher.zones, watcher.eager, watcher.polling = zones, req.eager, True
        try:
            if req.want:
                return _reply(await self._wanted(watcher, req.want))
            if not watcher.queue and not self._closing:
                watcher.ready.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watcher.ready.wait(), self.timing.watch_wait_s)
            link = self.find_link(caller, address)
            if link is not None and link.live:
                return _reply(WatchReply(linked=True).to_wire())
            return _reply(self._take(watcher))
        finally:
            watcher.polling = False
            watcher.last_poll = time.monotonic()

    async def _wanted(self, watcher: Watcher, want: Sequence[bytes]) -> dict[str, Any]:
        """Send the announced records the watcher lacks, whole; it grafted the link."""
        watcher.eager = True
        found = {p: watcher.told[p].envelope for p in want if p in watcher.told}
        rest = [p for p in want if p not in found]
        if rest:
            found.update(await self.store.by_prefix(rest))
        envelopes = list(found.values())
        return WatchReply(_cut(envelopes)).to_wire()

    def _take(self, watcher: Watcher) -> dict[str, Any]:
        """Move what fits of the watcher's queue into a reply."""
        queued = list(watcher.queue.values())
        if watcher.eager:
            sent = _cut([r.envelope for r in queued])
            for record in queued[: len(sent)]:
                del watcher.queue[record.id]
            return WatchReply(sent).to_wire()
        told = queued[: announce.MAX_IHAVE]
        for record in told:
            del watcher.queue[record.id]
        watcher.told = {r.id[: announce.ID_PREFIX]: r for r in told}
        return WatchReply(ihave=tuple(watcher.told)).to_wire()


def _cut(envelopes: Sequence[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
    """Keep envelopes up to ``GET_REPLY_BYTES`` (always the first)."""
    out: list[tuple[bytes, bytes]] = []
    size = 0
    for env in envelopes:
        n = len(env[0]) + len(env[1])
        if out and size + n > wire.GET_REPLY_BYTES:
            break
        out.append(env)
        size += n
    return tuple(out)


def _reply(body: Any) -> web.Response:
    return web.Response(body=records.pack(body), content_type=wire.MSGPACK)
