"""Fetching blobs from peers (DESIGN §5.4): resumable ranged GETs, verified before they show.

One worker per node takes one wanted blob at a time, and one chunk at a time
(``files.chunk_bytes``) from one peer. Before each chunk it waits until the link to that
peer has no sync round running and no push queued (at most ``timing.blob_yield_max_s``),
and the serving side lets its own pushes to the caller go first: chat before files on a
slow link. A chunk is appended only once it arrived whole, so a cut costs at most that
chunk again, and the partial file survives a restart. The blob is visible only once all
of it hashes to its name. The uploader's node is asked first, then every other live
peer; a blob nobody has is asked for again with back-off (``timing.blob_retry_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from meshchat.bodies import read_capped
from meshchat.clock import wall_ms
from meshchat.config import Config
from meshchat.errors import PeerError, RemoteProtocolError
from meshchat.records import Record
from meshchat.store.blobs import BlobError, BlobStore, NoRoom, Partial, TooLarge
from meshchat.sync import blobwire, zoneauth
from meshchat.sync.client import SKIP_HEADERS, PeerClient
from meshchat.sync.peerlink import PeerLink
from meshchat.sync.wire import CONTACT_ID_CHARS, NODE_HEADER, PREFIX
from meshchat.timing import Timing, horizon_ms

log = logging.getLogger(__name__)

MAX_WANTS = 10_000
RESCAN_LIMIT = 500
YIELD_POLL_S = 0.02


class Absent(Exception):
    """The peer does not hold the blob (404)."""


class Wrong(Exception):
    """The peer's reply cannot be this blob (another size, a range it refuses)."""


@dataclass
class Want:
    """A blob this node wants, from the newest file record that announced it."""

    sha256: bytes
    size: int
    node: str  # the uploader's node, asked first
    pinned: bool
    ts: int  # the newest announcement: the quota keeps the newest files
    forced: bool = False  # someone asked for it here: room is made whatever its age
    due: float = 0.0  # time.monotonic() of the next attempt
    attempts: int = 0
    waiters: list[asyncio.Future[bool]] = field(default_factory=list)


async def wait_until(ready: Callable[[], bool], max_s: float) -> None:
    """Poll ``ready`` until it holds or ``max_s`` passed (a link has no event for idleness)."""
    deadline = time.monotonic() + max_s
    while not ready() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(YIELD_POLL_S)


async def get_range(
    client: PeerClient, node_id: str, sha256: bytes, first: int, last: int, size: int
) -> bytes:
    """GET bytes ``first..last`` of a blob from one peer; exactly those bytes or an error."""
    path_qs = f"{client.base_path}{PREFIX}/blob/{sha256.hex()}"
    # Who asks, in the short form a reconcile uses: the server lets its pushes to us go first.
    headers = {"Range": f"bytes={first}-{last}", NODE_HEADER: node_id[:CONTACT_ID_CHARS]}
    if client.zone_secret:
        headers.update(zoneauth.sign(client.zone_secret, "GET", path_qs, b"", time.time()))
    url = client.peer.url.rstrip("/").removesuffix(client.base_path) + path_qs
    client.peer.bytes_out += len(path_qs) + 60
    want = last - first + 1
    try:
        async with client.http.get(
            url, headers=headers, timeout=client.timeout, skip_auto_headers=SKIP_HEADERS
        ) as resp:
            if resp.status == 404:
                raise Absent()
            if resp.status == 416:
                raise Wrong("the peer's blob is shorter than the file record says")
            if resp.status != 206:
                raise PeerError(f"blob: HTTP {resp.status}")
            if blobwire.parse_content_range(resp.headers.get("Content-Range", "")) != (
                first,
                last,
                size,
            ):
                raise Wrong("the peer answered another range or another size")
            data = await read_capped(resp, want + 1)
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        raise PeerError(f"blob: {type(exc).__name__} {exc}".strip()) from None
    client.peer.bytes_in += len(data)
    if len(data) != want:
        raise PeerError(f"blob: {len(data)} bytes for a range of {want}")
    return data


