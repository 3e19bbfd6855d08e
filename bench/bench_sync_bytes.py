"""Bytes on the wire and round trips of one sync session, against the information floor.

Run as ``python bench/bench_sync_bytes.py [--quick] [--out bench/out]``. It prints, never
asserts. One session is modelled as meshchat runs it over HTTP (DESIGN §5.2), without
sockets: every body is built with ``records.pack`` and measured.

- ``reconcile``: ``{zone, neg, since}`` -> ``{neg}``, frame limit 16 KiB on both sides,
  until the initiator has nothing more to send (the server is stateless).
- ``get`` what the client needs: up to 1024 ids a request; a reply carries records until
  64 KiB of S + sig and names the rest in ``more``, which the client asks for again.
- ``put`` what the client has: up to 256 records or 1 MiB of S + sig a request; the reply
  is one ``"ok"`` a record.
- Ids are fetched and pushed in sorted order and the cuts are counted as
  ``meshchat/sync/scheduler.py`` and ``server.py`` do.
- Every request also pays ``HTTP_REQUEST_HEADERS`` and every response
  ``HTTP_RESPONSE_HEADERS`` (keep-alive, so no connection set-up); totals are given both
  with and without them.
- Calls run one after another: reconcile to the end, then get, then put.

The larger side (the server) holds n items; d differences are split half each way, the
client lacking the odd one (for d = 1 the client lacks one record). Only the d differing
records are real signed ``msg`` records (a few keys, texts of 20-200 characters); the
common items are random 32-byte ids, because their bytes never travel: only their ids
pass through Negentropy. Timestamps are milliseconds 1-5 s apart, ending at a fixed
"now" (``NOW_MS``).

Floor (information-theoretic, per session): the bytes of the d missing envelopes, plus
32 B for each of their ids (each side must learn which ids it lacks), plus log2 C(n, d) / 8
bytes to say which of the n items differ.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nacl.signing import SigningKey
from svgplot import Series, line_chart

from meshchat import records
from meshchat.sync import wire
from meshchat.sync.negentropy import NegentropyInitiator, NegentropyResponder, NegentropyStorage

ZONE = "MeshChat"
FRAME_LIMIT = 16384  # DESIGN §5.1 default, used by both sides
PUT_MAX_BYTES = 1024 * 1024
# A fixed "now" (2025-06-15) keeps runs byte-for-byte repeatable: record ids, and so the
# order in which a 64 KiB `get` reply is cut, depend on the timestamps. Any present-day
# value encodes to the same sizes (msgpack uint64 and a 6-byte Negentropy varint).
NOW_MS = 1_750_000_000_000
HORIZON_MS = 365 * 86_400_000  # `since` = now - the default retention horizon (§2.4)
# Assumed HTTP/1.1 keep-alive headers: a request line, Host, Content-Type, Content-Length,
# User-Agent and Accept-Encoding come to about 180 B; status line, Content-Type,
# Content-Length, Date and Server to about 120 B. A zone-secret HMAC header would add more.
HTTP_REQUEST_HEADERS = 180
HTTP_RESPONSE_HEADERS = 120
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
DIFFS = (0, 1, 10, 100, 1000)
PLACEMENTS = ("recent", "random")
IN_SYNC_TARGET = 400  # bytes, one round trip (the target for d = 0)
RECENT_TARGET = 1.5  # x the floor (the target for recent differences)

PEOPLE = (("W1AW", "node-1"), ("K1ABC", "hilltop"), ("KD2XYZ", "eoc-2"), ("VE3/G4XYZ", "pi-7"))
CHANNELS = ("", "ops", "weather", "net-control")
_VOCABULARY = (
    "net check in copy roger relay wx report power on grid repeater down simplex antenna "
    "battery status traffic shelter eoc medical request team at mile marker over"
)
WORDS = _VOCABULARY.split()


@dataclass
class Scenario:
    """Two item sets and the real records of the items they do not share."""

    n: int
    d: int
    placement: str
    now_ms: int
    client: list[tuple[int, bytes]]
    server: list[tuple[int, bytes]]
    client_records: dict[bytes, tuple[bytes, bytes]]  # the server lacks these
    server_records: dict[bytes, tuple[bytes, bytes]]  # the client lacks these


@dataclass
class Tally:
    """Counts of one session, by call and by what the bytes carry."""

    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("rec", "get", "put"), 0))
    up: int = 0  # request bodies, C -> S
    down: int = 0  # response bodies, S -> C
    neg: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("fp", "ids", "other"), 0))
    id_list: int = 0  # 32 B per id in get requests and `more` lists
    record_bytes: int = 0  # envelopes carried by get replies and put requests

    def call(self, kind: str, request: bytes, response: bytes) -> None:
        """Count one HTTP round trip."""
        self.calls[kind] += 1
        self.up += len(request)
        self.down += len(response)

    @property
    def rounds(self) -> int:
        """Return every HTTP round trip of the session."""
        return sum(self.calls.values())

    @property
    def headers(self) -> int:
        """Return the assumed HTTP header bytes of the session."""
        return self.rounds * (HTTP_REQUEST_HEADERS + HTTP_RESPONSE_HEADERS)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos


def count_neg(msg: bytes, into: dict[str, int]) -> None:
    """Add a Negentropy message's fingerprint, id and other (bounds, modes) bytes to ``into``."""
    pos, fp, ids = 1, 0, 0
    while pos < len(msg):
        _, pos = _varint(msg, pos)  # bound: timestamp delta, prefix length, prefix
        plen, pos = _varint(msg, pos)
        mode, pos = _varint(msg, pos + plen)
        if mode == 1:
            fp += 16
            pos += 16
        elif mode == 2:
            count, pos = _varint(msg, pos)
            ids += 32 * count
            pos += 32 * count
    into["fp"] += fp
    into["ids"] += ids
    into["other"] += len(msg) - fp - ids


