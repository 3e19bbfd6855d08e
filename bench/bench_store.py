"""Store benchmark: ingest, export/import and history-query latency (prints a table).

    python bench/bench_store.py [--n 100000] [--big 1000000] [--single 2000]

(a) ingest: validate (records.validate with a Policy) + Store.insert, one record per
    transaction (measured on the first ``--single`` records: each commit is an fsync) and
    500 per transaction for ``--n`` records;
(b) export -> import of the ``--n``-record zone through the msgpack envelope stream;
(c) page latency (median, p99) at ``--n`` and ``--big`` records: the newest page of a
    channel, the page 10,000 records back in that channel (``before``), full-text searches
    (a frequent word, a rare one, two words the second a 3- or 4-letter prefix); then again
    after ``--newer`` messages of other words (the searched terms are frequent overall but
    absent from the newest rows), and after as many older messages of the usual words
    that arrive last (arrival order is not time order, as after a sync).

The extra records of the ``--big`` set are made fast: S is built with
``records.encode_signed`` and signed by ``SigningKey.sign`` directly (skipping the decode
check of ``records.sign``), and they are stored with ``Store.insert`` in batches of 5,000
without ``validate``: the latency part measures reads, not ingest. Never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meshchat import records
from meshchat.store.db import Store
from meshchat.store.views import MessageQuery

ZONE = "MeshChat"
CHANNELS = ["", "ops", "net", "logistics", "medical", "weather"]
KEYS = [SigningKey(bytes([i + 1]) * 32) for i in range(6)]
CALLS = ["W1AW", "K2ABC", "N0CALL", "VE3XYZ", "EOC-1", "KD9QRS"]
POLICY = records.Policy(zones=frozenset({ZONE}))
BATCH = 500
rows: list[tuple[str, str, str]] = []


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    """Pseudo-words, so FTS sees a realistic spread of frequent and rare terms."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size)]


def generate(
    n: int, start_ts: int, step_ms: int, seed: int, fast: bool, other: bool = False
) -> Iterator[tuple[bytes, bytes]]:
    """Yield n envelopes of a plausible chat mix: 90% msg, 5% react, 5% edit.

    ``other``: words no query of ``queries`` matches (each starts with a digit).
    """
    rng = random.Random(seed)
    words = vocabulary(random.Random(1))
    if other:
        words = ["9" + w for w in words]
    weights = [1 / (i + 1) for i in range(len(words))]  # Zipf-like
    recent: list[tuple[bytes, int]] = []
    for i in range(n):
        ts = start_ts + i * step_ms
        k = rng.randrange(len(KEYS))
        key, call = KEYS[k], CALLS[k]
        roll = rng.random()
        if roll < 0.05 and recent:
            kind, body = "react", {"target": rng.choice(recent)[0], "emoji": "👍"}
        elif roll < 0.10 and recent:
            target, author_k = rng.choice(recent)
            key = KEYS[author_k]
            kind, body = (
                "edit",
                {"target": target, "text": " ".join(rng.choices(words, weights, k=8))},
            )
        else:
            kind = "msg"
            body = {
                "callsign": call,
                "channel": rng.choice(CHANNELS),
                "text": " ".join(rng.choices(words, weights, k=rng.randint(4, 16))),
                "node": f"node-{k}",
            }
        if fast:
            signed = records.encode_signed(ZONE, kind, bytes(key.verify_key), ts, body)
            sig = key.sign(records.SIG_CONTEXT + records.record_id(signed)).signature
        else:
            rec = records.sign(key, ZONE, kind, ts, body)
            signed, sig = rec.signed, rec.sig
        if kind == "msg":
            recent.append((records.record_id(signed), KEYS.index(key)))
            del recent[:-200]
        yield signed, sig