class BlobFetcher:
    """Replicates the blobs of announced files (or fetches one on demand)."""

    def __init__(
        self,
        blobs: BlobStore,
        config: Config,
        timing: Timing,
        node_id: str,
        links: Callable[[], Iterable[PeerLink]],
    ) -> None:
        self.blobs = blobs
        self.files = config.files
        self.timing = timing
        self.node_id = node_id
        self.horizon_ms = horizon_ms(config)
        # Files announced in pinned channels are never evicted, like their records.
        self.pinned = frozenset(config.store.pinned_channels)
        self.links = links
        self.stats: Counter[str] = Counter()
        self.fetching: Partial | None = None
        self._wants: dict[bytes, Want] = {}
        self._wake = asyncio.Event()

    def on_records(self, fresh: Sequence[Record], origin: str) -> None:
        """Ingest subscriber: want the blob of every new file record (replication on)."""
        if self.files.replicate and origin != "local":
            for record in fresh:
                if record.kind == "file":
                    self._want(record)

    def _want(self, record: Record, urgent: bool = False) -> Want | None:
        body = record.body
        size, sha256 = int(body["size"]), bytes(body["sha256"])
        if size > self.files.max_file_bytes:
            return None
        want = self._wants.get(sha256)
        if want is None:
            if len(self._wants) >= MAX_WANTS:
                return None
            pinned = body["channel"] in self.pinned
            want = Want(sha256, size, str(body["node"]), pinned, record.ts)
            self._wants[sha256] = want
        want.ts = max(want.ts, record.ts)
        if urgent:
            want.due, want.forced = 0.0, True
        self._wake.set()
        return want

    async def fetch_now(self, record: Record) -> bool:
        """Fetch a file's blob first of all (a user wants it); True once it is held here."""
        if await self.blobs.info(bytes(record.body["sha256"])) is not None:
            return True
        want = self._want(record, urgent=True)
        if want is None:
            return False
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        want.waiters.append(done)
        try:
            return await asyncio.wait_for(asyncio.shield(done), self.timing.download_wait_s)
        except TimeoutError:
            return False
        finally:
            if done in want.waiters:
                want.waiters.remove(done)

    async def before_serving(self, caller: str) -> None:
        """Let records queued for ``caller`` go out before a blob reply to it (bounded)."""
        if len(caller) < CONTACT_ID_CHARS:
            return
        link = next((k for k in self.links() if k.peer.node_id.startswith(caller)), None)
        if link is not None:
            await wait_until(lambda: link.pusher.idle, self.timing.blob_yield_max_s)

    def status(self) -> dict[str, Any]:
        """Return what replication is doing, for the files API."""
        current = self.fetching
        return {
            "replicate": self.files.replicate,
            "wanted": len(self._wants),
            "fetching": None
            if current is None
            else {"sha256": current.sha256.hex(), "have": current.offset, "size": current.size},
            "fetched": self.stats["fetched"],
            "bytes_in": self.stats["bytes"],
            "mismatches": self.stats["mismatch"],
        }

    async def run(self) -> None:
        """Fetch wanted blobs until cancelled; look for missing ones every rescan period."""
        next_scan = 0.0
        while True:
            now = time.monotonic()
            if now >= next_scan:
                await self._rescan()
                next_scan = now + self.timing.blob_rescan_s
            self._wake.clear()
            due = [w for w in self._wants.values() if w.due <= now]
            if not due:
                wait = min([next_scan - now] + [w.due - now for w in self._wants.values()])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(0.01, wait))
                continue
            want = min(due, key=lambda w: w.due)
            try:
                await self._attempt(want)
            except Exception:  # a bug must not end replication for good
                log.exception("fetching blob %s crashed", want.sha256.hex()[:16])
                self._retry(want)

    async def _rescan(self) -> None:
        if not self.files.replicate:
            return
        since = wall_ms() - self.horizon_ms
        for record in await self.blobs.index.missing(
            since, self.files.max_file_bytes, RESCAN_LIMIT
        ):
            self._want(record)

    def _done(self, want: Want, held: bool) -> None:
        self._wants.pop(want.sha256, None)
        for waiter in want.waiters:
            if not waiter.done():
                waiter.set_result(held)

    def _retry(self, want: Want, backoff: bool = True) -> None:
        """Nobody gave it whole: answer whoever waits, try again later (replication on)."""
        for waiter in want.waiters:
            if not waiter.done():
                waiter.set_result(False)
        want.waiters.clear()
        if not self.files.replicate:
            self._wants.pop(want.sha256, None)
            return
        if backoff:
            want.attempts += 1
        delay = self.timing.blob_retry_s * 2 ** min(max(want.attempts - 1, 0), 20)
        want.due = time.monotonic() + min(delay, self.timing.blob_retry_max_s)

    async def _attempt(self, want: Want) -> None:
        if await self.blobs.info(want.sha256) is not None:
            await self.blobs.announced(want.sha256, want.ts)
            self._done(want, True)
            return
        live = [k for k in self.links() if k.peer.live]
        candidates = sorted(live, key=lambda k: k.peer.name != want.node)
        if not candidates and want.size:
            self._retry(want, backoff=False)  # no peer is up: not this blob's fault
            return
        try:
            partial = await self.blobs.download(want.sha256, want.size, want.ts, force=want.forced)
        except (TooLarge, NoRoom) as exc:
            self.stats[exc.code] += 1
            log.debug("not fetching blob %s: %s", want.sha256.hex()[:16], exc)
            self._done(want, False)
            return
        except BlobError:
            self._retry(want)
            return
        self.fetching = partial
        try:
            if await self._pull_from(candidates, want, partial):
                return
        finally:
            self.fetching = None
            partial.close()
        self._retry(want)

    async def _pull_from(self, links: Sequence[PeerLink], want: Want, partial: Partial) -> bool:
        """Fetch the rest of ``partial`` from the first peer that has it; True when held."""
        for link in [None, *links]:  # None: what is already here may be the whole blob
            if link is not None:
                try:
                    await self._pull(link, want, partial)
                except Absent:
                    continue
                except (Wrong, PeerError, RemoteProtocolError, BlobError) as exc:
                    self.stats["failed"] += 1
                    log.info("blob %s from %s: %s", want.sha256.hex()[:16], link.peer.url, exc)
                    continue
            if partial.offset < want.size:
                continue
            if await partial.finish(want.pinned):
                self.stats["fetched"] += 1
                self._done(want, True)
                return True
            self.stats["mismatch"] += 1
            log.warning("blob %s did not match its SHA-256; dropped", want.sha256.hex()[:16])
        return False

    async def _pull(self, link: PeerLink, want: Want, partial: Partial) -> None:
        while partial.offset < want.size:
            await wait_until(lambda: link.idle, self.timing.blob_yield_max_s)  # records first
            first = partial.offset
            last = min(want.size, first + self.files.chunk_bytes) - 1
            data = await get_range(link.client, self.node_id, want.sha256, first, last, want.size)
            await partial.append(data)
            self.stats["bytes"] += len(data)
