"""Pulling from legacy peers, as a legacy node does (LEGACY.md "How legacy nodes sync").

Every ``legacy_poll_s`` each peer of kind ``legacy`` in the shared peer table is polled:
``users_raw``, ``local_files_raw``, ``messages_version`` and, when that differs from the
version this node serves, ``messages_raw``. A body whose ``Content-MD5`` is missing or
wrong is ignored. A 404 leaves the peer alone for ``legacy_not_meshchat_s``; an
unreachable one backs off (capped by ``legacy_backoff_max_s``). The first contact also
reads ``config`` (invalid Perl JSON included) for the peer's name and zone. Unlike a
legacy node, a peer whose version has not moved since the last pull is not pulled again
(until ``legacy_refetch_s``): a peer holding lines we refuse would cost a download a poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import aiohttp

from meshchat.clock import wall_ms
from meshchat.errors import PeerError
from meshchat.legacy import codec, lists
from meshchat.legacy.client import Answer, LegacyClient, NotMeshchat, TooLarge
from meshchat.legacy.files import FileLists
from meshchat.legacy.importer import LineImporter, SeenLines
from meshchat.legacy.stats import LegacyStats
from meshchat.legacy.users import LegacyOrigins, presence_entries
from meshchat.legacy.window import ExportWindow
from meshchat.peers import Peer, PeerTable
from meshchat.presence import PresenceService
from meshchat.timing import Timing

log = logging.getLogger(__name__)

CONCURRENT = 4  # peers polled at once: a dead one does not hold up the others
MAX_LIST_LINES = 1000


class WrongZone(PeerError):
    """The peer's ``config`` names another zone: it is not polled for a while."""

    code = "wrong_zone"


@dataclass
class PeerState:
    """What this node remembers about one legacy peer between polls."""

    seen: SeenLines
    configured: bool = False
    pulled_version: str | None = None
    pulled_at: float = 0.0
    users: list[lists.LegacyUser] = field(default_factory=list)
    files: list[lists.LegacyFile] = field(default_factory=list)


