"""Random bodies and query strings against a real node's sync routes (docs/sync-threat-model.md).

Every answer must be a 200 or a 4xx with a decodable msgpack body, never a 5xx, and the
node must still answer its status at the end. The seeded generator mixes random bytes,
random msgpack structures and mutations of valid requests. The full run (10^5 requests)
is marked slow; a 2,000-request run stays in the default suite.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from meshchat import records
from meshchat.app import RunningNode
from meshchat.sync.negentropy import NegentropyInitiator, NegentropyStorage
from tests import factories
from tests.nodes import start_node

log = logging.getLogger(__name__)

ZONE = factories.ZONE
POST_ROUTES = ("reconcile", "get", "put", "presence")
MSGPACK = {"Content-Type": "application/msgpack"}
WORKERS = 8  # requests in flight on the one keep-alive session
SLOW_COUNT = 100_000
SLOW_LIMIT_S = 240.0
QUICK_COUNT = 2_000
QUICK_LIMIT_S = 60.0


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """Return a random msgpack-encodable value, nested at most a few levels."""
    pick = rng.randrange(12 if depth < 4 else 8)
    if pick == 0:
        return None
    if pick == 1:
        return rng.random() < 0.5
    if pick == 2:
        return rng.choice([0, 1, -1, 127, 128, 255, 65536, 2**32, 2**63 - 1, 2**64 - 1, -(2**63)])
    if pick == 3:
        return rng.randrange(-1000, 2**40)
    if pick == 4:
        return rng.random() * 1e12
    if pick == 5:
        return rng.choice(["", ZONE, "MeshChat ", "W1AW", "online", "\x00", "é" * 3, "z" * 70])
    if pick == 6:
        return rng.randbytes(rng.choice([0, 1, 31, 32, 33, 64, rng.randrange(200)]))
    if pick == 7:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(12)))
    if pick in (8, 9):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(6))]
    keys = ["zone", "neg", "ids", "records", "updates", "since", "v", "node", "digest", "x"]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randrange(6))}


class Corpus:
    """Valid requests of every POST route, to mutate."""

    def __init__(self) -> None:
        made = [factories.make_record(text=f"fuzz {i}") for i in range(6)]
        storage = NegentropyStorage.from_items([(r.ts, r.id) for r in made])
        now = int(time.time() * 1000)
        self.valid: dict[str, list[dict[str, Any]]] = {
            "reconcile": [
                {"zone": ZONE, "neg": NegentropyInitiator(storage, 4096).initiate()},
                {"zone": ZONE, "neg": b"\x61", "since": 0},
            ],
            "get": [{"zone": ZONE, "ids": [r.id for r in made]}],
            "put": [{"zone": ZONE, "records": [list(r.envelope) for r in made[:3]]}],
            "presence": [
                {
                    "zone": ZONE,
                    "updates": [{"node": "far", "v": now, "users": [["W1AW", "online", now]]}],
                    "digest": bytes(8),
                }
            ],
        }

    def mutate(self, rng: random.Random, route: str) -> bytes:
        """Return a valid request of ``route`` changed in one or a few ways."""
        body = dict(rng.choice(self.valid[route]))
        how = rng.randrange(3)
        if how == 0:  # replace, drop or add a field
            key = rng.choice([*body, "extra"])
            if rng.random() < 0.3:
                body.pop(key, None)
            else:
                body[key] = random_value(rng)
            return records.pack(body)
        data = bytearray(records.pack(body))
        if how == 1:  # flip, set or insert bytes
            for _ in range(rng.randrange(1, 6)):
                pos = rng.randrange(len(data))
                op = rng.randrange(3)
                if op == 0:
                    data[pos] ^= 1 << rng.randrange(8)
                elif op == 1:
                    data[pos] = rng.choice([0x00, 0x7F, 0x80, 0xC1, 0xDC, 0xDD, 0xDF, 0xFF])
                else:
                    data[pos:pos] = rng.randbytes(rng.randrange(1, 5))
            return bytes(data)
        cut = rng.randrange(len(data))  # truncate or duplicate a slice
        return bytes(data[:cut]) if rng.random() < 0.5 else bytes(data + data[cut:])


def random_query(rng: random.Random) -> str:
    """Return a random (percent-encoded) query string for ``/sync/v1/range``."""
    values = [
        lambda: ZONE,
        lambda: str(rng.randrange(-5, 2**65)),
        lambda: str(rng.choice([0, 1, 500, 1000, 1001, 2**63 - 1, 2**63, 2**64])),
        lambda: rng.randbytes(rng.choice([31, 32, 33])).hex(),
        lambda: rng.randbytes(rng.randrange(8)).decode("latin-1"),
        lambda: "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(6))),
        lambda: "9" * rng.randrange(1, 60),
        lambda: "",
    ]
    names = ["zone", "after_ts", "after_id", "limit", "zone", "bogus", ""]
    parts = []
    for _ in range(rng.randrange(6)):
        name = rng.choice(names)
        value = rng.choice(values)()
        parts.append(f"{quote(name, safe='')}={quote(value, safe='')}")
    return "&".join(parts)


def requests(seed: int, corpus: Corpus) -> Iterator[tuple[str, str, bytes | None]]:
    """Yield (method, path-and-query, body) forever from a seeded generator."""
    rng = random.Random(seed)
    while True:
        kind = rng.randrange(10)
        if kind == 0:
            yield "GET", f"/sync/v1/range?{random_query(rng)}", None
            continue
        route = rng.choice(POST_ROUTES)
        if kind <= 2:
            body = rng.randbytes(rng.randrange(0, 300))
        elif kind <= 5:
            body = records.pack(random_value(rng))
        else:
            body = corpus.mutate(rng, route)
        yield "POST", f"/sync/v1/{route}", body


async def fuzz(node: RunningNode, seed: int, count: int, limit_s: float) -> Counter[int]:
    """Send up to ``count`` requests within ``limit_s``; check each answer; return statuses."""
    stream = requests(seed, Corpus())
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + limit_s
    sent = 0
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=WORKERS))
    try:

        async def worker() -> None:
            nonlocal sent
            while sent < count and time.monotonic() < deadline:
                sent += 1
                method, path, body = next(stream)
                url = URL(node.url + path, encoded=True)
                headers = MSGPACK if body is not None else None
                async with http.request(method, url, data=body, headers=headers) as resp:
                    raw = await resp.read()
                    status = resp.status
                    ctype = resp.content_type
                where = f"{method} {path[:80]} {body[:60] if body else b''!r}"
                assert status == 200 or 400 <= status < 500, f"{status} for {where}"
                assert ctype == "application/msgpack", f"{ctype} for {where}"
                answer = records.unpack(raw, 100_000)
                assert isinstance(answer, dict), where
                if status != 200:
                    assert set(answer) == {"error", "detail"}, where
                statuses[status] += 1

        await asyncio.gather(*(worker() for _ in range(WORKERS)))
        async with http.get(node.url + "/api/v1/status") as resp:
            assert resp.status == 200
    finally:
        await http.close()
    return statuses


async def run_fuzz(tmp_path: Path, seed: int, count: int, limit_s: float) -> None:
    """Fuzz a fresh node and report how it went."""
    running = await start_node(tmp_path / "data")
    try:
        started = time.monotonic()
        statuses = await fuzz(running, seed, count, limit_s)
        took = time.monotonic() - started
        done = sum(statuses.values())
        log.info("fuzz: %d requests in %.1f s, statuses %s", done, took, dict(statuses))
        assert done == count or took >= limit_s, (done, took)
        assert statuses[200] > 0 and sum(statuses.values()) > statuses[200]
    finally:
        await running.stop()


async def test_quick_fuzz(tmp_path: Path) -> None:
    await run_fuzz(tmp_path, seed=1, count=QUICK_COUNT, limit_s=QUICK_LIMIT_S)


@pytest.mark.slow
@pytest.mark.timeout(SLOW_LIMIT_S + 60)
async def test_fuzz_a_hundred_thousand_requests(tmp_path: Path) -> None:
    await run_fuzz(tmp_path, seed=20240601, count=SLOW_COUNT, limit_s=SLOW_LIMIT_S)