async def ingest(store: Store, envs: list[tuple[bytes, bytes]], batch: int, now: int) -> float:
    """Validate and insert ``envs`` ``batch`` at a time; return records/s."""
    t0 = time.perf_counter()
    for start in range(0, len(envs), batch):
        part = [records.validate(s, g, POLICY, now) for s, g in envs[start : start + batch]]
        await store.insert(part, origin="bench", received_at_ms=now)
    return len(envs) / (time.perf_counter() - t0)


async def ingest_pipeline(
    store: Store, envs: list[tuple[bytes, bytes]], batch: int, in_flight: int = 1
) -> float:
    """Submit ``envs`` through the node's ``Ingestor`` ``batch`` at a time; return records/s.

    That is the path sync and import take: verification on the ingest threads, each
    chunk stored while the next is verified (``meshchat/ingest.py``); ``in_flight`` calls
    at once, as a bootstrap does (``sync/zonesync.py``: one page verified while the one
    before it is written).
    """
    from meshchat.clock import HybridClock
    from meshchat.ingest import Ingestor

    ingestor = Ingestor(store, POLICY, HybridClock(), 0)
    t0 = time.perf_counter()
    try:
        pending: list[asyncio.Future[list[str]]] = []
        for start in range(0, len(envs), batch):
            if len(pending) >= in_flight:
                await pending.pop(0)
            part = envs[start : start + batch]
            pending.append(asyncio.ensure_future(ingestor.submit(part, "bench")))
        await asyncio.gather(*pending)
    finally:
        await ingestor.close()
    return len(envs) / (time.perf_counter() - t0)


async def latency(fn: Callable[[], Awaitable[Any]], runs: int = 200) -> tuple[float, float]:
    """Return (median, p99) of ``fn`` in milliseconds."""
    for _ in range(5):
        await fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


async def queries(store: Store, label: str) -> None:
    """Measure the three history queries on the store as it is."""
    newest = MessageQuery(ZONE, channel="ops", limit=50)
    items = await store.items(ZONE, 0)  # every record, (ts, id) order
    ops_ids = []
    for s, g in await store.get_envelopes([i for _, i in items[-200_000:]]):
        rec = records.load_trusted(s, g)
        if rec.kind == "msg" and rec.body["channel"] == "ops":
            ops_ids.append(rec.id)
    back = ops_ids[-10_000] if len(ops_ids) >= 10_000 else ops_ids[0]
    older = MessageQuery(ZONE, channel="ops", limit=50, before=back)
    words = vocabulary(random.Random(1))
    for name, query in (
        ("newest page of a channel", newest),
        ("page 10,000 back (before)", older),
        ("search, frequent word", MessageQuery(ZONE, limit=50, q=words[20])),
        ("search, rare word", MessageQuery(ZONE, limit=50, q=words[2500])),
        ("search, two words", MessageQuery(ZONE, limit=50, q=f"{words[3]} {words[7][:3]}")),
        ("search, two words (4-letter prefix)", MessageQuery(ZONE, limit=50, q=_four(words))),
        (
            "search in a channel, two words",
            MessageQuery(ZONE, channel="ops", limit=50, q=f"{words[5]} {words[9][:3]}"),
        ),
    ):
        med, p99 = await latency(lambda q=query: store.messages(q))
        rows.append((f"{label}: {name}", f"median {med:.2f} ms", f"p99 {p99:.2f} ms"))


def _four(words: list[str]) -> str:
    """Two frequent words, the second cut to a 4-letter prefix."""
    long = [w for w in words[:40] if len(w) >= 5]
    return f"{words[2]} {long[1][:4]}"


async def bulk(store: Store, envs: Iterator[tuple[bytes, bytes]]) -> None:
    """Store envelopes 5,000 at a time without validation (read benchmarks)."""
    now = time.time_ns() // 1_000_000
    while chunk := [records.load_trusted(s, g) for s, g in _take(envs, 5000)]:
        await store.insert(chunk, origin="bulk", received_at_ms=now)


