"""Hostile input on every sync route of a real node (DESIGN §5.2, docs/sync-threat-model.md).

A peer's fault must cost it a counted 4xx with a msgpack ``{error, detail}`` (or, for a
record inside a well-formed put, a counted ``reject:<reason>``), and the node must still
answer its status and accept a valid put afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgpack
import pytest

from meshchat import presencedelta, records
from meshchat.app import RunningNode
from meshchat.sync import wire, zoneauth
from meshchat.sync.server import SyncServer
from tests import factories
from tests.mesh import eventually
from tests.nodes import start_node

ZONE = factories.ZONE
MSGPACK = {"Content-Type": "application/msgpack"}
POST_ROUTES = ("reconcile", "get", "put", "presence")
GET_ROUTES = ("info", "range")
# A valid body for each POST route, so that each hostile variant changes one thing.
VALID = {
    "reconcile": {"zone": ZONE, "neg": b"\x61"},
    "get": {"zone": ZONE, "ids": []},
    "put": {"zone": ZONE, "records": []},
    "presence": {"zone": ZONE, "updates": []},
}


def sync_server(running: RunningNode) -> SyncServer:
    """Return the SyncServer behind a running node (its sub-application's handlers)."""
    return running.node.sync


async def chunked(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    """Yield ``data`` in pieces (sent with chunked transfer encoding, no Content-Length)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Peer:
    """A hostile peer: raw requests over one keep-alive session, replies decoded."""

    def __init__(self, node: RunningNode, http: aiohttp.ClientSession) -> None:
        self.node = node
        self.http = http

    async def send(
        self, method: str, path: str, data: bytes | None = None, headers: Any = None
    ) -> tuple[int, Any]:
        """Send one request; return (status, decoded msgpack body) and insist it decodes."""
        # Large bodies go chunked: aiohttp warns (an error here) about large raw bytes, and
        # a declared length the server refuses leaves it lingering on the unsent rest.
        payload = chunked(data) if isinstance(data, bytes) and len(data) > 65536 else data
        async with self.http.request(
            method, self.node.url + path, data=payload, headers=headers
        ) as resp:
            raw = await resp.read()
            assert resp.content_type == "application/msgpack", (resp.status, raw[:200])
            return resp.status, records.unpack(raw)

    async def post(self, route: str, data: bytes, headers: Any = None) -> tuple[int, Any]:
        """POST raw bytes to a sync route as msgpack (unless ``headers`` say otherwise)."""
        return await self.send(
            "POST", f"/sync/v1/{route}", data, MSGPACK if headers is None else headers
        )

    async def put(self, *envelopes: tuple[bytes, bytes]) -> list[str]:
        """Put envelopes with a well-formed request; return the per-record results."""
        body = {"zone": ZONE, "records": [list(e) for e in envelopes]}
        status, answer = await self.post("put", records.pack(body))
        assert status == 200, answer
        results: list[str] = answer["results"]
        return results


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    """A running node on 127.0.0.1 with an ephemeral port."""
    running = await start_node(tmp_path / "data", store__author_quota_per_hour=50)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def peer(node: RunningNode) -> AsyncIterator[Peer]:
    """A hostile peer of ``node`` (at most 32 connections: the node admits 64 an address)."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32))
    try:
        yield Peer(node, http)
    finally:
        await http.close()


async def still_healthy(peer: Peer) -> None:
    """The node answers its status page and takes a valid put."""
    async with peer.http.get(peer.node.url + "/api/v1/status") as resp:
        assert resp.status == 200
    assert await peer.put(factories.make_record().envelope) == ["ok"]


def assert_error(status: int, answer: Any, expected: int | tuple[int, ...] = 400) -> None:
    """A 4xx with a msgpack ``{error, detail}`` map."""
    allowed = (expected,) if isinstance(expected, int) else expected
    assert status in allowed, (status, answer)
    assert isinstance(answer, dict), answer
    assert set(answer) == {"error", "detail"}, answer
    assert isinstance(answer["error"], str) and answer["error"]
    assert isinstance(answer["detail"], str)


def hostile_bodies(route: str) -> list[tuple[str, bytes]]:
    """Malformed bodies any POST route must refuse with a 400."""
    valid = records.pack(VALID[route])
    other_keys = {k: v for k, v in VALID[route].items() if k != "zone"}
    out = [
        ("empty", b""),
        ("truncated", valid[:-1]),
        ("truncated header", b"\xdf\x00\x00"),
        ("trailing bytes", valid + b"\xc0"),
        ("not msgpack", b"\xc1\xc1\xc1"),
        ("array body", records.pack([VALID[route]])),
        ("str body", records.pack("hello")),
        ("int body", records.pack(7)),
        ("nil body", records.pack(None)),
        ("unknown key", records.pack({**VALID[route], "extra": 1})),
        ("int map key", b"\x81\x01\x01"),
        ("missing zone", records.pack(other_keys)),
        ("zone int", records.pack({**VALID[route], "zone": 5})),
        ("zone bin", records.pack({**VALID[route], "zone": b"MeshChat"})),
        ("zone empty", records.pack({**VALID[route], "zone": ""})),
        ("zone control chars", records.pack({**VALID[route], "zone": "Mesh\x00Chat"})),
        ("zone too long", records.pack({**VALID[route], "zone": "z" * 65})),
        ("deep nesting", b"\x91" * 100_000 + b"\xc0"),
        ("deep nesting in a field", records.pack(VALID[route])[:-1] + b"\x91" * 5000 + b"\xc0"),
        ("huge array, short body", b"\xdd\xff\xff\xff\xff\x00"),
        ("huge map, short body", b"\xdf\xff\xff\xff\xff\x00"),
        ("huge bin, short body", b"\xc6\xff\xff\xff\xff\x00"),
        ("huge str, short body", b"\xdb\xff\xff\xff\xff\x00"),
        ("ext type", b"\xd6\xff\x00\x00\x00\x00"),
        ("float zone", records.pack({**VALID[route], "zone": 1.5})),
    ]
    field_values: dict[str, list[Any]] = {
        "reconcile": [None, "neg", 1, [], b"", b"\x61" * (wire.MAX_NEG_BYTES + 1)],
        "get": [None, b"", "ids", {}, [b"short"], [1], [None], [bytes(33)]],
        "put": [None, b"", "r", {}, [b"S"], [[b"S"]], [[b"S", b"s", b"x"]], [["S", b"s"]], [1]],
        "presence": [None, b"", {}, [1], [{}], [{"node": "far"}], [{"node": "far", "v": 0}]],
    }
    name = {"reconcile": "neg", "get": "ids", "put": "records", "presence": "updates"}[route]
    for value in field_values[route]:
        out.append((f"{name}={value!r:.30}", records.pack({**VALID[route], name: value})))
    if route == "reconcile":
        for since in (-1, "1", 1.0, True, b"\x01", [1]):
            body = {**VALID[route], "since": since}
            out.append((f"since={since!r}", msgpack.packb(body, use_bin_type=True)))
    return out


@pytest.mark.parametrize("route", POST_ROUTES)
async def test_malformed_bodies_are_counted_400s(route: str, node: RunningNode, peer: Peer) -> None:
    server = sync_server(node)
    cases = hostile_bodies(route)
    before = sum(server.errors.values())
    for label, body in cases:
        status, answer = await peer.post(route, body)
        assert_error(status, answer, 400)
        assert answer["error"] == "bad_request", label
    assert sum(server.errors.values()) - before == len(cases)
    await still_healthy(peer)


@pytest.mark.parametrize("route", POST_ROUTES)
async def test_wrong_content_type_is_415(route: str, node: RunningNode, peer: Peer) -> None:
    body = records.pack(VALID[route])
    for headers in (
        {"Content-Type": "application/json"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {},
        {"Content-Type": "application/msgpack", "Content-Encoding": "gzip"},
    ):
        # A real gzip body: aiohttp 3.8 inflates in its parser and drops the connection
        # on a body that is not gzip, before any handler could answer.
        sent = gzip.compress(body) if "Content-Encoding" in headers else body
        status, answer = await peer.post(route, sent, headers)
        assert_error(status, answer, 415)
    assert sync_server(node).errors["unsupported_media_type"] == 5
    await still_healthy(peer)


@pytest.mark.parametrize("route", POST_ROUTES)
async def test_oversized_body_is_413(route: str, node: RunningNode, peer: Peer) -> None:
    # Chunked, so no Content-Length to refuse up front: the read itself is capped.
    status, answer = await peer.post(route, b"\x00" * (wire.MAX_BODY_BYTES + 1))
    assert_error(status, answer, 413)
    # Content-Length over the cap: refused before the body is sent (the rest follows
    # only so that aiohttp's lingering drain of the unread body ends at once).
    head = _head(route, wire.MAX_BODY_BYTES + 1)
    rest = b"\x00" * wire.MAX_BODY_BYTES
    ((status, ctype, raw),) = await _raw_exchange(node.url, [head + b"\x00", rest], 1)
    assert ctype.startswith(b"application/msgpack")
    assert_error(status, records.unpack(raw), 413)
    assert sync_server(node).errors["too_large"] == 2
    await still_healthy(peer)


@pytest.mark.parametrize("route", POST_ROUTES)
async def test_unknown_zone_is_404(route: str, node: RunningNode, peer: Peer) -> None:
    status, answer = await peer.post(route, records.pack({**VALID[route], "zone": "Elsewhere"}))
    assert_error(status, answer, 404)
    assert answer["error"] == "unknown_zone"


@pytest.mark.parametrize("route", GET_ROUTES)
async def test_get_routes_refuse_bodies_and_oversize(
    route: str, node: RunningNode, peer: Peer
) -> None:
    path = f"/sync/v1/{route}" + ("?zone=MeshChat" if route == "range" else "")
    for data, headers, expected in (
        (b"\x82\xa4zone", MSGPACK, 400),  # truncated msgpack
        (records.pack({"zone": ZONE}), {"Content-Type": "text/plain"}, 400),
        (b"\x91" * 10_000, MSGPACK, 400),
        (b"\x00" * (wire.MAX_BODY_BYTES + 1), MSGPACK, 413),
    ):
        status, answer = await peer.send("GET", path, data, headers)
        assert_error(status, answer, expected)
    await still_healthy(peer)


async def test_info_shape_and_no_parameters(node: RunningNode, peer: Peer) -> None:
    status, info = await peer.send("GET", "/sync/v1/info")
    assert status == 200
    assert info == {
        "node_id": node.node.key_hex,
        "name": "test-node",
        "version": info["version"],
        "zones": [{"name": ZONE, "count": 1, "horizon_ms": 365 * 86_400_000}],
        "protocols": [1],
        "enc": ["mc-zlib"],  # the sync body codings taken and sent (sync/bodyenc.py)
        "nodes": [node.node.key_hex],  # the node keys trusted here (docs/decisions.md)
    }
    assert isinstance(info["version"], str)
    status, answer = await peer.send("GET", "/sync/v1/info?zone=x")
    assert_error(status, answer, 400)


@pytest.mark.parametrize(
    "query",
    [
        "",  # no zone
        "zone=Elsewhere",
        "zone=MeshChat&after_id=zz",
        "zone=MeshChat&after_id=" + "g" * 64,
        "zone=MeshChat&after_id=" + "00" * 31,
        "zone=MeshChat&after_id=" + "00" * 33,
        "zone=MeshChat&after_id=" + "0" * 5000,
        "zone=MeshChat&after_id=%C3%A9%C3%A9",
        "zone=MeshChat&limit=0",
        "zone=MeshChat&limit=1001",
        "zone=MeshChat&limit=" + "9" * 5000,
        "zone=MeshChat&limit=-1",
        "zone=MeshChat&limit=1.5",
        "zone=MeshChat&limit=%C2%B2",
        "zone=MeshChat&limit=",
        "zone=MeshChat&after_ts=-1",
        "zone=MeshChat&after_ts=%C2%B2",
        "zone=MeshChat&after_ts=18446744073709551615",
        "zone=MeshChat&after_ts=9223372036854775808",
        "zone=MeshChat&after_ts=" + "9" * 5000,
        "zone=MeshChat&after_ts=0x10",
        "zone=MeshChat&bogus=1",
        "zone=MeshChat&zone=Other",
        "zone=MeshChat&limit=5&limit=6",
        "zone=%FF%FE",
    ],
)
async def test_bad_range_queries_are_4xx(query: str, node: RunningNode, peer: Peer) -> None:
    status, answer = await peer.send("GET", f"/sync/v1/range?{query}")
    assert_error(status, answer, (400, 404))
    assert sum(sync_server(node).errors.values()) == 1


async def test_range_pages_in_order(node: RunningNode, peer: Peer) -> None:
    made = [factories.make_record(text=f"r{i}") for i in range(5)]
    assert await peer.put(*(r.envelope for r in made)) == ["ok"] * 5
    status, page = await peer.send("GET", "/sync/v1/range?zone=MeshChat&limit=3")
    assert status == 200 and len(page["records"]) == 3 and page["done"] is False
    last = records.load_trusted(*page["records"][-1])
    query = f"zone=MeshChat&limit=1000&after_ts={last.ts}&after_id={last.id_hex}"
    status, rest = await peer.send("GET", f"/sync/v1/range?{query}")
    assert status == 200 and rest["done"] is True
    got = [records.load_trusted(*e).id for e in page["records"] + rest["records"]]
    assert sorted(got) == sorted([r.id for r in made] + [got[0]])  # + the node record
    status, top = await peer.send("GET", f"/sync/v1/range?zone=MeshChat&after_ts={2**63 - 1}")
    assert status == 200 and top == {"records": [], "done": True}


@pytest.mark.parametrize(
    "neg",
    [
        b"\x5f",  # version byte below 0x60
        b"\x70",  # above 0x6F
        b"\xff\x00\x00",
        b"\x00",
        b"\x61\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # varint over 64 bits
        b"\x61\x00\x00\x07",  # unknown mode
        b"\x61\x00\x00\x01",  # fingerprint cut short
        b"\x61\x00\x00\x02\xff\xff\xff\xff\x0f",  # IdList of 2^32 ids, no bytes
        b"\x61\x00\x21" + bytes(33) + b"\x00",  # bound prefix over 32 bytes
        b"\x61\x00",  # ends inside a bound
        b"\x61\x80",  # ends inside a varint
        b"\x61" + b"\x01\x00\x05" * 1000,
    ],
)
async def test_garbage_negentropy_is_400(neg: bytes, node: RunningNode, peer: Peer) -> None:
    status, answer = await peer.post("reconcile", records.pack({"zone": ZONE, "neg": neg}))
    assert_error(status, answer, 400)
    assert sync_server(node).errors["bad_request"] == 1


async def test_other_v1_family_version_gets_the_v1_byte(peer: Peer) -> None:
    # §12: a responder answers an unknown version in 0x60-0x6F with its own version byte.
    status, answer = await peer.post("reconcile", records.pack({"zone": ZONE, "neg": b"\x62"}))
    assert status == 200 and answer["neg"] == b"\x61"
    assert set(answer) <= {"neg", "since"}  # since: where our history starts (none asked)


async def test_random_negentropy_bytes_never_crash(node: RunningNode, peer: Peer) -> None:
    import random

    rng = random.Random(7)
    await peer.put(*(factories.make_record(text=f"n{i}").envelope for i in range(40)))
    for _ in range(300):
        neg = b"\x61" + rng.randbytes(rng.randrange(1, 200))
        status, answer = await peer.post("reconcile", records.pack({"zone": ZONE, "neg": neg}))
        if status == 200:
            assert set(answer) == {"neg"} and answer["neg"][:1] == b"\x61"
        else:
            assert_error(status, answer, 400)
    await still_healthy(peer)


async def test_ten_thousand_ids_in_one_get(peer: Peer) -> None:
    body = records.pack({"zone": ZONE, "ids": [bytes(32)] * 10_000})
    status, answer = await peer.post("get", body)
    assert_error(status, answer, 400)
    body = records.pack({"zone": ZONE, "ids": [bytes(32)] * (wire.MAX_GET_IDS + 1)})
    status, answer = await peer.post("get", body)
    assert_error(status, answer, 400)
    body = records.pack({"zone": ZONE, "ids": [bytes(32)] * wire.MAX_GET_IDS})
    status, answer = await peer.post("get", body)
    assert status == 200 and answer == {"records": [], "more": []}
    await still_healthy(peer)


async def test_get_reply_stops_at_64_kib(peer: Peer) -> None:
    made = [factories.make_record(text=f"{i:02d}" + "x" * 20_000) for i in range(8)]
    assert await peer.put(*(r.envelope for r in made)) == ["ok"] * 8
    ids = [r.id for r in made]
    status, answer = await peer.post("get", records.pack({"zone": ZONE, "ids": ids}))
    assert status == 200
    size = sum(len(s) + len(sig) for s, sig in answer["records"])
    assert 0 < size <= wire.GET_REPLY_BYTES
    assert len(answer["records"]) == 3 and len(answer["more"]) == 5
    returned = [records.record_id(s) for s, _ in answer["records"]]
    assert returned + answer["more"] == ids  # in the asked order, nothing lost
    status, rest = await peer.post("get", records.pack({"zone": ZONE, "ids": answer["more"]}))
    assert status == 200 and len(rest["records"]) == 3


async def test_get_of_one_record_over_the_cap_still_returns_it(peer: Peer) -> None:
    # A single record is always sent, so a get can never stall on one large record.
    big = factories.make_record(text="y" * 30_000)
    assert await peer.put(big.envelope) == ["ok"]
    ids = [big.id, factories.make_record(text="z" * 30_000).id]  # the second is unknown
    status, answer = await peer.post("get", records.pack({"zone": ZONE, "ids": ids}))
    assert status == 200 and answer == {"records": [list(big.envelope)], "more": []}


def _resign(signed: bytes) -> tuple[bytes, bytes]:
    key = factories.node_key()
    return signed, key.sign(records.SIG_CONTEXT + records.record_id(signed)).signature


async def test_bad_record_contents_are_counted_rejects(node: RunningNode, peer: Peer) -> None:
    good = factories.make_record()
    future = factories.make_record(ts=int(time.time() * 1000) + 3_600_000)
    ancient = factories.make_record(ts=factories.FIXED_TS - 400 * 86_400_000)
    key = factories.node_key()
    # A record for a zone not served here, correctly signed.
    foreign = records.sign(key, "Elsewhere", "msg", good.ts, factories.default_body("msg"))
    # Non-canonical: the version packed as a uint8 although it fits a fixint, then signed.
    assert good.signed[:2] == b"\x96\x01"
    loose = b"\x96\xcc\x01" + good.signed[2:]
    assert msgpack.unpackb(loose, raw=False) == msgpack.unpackb(good.signed, raw=False)
    unsorted = msgpack.packb(
        [
            1,
            ZONE,
            "msg",
            good.author,
            good.ts,
            {"text": "b", "callsign": "W1AW", "channel": "", "node": "n"},
        ],
        use_bin_type=True,
    )
    bad_sig = bytearray(good.sig)
    bad_sig[0] ^= 1
    cases: list[tuple[tuple[bytes, bytes], str]] = [
        ((good.signed, bytes(bad_sig)), "signature"),
        ((good.signed, good.sig[:10]), "decode"),
        (future.envelope, "future"),
        (ancient.envelope, "too_old"),
        (foreign.envelope, "zone"),
        (_resign(loose), "non_canonical"),
        (_resign(unsorted), "non_canonical"),
        ((b"\xc1", bytes(64)), "decode"),
        ((b"", bytes(64)), "decode"),
        ((b"\x91" * 3000 + b"\xc0", bytes(64)), "decode"),
        ((records.encode_signed(ZONE, "nope", good.author, good.ts, {}), bytes(64)), "kind"),
        ((records.encode_signed(ZONE, "msg", good.author, good.ts, {"x": 1}), bytes(64)), "schema"),
        ((b"\x00" * (records.DEFAULT_MAX_RECORD_BYTES + 1), bytes(64)), "too_large"),
    ]
    results = await peer.put(*(env for env, _ in cases))
    assert results == [f"reject:{reason}" for _, reason in cases]
    rejects = node.node.ingestor.rejects
    for _, reason in cases:
        assert rejects[reason] >= 1
    async with peer.http.get(node.url + "/api/v1/status") as resp:
        shown = (await resp.json())["rejects"]
    assert shown == dict(rejects)
    await still_healthy(peer)


async def test_per_author_quota_caps_one_flooding_key(node: RunningNode, peer: Peer) -> None:
    key = factories.user_key()
    flood = [factories.make_record(key=key, text=f"f{i}").envelope for i in range(60)]
    results = await peer.put(*flood)
    assert results.count("ok") == 50
    assert results[50:] == ["reject:quota"] * 10
    assert node.node.ingestor.rejects["quota"] == 10
    await still_healthy(peer)  # another author (the node key) is not affected


async def test_put_of_too_many_records_is_400(peer: Peer) -> None:
    envelope = list(factories.make_record().envelope)
    body = records.pack({"zone": ZONE, "records": [envelope] * (wire.MAX_PUT_RECORDS + 1)})
    status, answer = await peer.post("put", body)
    assert_error(status, answer, 400)


def _update(node: str, version: int, users: list[list[Any]], prev: int | None = None) -> Any:
    body: dict[str, Any] = {"node": node, "v": version, "users": users}
    if prev is not None:
        body["prev"] = prev
    return body


async def test_hostile_presence(node: RunningNode, peer: Peer) -> None:
    now = int(time.time() * 1000)
    user = ["W1AW", "online", now]
    for bad in (
        _update("far", now, [["w1aw", "online", now]]),
        _update("far", now, [["W1AW\n", "online", now]]),
        _update("", now, [user]),
        _update("far", now, [["W1AW", "invisible", now]]),
        _update("far", now, [["W1AW", ["online"], now]]),
        _update("far", now, [["W1AW", "online", -1]]),
        _update("far", now, [["W1AW", "online", "1"]]),
        _update("far", now, [["W1AW", "online"]]),
        _update("far", 0, [user]),
        _update("far", now, [user], prev=now),
        {**_update("far", now, [user]), "extra": 1},
        {"v": now, "users": [user]},
    ):
        status, answer = await peer.post(
            "presence", msgpack.packb({"zone": ZONE, "updates": [bad]}, use_bin_type=True)
        )
        assert_error(status, answer, 400)
    many = [[f"K{i}ABC", "online", now] for i in range(wire.MAX_PRESENCE + 1)]
    body = {"zone": ZONE, "updates": [_update("far", now, many)]}
    status, answer = await peer.post("presence", records.pack(body))
    assert_error(status, answer, 400)
    status, answer = await peer.post("presence", records.pack({**body, "digest": b"short"}))
    assert_error(status, answer, 400)
    # A version far ahead of our clock is not taken: it would block the origin's own.
    body = {"zone": ZONE, "updates": [_update("far", 2**62, [user])]}
    status, answer = await peer.post("presence", records.pack(body))
    assert status == 200
    assert node.node.presence.remote(ZONE) == []
    # Our own node's users are ours to say.
    body = {"zone": ZONE, "updates": [_update(node.node.config.node.name, now, [user])]}
    assert (await peer.post("presence", records.pack(body)))[0] == 200
    assert node.node.presence.remote(ZONE) == []
    # A change that follows a version we never saw asks for the whole list.
    body = {"zone": ZONE, "updates": [_update("far", now, [user], prev=now - 5)]}
    status, answer = await peer.post("presence", records.pack(body))
    assert status == 200 and answer["want"] == ["far"]
    await still_healthy(peer)


async def test_presence_table_stays_capped(node: RunningNode, peer: Peer) -> None:
    now = int(time.time() * 1000)
    for batch in range(3):
        updates = [
            _update(
                f"far{batch}x{k}", now, [[f"K{batch}X{k}Y{i}", "online", now] for i in range(100)]
            )
            for k in range(10)
        ]
        status, _ = await peer.post("presence", records.pack({"zone": ZONE, "updates": updates}))
        assert status == 200
    # One source holds at most half the table (meshchat/presencedelta.py).
    assert len(node.node.presence.remote(ZONE)) == presencedelta.MAX_PER_SOURCE


async def test_a_presence_flood_evicts_nobody_else_and_ghosts_expire(
    node: RunningNode, peer: Peer
) -> None:
    presence = node.node.presence
    now = int(time.time() * 1000)
    real = presencedelta.Update("far", now, None, (("W1AW", "online", now),))
    presence.take(ZONE, [real], "10.0.0.9")  # heard from another peer
    flood = [
        _update(f"ghost{k}", now + 59_000, [[f"K{k}G{i}", "online", now] for i in range(100)])
        for k in range(10)
    ]
    for _ in range(3):
        status, _ = await peer.post("presence", records.pack({"zone": ZONE, "updates": flood}))
        assert status == 200
    remote = presence.remote(ZONE)
    assert ("W1AW", "far") in {(u.callsign, u.node) for u in remote}
    assert all(u.last_seen <= int(time.time() * 1000) for u in remote)  # heard now, not ahead
    # Nobody repeats the ghosts' versions: they are gone one TTL later, like any origin.
    table = presence._remote[ZONE]
    table.expire(now + presence.ttl_ms + 1000)
    assert not [n for n in table.origins if n.startswith("ghost")]


async def test_unknown_route_and_method_answer_in_msgpack(peer: Peer) -> None:
    status, answer = await peer.send("GET", "/sync/v1/nope")
    assert_error(status, answer, 404)
    status, answer = await peer.send("PUT", "/sync/v1/get", b"", MSGPACK)
    assert_error(status, answer, 405)
    status, answer = await peer.send("GET", "/sync/v1/put")
    assert_error(status, answer, 405)


async def _raw_exchange(
    url: str, parts: list[bytes], replies: int
) -> list[tuple[int, bytes, bytes]]:
    """Write ``parts`` in turn on one connection, reading a reply after each until ``replies``."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    out: list[tuple[int, bytes, bytes]] = []
    try:
        for part in parts:
            try:
                writer.write(part)
                await writer.drain()
            except ConnectionError:
                break
            if len(out) >= replies:
                continue
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            except (asyncio.IncompleteReadError, ConnectionError):
                break  # the server closed the connection
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            ctype = headers.get("content-type", "").encode()
            out.append((int(lines[0].split()[1]), ctype, body))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return out


def _head(route: str, length: int) -> bytes:
    return (
        f"POST /sync/v1/{route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("route", POST_ROUTES)
async def test_lying_content_length(route: str, node: RunningNode, peer: Peer) -> None:
    body = records.pack(VALID[route])
    # Declares fewer bytes than it sends: the body is cut, and the rest is not a request.
    parts = [_head(route, 3) + body[:3], body[3:] + b"\r\n\r\n"]
    replies = await _raw_exchange(node.url, parts, 2)
    status, _, raw = replies[0]
    assert_error(status, records.unpack(raw), 400)
    assert all(400 <= s < 500 for s, _, _ in replies[1:])  # aiohttp's framing error, if any
    await still_healthy(peer)


@pytest.mark.parametrize("route", POST_ROUTES)
async def test_declared_length_then_hang_up(route: str, node: RunningNode, peer: Peer) -> None:
    # Promises 1000 bytes, sends 10, hangs up: the read fails, nothing is left behind.
    host, port = node.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(_head(route, 1000) + b"\x82" * 10)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    del reader
    server = sync_server(node)

    async def counted() -> bool:
        return server.errors["incomplete_body"] == 1

    await eventually(counted, within=5, what="the hang-up counted")
    await still_healthy(peer)


async def test_zone_secret_guards_every_route(tmp_path: Path) -> None:
    secret = "shared by the zone"
    running = await start_node(tmp_path / "data", sync__zone_secret=secret)
    http = aiohttp.ClientSession()
    try:
        peer = Peer(running, http)
        server = sync_server(running)
        now = time.time()
        for route in (*POST_ROUTES, "info", "range"):
            method = "POST" if route in POST_ROUTES else "GET"
            path = f"/sync/v1/{route}" + ("?zone=MeshChat" if route == "range" else "")
            data = records.pack(VALID[route]) if method == "POST" else b""
            good = zoneauth.sign(secret, method, path, data, now)
            variants: list[dict[str, str]] = [
                {},
                zoneauth.sign("wrong secret", method, path, data, now),
                zoneauth.sign(secret, method, path, data + b"x", now),  # another body
                zoneauth.sign(secret, method, path + "x", data, now),  # another path
                zoneauth.sign(secret, method, path, data, now - 600),  # stale
                {**good, zoneauth.TIME_HEADER: "\u00b2"},
                {**good, zoneauth.TIME_HEADER: "9" * 5000},
                {**good, zoneauth.TIME_HEADER: "-1"},
                {**good, zoneauth.AUTH_HEADER: "\u00e9" * 64},
                {**good, zoneauth.AUTH_HEADER: ""},
            ]
            for headers in variants:
                sent = {**MSGPACK, **headers} if method == "POST" else headers
                status, answer = await peer.send(method, path, data or None, sent)
                assert_error(status, answer, 401)
            sent = {**MSGPACK, **good} if method == "POST" else good
            status, answer = await peer.send(method, path, data or None, sent)
            assert status == 200, answer
        assert server.errors["unauthorized"] == 60
    finally:
        await http.close()
        await running.stop()


async def test_node_survives_everything_at_once(node: RunningNode, peer: Peer) -> None:
    """Many hostile requests in flight together do not wedge the node."""
    bodies = [body for route in POST_ROUTES for _, body in hostile_bodies(route)]

    async def one(i: int, body: bytes) -> int:
        status, _ = await peer.post(POST_ROUTES[i % 4], body)
        return status

    statuses = await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    assert all(400 <= s < 500 for s in statuses)
    await still_healthy(peer)
