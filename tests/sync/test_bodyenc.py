"""Compressed sync bodies: the bounded inflate, and hostile encoded bodies on a real node.

docs/sync-threat-model.md "Compressed bodies": a body in our coding is inflated only
after the framing and zone-secret checks, never past the body limit, and anything wrong
with it is a counted 4xx with a reason; any other coding is refused unread.
"""

from __future__ import annotations

import gzip
import os
import struct
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from meshchat import records
from meshchat.app import RunningNode
from meshchat.sync import bodyenc, wire, zoneauth
from tests import factories
from tests.nodes import start_node
from tests.sync.test_server_hostile import chunked

ZONE = factories.ZONE
MIB = 1 << 20
TOKEN = bodyenc.TOKEN


def bomb(inflated: int = 1024 * MIB) -> bytes:
    """Return a valid zlib stream of ``inflated`` zero bytes in about inflated / 1000 bytes.

    Built from one compressed MiB repeated (a full flush resets the compressor, so each
    MiB compresses to the same bytes), with the stream's own Adler-32 of that many zeros.
    """
    c = zlib.compressobj(9)
    zeros = b"\0" * MIB
    head = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)  # with the zlib header
    piece = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()
    adler = ((inflated % 65521) << 16) | 1  # Adler-32 of n zero bytes
    return head + piece * (inflated // MIB - 1) + tail[:-4] + struct.pack(">I", adler)


# -- the codec ---------------------------------------------------------------------------


def test_round_trip_and_what_is_left_alone() -> None:
    body = records.pack({"zone": ZONE, "records": [list(factories.make_record().envelope)] * 8})
    packed = bodyenc.deflate(body)
    assert packed is not None and len(packed) < len(body)
    assert bodyenc.inflate(packed, len(body)) == body
    assert bodyenc.deflate(body[: bodyenc.MIN_BYTES - 1]) is None  # too small to bother
    assert bodyenc.deflate(os.urandom(4096)) is None  # would not get smaller


def test_the_bomb_is_valid_and_refused_at_the_bound() -> None:
    small = bomb(4 * MIB)  # the same construction, small enough to inflate whole here
    assert zlib.decompress(small) == b"\0" * (4 * MIB)
    with pytest.raises(bodyenc.BadEncoding) as refused:
        bodyenc.inflate(bomb(), 2 * MIB)  # ~1 MiB that would inflate to 1 GiB
    assert (refused.value.status, refused.value.code) == (413, "too_large")


def test_exactly_the_bound_passes_one_byte_more_does_not() -> None:
    body = bytes(range(256)) * 64
    packed = zlib.compress(body)
    assert bodyenc.inflate(packed, len(body)) == body
    with pytest.raises(bodyenc.BadEncoding) as refused:
        bodyenc.inflate(packed, len(body) - 1)
    assert refused.value.status == 413


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda z: z[:-6], "cut short"),
        (lambda z: z + b"junk", "after the end"),
        (lambda z: z[:20] + bytes([z[20] ^ 0xFF]) + z[21:], "corrupt"),
        (lambda z: gzip.compress(zlib.decompress(z)), "corrupt"),  # gzip framing, not zlib
        (lambda z: b"", "cut short"),
    ],
)
def test_damaged_streams_are_400(make: Any, why: str) -> None:
    packed = zlib.compress(b"a reasonably long body, " * 100)
    with pytest.raises(bodyenc.BadEncoding) as refused:
        bodyenc.inflate(make(packed), MIB)
    assert (refused.value.status, refused.value.code) == (400, "bad_encoding")
    assert why in refused.value.detail


def test_tokens() -> None:
    assert bodyenc.tokens(None) == frozenset()
    assert bodyenc.tokens(f"gzip;q=1.0, {TOKEN.upper()} ;q=0.5") == {"gzip", TOKEN}
    assert bodyenc.encoding_of(None) == bodyenc.encoding_of(" ") == "identity"
    assert bodyenc.encoding_of(" Gzip ") == "gzip"


# -- a real node -------------------------------------------------------------------------


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    running = await start_node(tmp_path / "data", store__author_quota_per_hour=0)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def post(
    http: aiohttp.ClientSession,
    node: RunningNode,
    route: str,
    data: bytes,
    coding: str | None = TOKEN,
    **headers: str,
) -> tuple[int, Any, Any]:
    """POST ``data`` as msgpack in ``coding``; return (status, decoded reply, headers)."""
    sent = {"Content-Type": wire.MSGPACK, **headers}
    if coding is not None:
        sent["Content-Encoding"] = coding
    payload = chunked(data) if len(data) > 65536 else data
    async with http.post(f"{node.url}/sync/v1/{route}", data=payload, headers=sent) as resp:
        raw = await resp.read()
        assert resp.content_type == wire.MSGPACK, raw[:200]
        if resp.headers.get("Content-Encoding") == TOKEN:
            raw = zlib.decompress(raw)
        return resp.status, records.unpack(raw), resp.headers