def _text(rng: random.Random) -> str:
    size = rng.randint(20, 200)
    words: list[str] = []
    while sum(map(len, words)) + len(words) < size:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:size]


def build(n: int, d: int, placement: str, now_ms: int, keys: list[SigningKey]) -> Scenario:
    """Return the scenario: the server holds n items; the client lacks ceil(d/2) of them
    and holds floor(d/2) the server lacks."""
    rng = random.Random(f"sync-bytes/{n}/{d}/{placement}")
    server_only, client_only = d - d // 2, d // 2
    slots = n + client_only
    gaps = [rng.randint(1000, 5000) for _ in range(slots - 1)]
    stamps = list(accumulate(gaps, initial=now_ms - sum(gaps)))
    if placement == "recent":
        differing = list(range(slots - d, slots))
        rng.shuffle(differing)
    else:
        differing = rng.sample(range(slots), d)
    lacked_by_client = set(differing[:server_only])
    lacked_by_server = set(differing[server_only:])
    sc = Scenario(n, d, placement, now_ms, [], [], {}, {})
    for i, ts in enumerate(stamps):
        if i in lacked_by_client or i in lacked_by_server:
            k = rng.randrange(len(keys))
            callsign, node = PEOPLE[k]
            body = {"callsign": callsign, "channel": rng.choice(CHANNELS), "node": node}
            rec = records.sign(keys[k], ZONE, "msg", ts, body | {"text": _text(rng)})
            side, store = (
                (sc.server, sc.server_records)
                if i in lacked_by_client
                else (sc.client, sc.client_records)
            )
            side.append((ts, rec.id))
            store[rec.id] = rec.envelope
        else:
            item = (ts, rng.randbytes(32))
            sc.client.append(item)
            sc.server.append(item)
    return sc


def _env_size(env: tuple[bytes, bytes]) -> int:
    return len(records.pack_envelope(*env))


def run_session(sc: Scenario) -> Tally:
    """Model one client-initiated session and return its tally."""
    t = Tally()
    pack = records.pack
    since = sc.now_ms - HORIZON_MS
    client = NegentropyStorage.from_sorted(sc.client).window(since)
    server = NegentropyStorage.from_sorted(sc.server)
    init = NegentropyInitiator(client, FRAME_LIMIT)
    msg: bytes | None = init.initiate()
    have: list[bytes] = []
    need: list[bytes] = []
    while msg is not None:
        # Stateless server: a fresh responder over the `since` window for every request.
        reply = NegentropyResponder(server.window(since), FRAME_LIMIT).reconcile(msg)
        t.call("rec", pack({"zone": ZONE, "neg": msg, "since": since}), pack({"neg": reply}))
        count_neg(msg, t.neg)
        count_neg(reply, t.neg)
        msg, more_have, more_need = init.reconcile(reply)
        have += more_have
        need += more_need
    if set(need) != set(sc.server_records) or set(have) != set(sc.client_records):
        raise SystemExit(f"n={sc.n} d={sc.d} {sc.placement}: reconciliation found wrong sets")

    # Ids in sorted order, as meshchat/sync/scheduler.py asks (the initiator returns sets).
    _fetch(t, sc, sorted(need))
    _push(t, sc, sorted(have))
    return t