class LegacyPoller:
    """Polls every legacy peer of the peer table on the legacy schedule."""

    def __init__(
        self,
        peers: PeerTable,
        importer: LineImporter,
        window: ExportWindow,
        presence: PresenceService,
        node_name: str,
        timing: Timing,
        stats: LegacyStats,
        max_body: int,
        file_lists: FileLists | None = None,
    ) -> None:
        self.peers = peers
        self.file_lists = file_lists  # where each peer's file list goes (the files view)
        self.importer = importer
        self.window = window
        self.presence = presence
        self.origins = LegacyOrigins(int(timing.presence_repeat_s * 1000))
        self.zone = window.zone
        self.node_name = node_name
        self.timing = timing
        self.stats = stats
        self.max_body = max_body
        self.states: dict[str, PeerState] = {}
        self._round = asyncio.Lock()  # rounds never overlap: a peer is polled once at a time

    def legacy_peers(self) -> list[Peer]:
        """Return the peers of kind ``legacy``, in the order they were added."""
        return [p for p in self.peers.all() if p.kind == "legacy"]

    def known_users(self) -> dict[tuple[str, str], lists.LegacyUser]:
        """Return the users legacy peers listed, by (callsign, node), for the old UI."""
        return {
            (u.callsign.strip().upper(), u.node): u for s in self.states.values() for u in s.users
        }

    def files(self) -> list[lists.LegacyFile]:
        """Return the files legacy peers offer (kept for the files surface to show)."""
        return [f for s in self.states.values() for f in s.files]

    async def run(self, http: aiohttp.ClientSession) -> None:
        """Poll every ``legacy_poll_s``, until cancelled."""
        await self.window.current()  # the id map catches up with the log before any pull
        while True:
            await self.round(http)
            await asyncio.sleep(self.timing.legacy_poll_s)

    async def round(self, http: aiohttp.ClientSession) -> None:
        """Poll each legacy peer that is due once."""
        async with self._round:
            await self._round_unlocked(http)

    async def _round_unlocked(self, http: aiohttp.ClientSession) -> None:
        peers = self.legacy_peers()
        urls = {p.url for p in peers}
        for url in [u for u in self.states if u not in urls]:
            del self.states[url]  # the peer went away
        now = time.time()
        due = [p for p in peers if p.retry_at <= now]
        gate = asyncio.Semaphore(CONCURRENT)

        async def one(peer: Peer) -> None:
            async with gate:
                await self._poll_one(http, peer)

        await asyncio.gather(*(one(p) for p in due))

    async def _poll_one(self, http: aiohttp.ClientSession, peer: Peer) -> None:
        state = self.states.get(peer.url)
        if state is None:
            state = self.states[peer.url] = PeerState(self.importer.seen_lines())
        client = LegacyClient(http, peer, self.timing.request_timeout_s, self.max_body)
        self.stats.count("polls")
        try:
            await self.poll(client, state)
        except (NotMeshchat, WrongZone) as exc:
            self.stats.count(exc.code)
            state.configured = False
            peer.last_error = str(exc)[:200]
            wait = self.timing.legacy_not_meshchat_s
            peer.retry_at = time.time() + wait
            log.info("legacy peer %s: %s; next poll in %.0f s", peer.url, exc, wait)
        except PeerError as exc:
            self.stats.count(exc.code if isinstance(exc, TooLarge) else "unreachable")
            state.configured = False
            timing = self.timing
            delay = peer.failed(
                time.time(), str(exc), timing.legacy_backoff_max_s, timing.backoff_base_s
            )
            log.info("legacy peer %s failed (%s); retrying in %.1f s", peer.url, exc, delay)
        except Exception:  # a bug must not end polling this peer for good
            log.exception("polling legacy peer %s crashed", peer.url)
            peer.failed(time.time(), "internal error", self.timing.legacy_backoff_max_s)

    async def poll(self, client: LegacyClient, state: PeerState) -> None:
        """Run one poll of one peer, in the legacy order."""
        peer = client.peer
        if not state.configured:
            await self._read_config(client)
            state.configured = True
        users = await client.get("users_raw", platform=codec.PLATFORM, node=self.node_name)
        if self._checked(users):
            state.users = lists.parse_users(users.body, MAX_LIST_LINES)
            updates = self.origins.updates(presence_entries(state.users), wall_ms())
            self.presence.take(self.zone, updates, f"legacy:{peer.url}")
        files = await client.get("local_files_raw")
        if self._checked(files):
            state.files = lists.parse_files(files.body, MAX_LIST_LINES)
            if self.file_lists is not None:
                await self.file_lists(peer.url, state.files)
        answer = await client.get("messages_version")
        version = codec.parse_version(answer.body)
        if version is None:
            raise PeerError("messages_version: not a version")
        ours = (await self.window.current()).version
        recent = time.monotonic() - state.pulled_at < self.timing.legacy_refetch_s
        if version != ours and not (version == state.pulled_version and recent):
            raw = await client.get("messages_raw")
            self.stats.count("pulls")
            if self._checked(raw):
                peer.records_in += await self.importer.take(peer.url, raw.body, state.seen)
                if state.seen.complete:  # else pull again next time: lines are waiting
                    state.pulled_version, state.pulled_at = version, time.monotonic()
        now = time.time()
        peer.succeeded(now)
        peer.last_sync = now

    def _checked(self, answer: Answer) -> bool:
        if answer.checked:
            return True
        self.stats.count("bad_md5")
        return False

    async def _read_config(self, client: LegacyClient) -> None:
        """Read the peer's name and zone; refuse a peer of another zone."""
        found = codec.parse_config((await client.get("config")).body)
        if found.get("node"):
            client.peer.name = found["node"]
        zone = found.get("zone")
        if zone and zone != self.zone:
            raise WrongZone(f"config: zone {zone!r}, not {self.zone!r}")