async def main(n: int, big: int, single: int, newer: int) -> None:
    """Run every part and print the table."""
    now = time.time_ns() // 1_000_000
    step = max(1, (300 * 86_400_000) // max(big, n))
    start = now - max(big, n) * step
    t0 = time.perf_counter()
    envs = list(generate(n, start, step, seed=2, fast=False))
    rows.append(
        ("generate+sign (records.sign)", f"{n / (time.perf_counter() - t0):,.0f} rec/s", "")
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "a.db")
        try:
            rate = await ingest(store, envs[:single], 1, now)
            rows.append(
                ("(a) ingest, 1 record/transaction", f"{rate:,.0f} rec/s", f"{single:,} records")
            )
            rate = await ingest(store, envs[single:], BATCH, now)
            rows.append(
                (
                    f"(a) ingest, {BATCH}/transaction",
                    f"{rate:,.0f} rec/s",
                    f"{n - single:,} records",
                )
            )
            for in_flight in (1, 2):
                with tempfile.TemporaryDirectory() as tmp2:
                    piped = await Store.open(Path(tmp2) / "p.db")
                    try:
                        rate = await ingest_pipeline(piped, envs[single:], BATCH, in_flight)
                    finally:
                        await piped.close()
                rows.append(
                    (
                        f"(a) ingest through Ingestor.submit, {BATCH}/call, {in_flight} at once",
                        f"{rate:,.0f} rec/s",
                        f"{n - single:,} records",
                    )
                )
            t0 = time.perf_counter()
            exported = [env async for env in store.export(ZONE)]
            buf = io.BytesIO()
            records.write_stream(exported, buf)
            t_export = time.perf_counter() - t0
            rows.append(
                (
                    "(b) export to stream",
                    f"{len(exported) / t_export:,.0f} rec/s",
                    f"{buf.tell() / 1e6:.1f} MB",
                )
            )
            buf.seek(0)
            other = await Store.open(Path(tmp) / "b.db")
            try:
                t0 = time.perf_counter()
                batch: list[records.Record] = []
                for s, g in records.read_stream(buf):
                    batch.append(records.validate(s, g, POLICY, now))
                    if len(batch) == BATCH:
                        await other.insert(batch, origin="import", received_at_ms=now)
                        batch = []
                await other.insert(batch, origin="import", received_at_ms=now)
                rate = len(exported) / (time.perf_counter() - t0)
                rows.append(
                    (
                        "(b) import: read+validate+insert",
                        f"{rate:,.0f} rec/s",
                        str(await other.counts()),
                    )
                )
            finally:
                await other.close()
            await queries(store, f"(c) {n:,}")
            if big > n:
                t0 = time.perf_counter()
                await bulk(store, generate(big - n, start + n * step, step, seed=3, fast=True))
                rows.append(
                    (
                        "bulk build of the big set",
                        f"{(big - n) / (time.perf_counter() - t0):,.0f} rec/s",
                        "fast-signed, no validate",
                    )
                )
                await queries(store, f"(c) {big:,}")
            if newer:
                size = max(big, n)
                late = generate(newer, start + size * step, 1, seed=4, fast=True, other=True)
                await bulk(store, late)
                await queries(store, f"(c) {size:,} + {newer:,} newer of other words")
                # Older history arriving last, as sync may store it.
                await bulk(store, generate(newer, start - newer * step, step, seed=5, fast=True))
                await queries(store, f"(c) ... + {newer:,} older arriving last")
            rows.append(
                (
                    "database file",
                    f"{(Path(tmp) / 'a.db').stat().st_size / 1e6:.0f} MB",
                    str(await store.counts()),
                )
            )
        finally:
            await store.close()
    width = max(len(r[0]) for r in rows)
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:>22}  {c}")


def _take(it: Iterator[tuple[bytes, bytes]], k: int) -> list[tuple[bytes, bytes]]:
    out = []
    for env in it:
        out.append(env)
        if len(out) == k:
            break
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--newer", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.big, args.single, args.newer))