def _raw(env: tuple[bytes, bytes]) -> int:
    return len(env[0]) + len(env[1])


def _fetch(t: Tally, sc: Scenario, need: list[bytes]) -> None:
    """Model `get`: 1024 ids a batch; a reply stops at 64 KiB (of S + sig, as the server
    counts), names the rest in `more`, and the client asks for those again."""
    for start in range(0, len(need), wire.MAX_GET_IDS):
        ids = need[start : start + wire.MAX_GET_IDS]
        while ids:
            sent: list[list[bytes]] = []
            more: list[bytes] = []
            used = 0
            for rid in ids:
                env = sc.server_records[rid]
                if sent and used + _raw(env) > wire.GET_REPLY_BYTES:
                    more.append(rid)
                    continue
                sent.append(list(env))
                used += _raw(env)
                t.record_bytes += _env_size(env)
            t.call(
                "get",
                records.pack({"zone": ZONE, "ids": ids}),
                records.pack({"records": sent, "more": more}),
            )
            t.id_list += 32 * (len(ids) + len(more))
            ids = more


def _push(t: Tally, sc: Scenario, have: list[bytes]) -> None:
    """Model `put`: 256 records a request, fewer if they pass 1 MiB of S + sig."""
    for start in range(0, len(have), wire.MAX_PUT_RECORDS):
        envelopes = [sc.client_records[rid] for rid in have[start : start + wire.MAX_PUT_RECORDS]]
        while envelopes:
            size = count = 0
            while count < len(envelopes) and (
                not count or size + _raw(envelopes[count]) <= PUT_MAX_BYTES
            ):
                size += _raw(envelopes[count])
                count += 1
            chunk, envelopes = envelopes[:count], envelopes[count:]
            request = records.pack({"zone": ZONE, "records": [list(e) for e in chunk]})
            t.call("put", request, records.pack({"results": ["ok"] * count}))
            t.record_bytes += sum(map(_env_size, chunk))


def floor_bytes(sc: Scenario) -> float:
    """Return the information floor: missing envelopes + 32 B an id + log2 C(n, d) / 8."""
    envs = [*sc.client_records.values(), *sc.server_records.values()]
    n, d = sc.n, sc.d
    log2_choose = (math.lgamma(n + 1) - math.lgamma(d + 1) - math.lgamma(n - d + 1)) / math.log(2)
    return sum(map(_env_size, envs)) + 32 * d + log2_choose / 8


@dataclass
class Row:
    """One measured configuration."""

    sc: Scenario
    t: Tally
    floor: float

    @property
    def body(self) -> int:
        """Return the body bytes both ways."""
        return self.t.up + self.t.down

    @property
    def wire_bytes(self) -> int:
        """Return the body bytes plus the assumed HTTP headers."""
        return self.body + self.t.headers


def _ratio(value: int, floor: float) -> str:
    return f"{value / floor:.2f}" if floor else "—"


