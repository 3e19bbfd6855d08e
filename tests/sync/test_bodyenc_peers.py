"""Compressed sync bodies between nodes: who gets them, what they save, hostile replies."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from meshchat import records
from meshchat.errors import PeerError
from meshchat.peers import Peer
from meshchat.sync import bodyenc, wire
from meshchat.sync.client import PeerClient
from tests import factories
from tests.mesh import PUSH_ONLY, ZONE, count, eventually, link, start_nodes, stop_all
from tests.sync.test_bad_peers import FakePeer
from tests.sync.test_bodyenc import bomb

TOKEN = bodyenc.TOKEN


async def test_a_catch_up_costs_fewer_bytes_than_its_records(tmp_path: Path) -> None:
    """Issue 12's target in small: the pages a newcomer fetches are smaller than the records."""
    source, newcomer = await start_nodes(tmp_path, 2, PUSH_ONLY)
    try:
        made = [
            factories.make_record(text=f"catch-up message {i}: status report, all stations copy")
            for i in range(600)
        ]
        assert await source.node.ingestor.submit([r.envelope for r in made], "local")
        held = await count(source)
        link(source, newcomer)

        async def caught_up() -> bool:
            return await count(newcomer) >= held

        await eventually(caught_up, 30.0, "the newcomer holds every record")
        (peer,) = [p for p in newcomer.node.peers.all() if p.url == source.url]
        assert peer.encodings == (TOKEN,)
        carried = peer.route_bytes.get("range", 0) + peer.route_bytes.get("get", 0)
        record_bytes = sum(len(r.envelope[0]) + len(r.envelope[1]) for r in made)
        assert 0 < carried < 0.8 * record_bytes, (carried, record_bytes)
    finally:
        await stop_all([source, newcomer])


class Recorder:
    """A peer that answers like a node and keeps each request's headers and body."""

    def __init__(self, enc: list[str] | None, reply: Any = None) -> None:
        self.enc = enc
        self.reply = reply  # (body bytes, headers) for get, or None for an honest one
        self.seen: list[tuple[str, dict[str, str], bytes]] = []

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append((request.path, dict(request.headers), body))
        if request.path.endswith("/put"):
            raw = zlib.decompress(body) if request.headers.get("Content-Encoding") else body
            n = len(records.unpack(raw)["records"])
            return msgpack({"results": ["ok"] * n})
        if self.reply is not None:
            data, headers = self.reply
            return web.Response(body=data, headers={"Content-Type": wire.MSGPACK, **headers})
        return msgpack({"records": [], "more": []})


def msgpack(body: Any) -> web.Response:
    return web.Response(body=records.pack(body), content_type=wire.MSGPACK)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def client_of(fake: FakePeer, http: aiohttp.ClientSession, enc: list[str]) -> PeerClient:
    peer = Peer(fake.url, "static", kind="native", encodings=tuple(enc))
    return PeerClient(http, peer, "ab" * 32, "", 5.0)


BIG_PUT = tuple(factories.make_record(text=f"push {i}").envelope for i in range(10))
GET = wire.Get(ZONE, (b"\1" * 32,))
EMPTY = records.pack({"records": [], "more": []})


@pytest.mark.parametrize("enc", [[], ["br", "x-other"]])
async def test_an_older_peer_gets_what_it_always_got(
    enc: list[str], http: aiohttp.ClientSession
) -> None:
    recorder = Recorder(enc)
    fake = await FakePeer(recorder).start()
    try:
        client = await client_of(fake, http, enc)
        assert (await client.send(wire.Put(ZONE, BIG_PUT))).results == ("ok",) * 10
        await client.send(GET)
        for _, headers, _ in recorder.seen:
            assert "Content-Encoding" not in headers and "Accept-Encoding" not in headers
    finally:
        await fake.stop()


async def test_a_peer_that_lists_the_coding_gets_compressed_puts(
    http: aiohttp.ClientSession,
) -> None:
    recorder = Recorder([TOKEN])
    fake = await FakePeer(recorder).start()
    try:
        client = await client_of(fake, http, [TOKEN])
        await client.send(wire.Put(ZONE, BIG_PUT))
        await client.send(wire.Put(ZONE, BIG_PUT[:1]))  # one record: not worth it
        await client.send(GET)
        (_, big, packed), (_, one, _), (_, get, _) = recorder.seen
        assert big["Content-Encoding"] == TOKEN and "Content-Encoding" not in one
        assert len(packed) < len(records.pack(wire.Put(ZONE, BIG_PUT).to_wire()))
        assert get["Accept-Encoding"] == TOKEN and "Content-Encoding" not in get
        assert client.peer.bytes_out < sum(len(e[0]) + len(e[1]) for e in BIG_PUT) + 400
    finally:
        await fake.stop()


@pytest.mark.parametrize(
    ("data", "headers", "why"),
    [
        (bomb(), {"Content-Encoding": TOKEN}, "inflates past"),
        (zlib.compress(EMPTY)[:-2], {"Content-Encoding": TOKEN}, "cut short"),
        (EMPTY, {"Content-Encoding": TOKEN}, "corrupt"),
        (gzip.compress(b"\0" * (8 << 20)), {"Content-Encoding": "gzip"}, "never asked for"),
        (zlib.compress(b"\0" * (8 << 20)), {"Content-Encoding": "deflate"}, "never asked for"),
    ],
    ids=["bomb", "truncated", "not-compressed", "gzip", "deflate"],
)
async def test_hostile_compressed_replies_are_a_failed_call(
    data: bytes, headers: dict[str, str], why: str, http: aiohttp.ClientSession
) -> None:
    fake = await FakePeer(Recorder([TOKEN], (data, headers))).start()
    try:
        client = await client_of(fake, http, [TOKEN])
        with pytest.raises(PeerError) as failed:
            await client.send(GET)
        assert why in str(failed.value)
    finally:
        await fake.stop()
