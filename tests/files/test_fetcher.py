"""The blob fetcher against a peer it cannot trust: cuts, lies, a busy link, on demand.

The peer is a small aiohttp server on 127.0.0.1 serving byte ranges, so a cut is a real
connection closed mid-body; the fetcher sees it through a stand-in for a peer link.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from meshchat import config
from meshchat.peers import Peer
from meshchat.store.blobs import BlobStore
from meshchat.sync import blobwire
from meshchat.sync.blobfetch import BlobFetcher
from meshchat.sync.client import PeerClient
from meshchat.timing import Timing
from tests.files.helpers import file_record, read_all
from tests.mesh import eventually
from tests.sync.fake_http import serve

CHUNK = 8192
FAST = Timing(blob_retry_s=0.05, blob_retry_max_s=0.2, blob_rescan_s=3600.0, download_wait_s=5.0)


@dataclass
class FakePeer:
    """Serves ``data`` by range; cuts the connection halfway through the requests in ``cut``."""

    data: bytes
    cut: set[int] = field(default_factory=set)
    status: int = 206
    requests: int = 0
    sent: int = 0  # body bytes written, cut ones included

    async def blob(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.status != 206:
            return web.Response(status=self.status)
        first, last = blobwire.parse_range(request.headers["Range"], len(self.data)) or (0, 0)
        body = self.data[first : last + 1]
        response = web.StreamResponse(status=206)
        response.headers["Content-Range"] = blobwire.content_range(first, last, len(self.data))
        response.content_length = len(body)
        await response.prepare(request)
        if self.requests in self.cut:
            await response.write(body[: len(body) // 2])
            self.sent += len(body) // 2
            assert request.transport is not None
            request.transport.close()  # the radio link went away mid-chunk
            return response
        await response.write(body)
        self.sent += len(body)
        return response


@dataclass
class FakePusher:
    idle: bool = True


@dataclass
class FakeLink:
    """What the fetcher reads of a peer link: its peer, client, and whether it is busy."""

    client: PeerClient
    idle: bool = True
    pusher: FakePusher = field(default_factory=FakePusher)

    @property
    def peer(self) -> Peer:
        return self.client.peer


@contextlib.asynccontextmanager
async def peer_link(fake: FakePeer) -> AsyncIterator[FakeLink]:
    async with serve({"/sync/v1/blob/{sha}": fake.blob}) as url, aiohttp.ClientSession() as http:
        peer = Peer(url, "static", kind="native", name="origin")
        yield FakeLink(PeerClient(http, peer, "ab" * 32, "", 5.0))


def fetcher(blobs: BlobStore, links: list[Any], **files: Any) -> BlobFetcher:
    overrides = {f"files__{key}": value for key, value in files.items()}
    cfg = config.with_overrides(config.Config(), files__chunk_bytes=CHUNK, **overrides)
    return BlobFetcher(blobs, cfg, FAST, "cd" * 32, lambda: links)


@contextlib.asynccontextmanager
async def running(f: BlobFetcher) -> AsyncIterator[None]:
    task = asyncio.get_running_loop().create_task(f.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_cut_transfer_resumes_where_it_stopped(blobs: BlobStore) -> None:
    data = os.urandom(10 * CHUNK + 123)
    fake = FakePeer(data, cut={3, 7})
    async with peer_link(fake) as link:
        f = fetcher(blobs, [link])
        f.on_records([file_record(data, node="origin")], "peer:x")
        async with running(f):

            async def held() -> bool:
                return await blobs.info(hashlib.sha256(data).digest()) is not None

            await eventually(held, 10, "the blob fetched")
    assert await read_all(blobs, hashlib.sha256(data).digest()) == data
    # Each cut lost at most the chunk in flight; nothing else was sent twice.
    assert fake.sent - len(data) <= 2 * CHUNK // 2
    assert fake.requests == 11 + 2
    assert f.stats["fetched"] == 1 and f.stats["bytes"] == len(data)


async def test_a_blob_that_does_not_match_its_hash_is_refused(blobs: BlobStore) -> None:
    data = os.urandom(3 * CHUNK)
    announced = file_record(data)
    fake = FakePeer(os.urandom(len(data)))  # the right size, other bytes
    async with peer_link(fake) as link:
        f = fetcher(blobs, [link])
        f.on_records([announced], "peer:x")
        async with running(f):
            await eventually(lambda: _async(f.stats["mismatch"] >= 2), 10, "two refusals")
    assert await blobs.info(announced.body["sha256"]) is None
    assert (await blobs.usage())["count"] == 0


async def test_a_peer_without_the_blob_or_with_another_size(blobs: BlobStore) -> None:
    data = os.urandom(2 * CHUNK)
    for fake in (FakePeer(data, status=404), FakePeer(data[:CHUNK])):
        async with peer_link(fake) as link:
            f = fetcher(blobs, [link])
            f.on_records([file_record(data)], "peer:x")
            async with running(f):
                await eventually(lambda fake=fake: _async(fake.requests >= 3), 10, "retries")
            assert f.status()["wanted"] == 1  # still wanted: asked again with back-off
    assert await blobs.info(hashlib.sha256(data).digest()) is None


async def test_chunks_wait_while_the_link_carries_records(blobs: BlobStore) -> None:
    data = os.urandom(CHUNK)
    fake = FakePeer(data)
    async with peer_link(fake) as link:
        link.idle = False  # a sync round or a push is under way
        f = fetcher(blobs, [link])
        f.on_records([file_record(data)], "peer:x")
        async with running(f):
            await asyncio.sleep(0.3)
            assert fake.requests == 0
            link.idle = True
            await eventually(lambda: _async(f.stats["fetched"] == 1), 5, "fetched once idle")


async def test_the_server_side_lets_pushes_go_first(blobs: BlobStore) -> None:
    async with peer_link(FakePeer(b"")) as link:
        link.peer.node_id = "ef" * 32
        link.pusher.idle = False
        timing = dataclasses.replace(FAST, blob_yield_max_s=0.3)
        f = BlobFetcher(blobs, config.Config(), timing, "cd" * 32, lambda: [link])
        start = time.monotonic()
        await f.before_serving("ef" * 8)  # waits, but never longer than the cap
        assert 0.25 < time.monotonic() - start < 2
        link.pusher.idle = True
        start = time.monotonic()
        await f.before_serving("ef" * 32)
        await f.before_serving("00" * 32)  # not a peer of ours: no wait
        await f.before_serving("")  # no name at all: no wait
        assert time.monotonic() - start < 0.2


async def test_without_replication_only_a_download_fetches(blobs: BlobStore) -> None:
    data = os.urandom(3 * CHUNK)
    record = file_record(data)
    fake = FakePeer(data)
    async with peer_link(fake) as link:
        f = fetcher(blobs, [link], replicate=False)
        f.on_records([record], "peer:x")
        async with running(f):
            await asyncio.sleep(0.2)
            assert fake.requests == 0
            assert await f.fetch_now(record)
    assert await read_all(blobs, record.body["sha256"]) == data
    missing = file_record(os.urandom(10))
    async with peer_link(FakePeer(b"", status=404)) as link:
        f = fetcher(blobs, [link], replicate=False)
        async with running(f):
            start = time.monotonic()
            assert not await f.fetch_now(missing)  # nobody has it: told at once
            assert time.monotonic() - start < 2
        assert f.status()["wanted"] == 0


async def test_files_over_the_limit_are_not_fetched(blobs: BlobStore) -> None:
    async with peer_link(FakePeer(b"")) as link:
        f = fetcher(blobs, [link], max_file_bytes=1000, quota_bytes=10_000)
        f.on_records([file_record(os.urandom(1001))], "peer:x")
        f.on_records([file_record(os.urandom(10))], "local")  # uploaded here: already held
        assert f.status()["wanted"] == 0


async def _async(value: bool) -> bool:
    return value