def table(rows: list[Row]) -> str:
    """Return the Markdown table of the measured rows."""
    lines = [
        "| n | d | placement | rounds (rec+get+put) | C→S | S→C | total | total + HTTP "
        "| floor | ratio | ratio + HTTP |",
        "| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        c = r.t.calls
        lines.append(
            f"| {r.sc.n:,} | {r.sc.d} | {r.sc.placement} "
            f"| {r.t.rounds} ({c['rec']}+{c['get']}+{c['put']}) | {r.t.up:,} | {r.t.down:,} "
            f"| {r.body:,} | {r.wire_bytes:,} | {r.floor:,.0f} "
            f"| {_ratio(r.body, r.floor)} | {_ratio(r.wire_bytes, r.floor)} |"
        )
    return "\n".join(lines)


def overhead(r: Row) -> str:
    """Return what the bytes beyond the records are, largest first, for one row."""
    t = r.t
    framing = r.body - t.record_bytes - t.id_list - sum(t.neg.values())
    parts = {
        "HTTP headers": t.headers,
        "Negentropy fingerprints": t.neg["fp"],
        "Negentropy id lists": t.neg["ids"],
        "Negentropy bounds/modes": t.neg["other"],
        "get ids + `more`": t.id_list,
        "msgpack framing": framing,
    }
    allowance = r.floor - t.record_bytes
    text = ", ".join(f"{k} {v:,}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v)
    return (
        f"n={r.sc.n:,} d={r.sc.d} {r.sc.placement}: {r.wire_bytes - t.record_bytes:,} B "
        f"beside the records, where the floor allows {allowance:,.0f} B — {text}"
    )


def targets(rows: list[Row]) -> list[str]:
    """Return the target lines and, for misses, what dominates."""
    out = [
        f"HTTP headers assumed: {HTTP_REQUEST_HEADERS} B a request + {HTTP_RESPONSE_HEADERS} B "
        "a response (keep-alive).",
        "",
        f"Target: in-sync check (d = 0) under {IN_SYNC_TARGET} B in one round trip.",
    ]
    for r in rows:
        if r.sc.d == 0:
            verdict = [
                f"{label} {'met' if value < IN_SYNC_TARGET and r.t.rounds == 1 else 'missed'}"
                for label, value in (("bodies", r.body), ("with HTTP", r.wire_bytes))
            ]
            out.append(
                f"- n={r.sc.n:,}: {r.t.rounds} round trip, {r.body:,} B of bodies "
                f"(first message {r.t.up:,} B), {r.wire_bytes:,} B with HTTP: " + "; ".join(verdict)
            )
    out += ["", f"Target: recent differences within {RECENT_TARGET}x the floor (with HTTP)."]
    misses = []
    for r in rows:
        if r.sc.placement == "recent" and r.sc.d:
            ratio = r.wire_bytes / r.floor
            body_ratio = r.body / r.floor
            ok = "met" if ratio <= RECENT_TARGET else "MISSED"
            out.append(
                f"- n={r.sc.n:,} d={r.sc.d}: {ratio:.2f}x ({body_ratio:.2f}x bodies only) {ok}"
            )
            if ratio > RECENT_TARGET:
                misses.append(r)
    if misses:
        out += ["", "Where the bytes beside the records go, for the misses:"]
        check = {r.sc.n: r for r in rows if r.sc.d == 0}
        for r in misses:
            out.append(f"- {overhead(r)}")
            base = check.get(r.sc.n)
            room = (RECENT_TARGET - 1) * r.floor
            if base and base.wire_bytes > room:
                out.append(
                    f"  The in-sync check alone ({base.wire_bytes:,} B with HTTP, "
                    f"{base.body:,} B of bodies) exceeds the {room:,.0f} B the target leaves "
                    "beside the records."
                )
    return out


def plot(rows: list[Row]) -> str:
    """Return the SVG of ratio (with HTTP) against d, one line per n and placement."""
    colors = {1_000: "#1f77b4", 10_000: "#d62728", 100_000: "#2ca02c"}
    series = []
    for n in sorted({r.sc.n for r in rows}):
        for placement in PLACEMENTS:
            points = [
                (float(r.sc.d), r.wire_bytes / r.floor)
                for r in rows
                if r.sc.n == n and r.sc.placement == placement and r.sc.d
            ]
            dash = "" if placement == "recent" else "6 4"
            series.append(Series(f"n={n:,} {placement}", points, colors.get(n, "black"), dash))
    return line_chart(
        series,
        title="Sync session bytes (with HTTP headers) / information floor",
        x_label="d (differences)",
        y_label="ratio to floor",
        hline=(RECENT_TARGET, f"target {RECENT_TARGET}x"),
    )


def main(argv: list[str] | None = None) -> None:
    """Measure every configuration, print the table and notes, write Markdown and SVG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only n = 10^3 and 10^4 (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args(argv)
    now_ms = NOW_MS
    keys = [SigningKey(bytes([k]) * 32) for k in range(1, len(PEOPLE) + 1)]
    rows: list[Row] = []
    for n in QUICK_SIZES if args.quick else SIZES:
        for d in DIFFS:
            for placement in ("-",) if d == 0 else PLACEMENTS:
                start = time.perf_counter()
                sc = build(n, d, placement, now_ms, keys)
                rows.append(Row(sc, run_session(sc), floor_bytes(sc)))
                spent = time.perf_counter() - start
                print(f"n={n} d={d} {placement}: {spent:.1f} s", file=sys.stderr)
    notes = targets(rows)
    report = "\n".join(["# Sync session bytes vs the information floor", "", table(rows), "", ""])
    report += "\n".join(notes) + "\n"
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sync_bytes.md").write_text(report, encoding="utf-8")
    (args.out / "sync_bytes.svg").write_text(plot(rows), encoding="utf-8")
    print(f"wrote {args.out / 'sync_bytes.md'} and {args.out / 'sync_bytes.svg'}")


if __name__ == "__main__":
    main()