def put_body(*made: Any) -> bytes:
    return records.pack({"zone": ZONE, "records": [list(r.envelope) for r in made]})


async def test_info_lists_the_coding(node: RunningNode, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{node.url}/sync/v1/info") as resp:
        assert records.unpack(await resp.read())["enc"] == [TOKEN]


async def test_a_compressed_put_is_stored(node: RunningNode, http: aiohttp.ClientSession) -> None:
    made = [factories.make_record(text=f"compressed {i}") for i in range(20)]
    status, answer, _ = await post(http, node, "put", zlib.compress(put_body(*made)))
    assert (status, answer) == (200, {"results": ["ok"] * 20})


async def test_hostile_encoded_bodies(node: RunningNode, http: aiohttp.ClientSession) -> None:
    body = put_body(factories.make_record(text="one"))
    cases = [
        (bomb(), TOKEN, 413, "too_large"),  # ~1 MiB on the wire, 1 GiB inflated
        (zlib.compress(body)[:-3], TOKEN, 400, "bad_encoding"),  # truncated
        (zlib.compress(body) + b"\0", TOKEN, 400, "bad_encoding"),  # trailing bytes
        (gzip.compress(body), TOKEN, 400, "bad_encoding"),  # another framing under our name
        (body, TOKEN, 400, "bad_encoding"),  # not compressed at all
        (zlib.compress(b"\xc1 not msgpack"), TOKEN, 400, "bad_request"),  # inflates to junk
        (zlib.compress(b"\0" * (wire.MAX_BODY_BYTES + 1)), TOKEN, 413, "too_large"),
        (b"\0" * (wire.MAX_BODY_BYTES + 1), TOKEN, 413, "too_large"),  # too large as sent
        (gzip.compress(body), "gzip", 415, "unsupported_media_type"),  # refused unread
        (zlib.compress(body), "deflate", 415, "unsupported_media_type"),
        (zlib.compress(body), f"{TOKEN}, gzip", 415, "unsupported_media_type"),
    ]
    errors = node.node.sync.errors
    for data, coding, status, code in cases:
        before = errors[code]
        got, answer, _ = await post(http, node, "put", data, coding)
        assert (got, answer["error"]) == (status, code), (coding, len(data), answer)
        assert errors[code] == before + 1
    # Still healthy: a plain put and a compressed one are taken.
    assert (await post(http, node, "put", put_body(factories.make_record()), None))[0] == 200
    assert (await post(http, node, "put", zlib.compress(body)))[1] == {"results": ["ok"]}


async def test_the_zone_secret_is_checked_before_inflating(tmp_path: Path) -> None:
    secret = "s3cret-zone"
    node = await start_node(tmp_path / "data", sync__zone_secret=secret)
    try:
        async with aiohttp.ClientSession() as http:
            path = "/sync/v1/put"
            data = bomb()
            forged = zoneauth.sign("not-the-secret", "POST", path, data, time.time())
            status, answer, _ = await post(http, node, "put", data, TOKEN, **forged)
            assert (status, answer["error"]) == (401, "unauthorized")  # never inflated
            good = zoneauth.sign(secret, "POST", path, data, time.time())
            status, answer, _ = await post(http, node, "put", data, TOKEN, **good)
            assert (status, answer["error"]) == (413, "too_large")
    finally:
        await node.stop()


async def test_replies_are_compressed_only_when_asked(
    node: RunningNode, http: aiohttp.ClientSession
) -> None:
    made = [factories.make_record(text=f"page {i}: all stations copy") for i in range(50)]
    assert (await post(http, node, "put", put_body(*made), None))[0] == 200
    get = records.pack({"zone": ZONE, "ids": [r.id for r in made]})
    status, plain, headers = await post(http, node, "get", get, None)
    assert status == 200 and "Content-Encoding" not in headers  # an older caller: as before
    status, packed, headers = await post(http, node, "get", get, None, **{"Accept-Encoding": TOKEN})
    assert status == 200 and headers["Content-Encoding"] == TOKEN
    assert packed == plain
    query = f"zone={ZONE}&after_ts=0&after_id=&limit=100"
    url = f"{node.url}/sync/v1/range?{query}"
    async with http.get(url, headers={"Accept-Encoding": f"gzip, {TOKEN}"}) as resp:
        assert resp.headers["Content-Encoding"] == TOKEN
        page = records.unpack(zlib.decompress(await resp.read()))
    assert len(page["records"]) == 51  # the node's own announcement and the 50
    async with http.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
        assert "Content-Encoding" not in resp.headers  # gzip is not offered on sync routes
