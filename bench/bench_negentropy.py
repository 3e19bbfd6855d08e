"""Time whole Negentropy reconciliations on the TIMING.md workloads.

Run as ``python bench/bench_negentropy.py``; it prints, never asserts, timings.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meshchat.sync.negentropy import NegentropyInitiator, NegentropyResponder, NegentropyStorage
from meshchat.sync.vectorgen import generate, set_digest

N = 100_000
RUNS = 5

# name -> (diff, expected client digest, expected server digest), from TIMING.md.
WORKLOADS: dict[str, tuple[dict[str, object], str, str]] = {
    "none": (
        {"select": "none"},
        "00370aa82dd85ece08b0cc791f4d9400af1a05674b380e705b81ca2922f735bf",
        "00370aa82dd85ece08b0cc791f4d9400af1a05674b380e705b81ca2922f735bf",
    ),
    "recent": (
        {"select": "recent", "client_only": 500, "server_only": 500},
        "9c8623f9a25770e37b2631a6713e3693cc635eb449298d94adb1eae9a6967fe1",
        "049e9a0a6296db867b3e59c06bce6d6204d4397e5099392eb00c8b09e99392dd",
    ),
    "random": (
        {"select": "random", "client_only": 500, "server_only": 500, "seed": "timing/random/sel"},
        "3bac28929d7567c7639f59c797bef4a06f59090c0bd58d1cccac0fe587f02213",
        "2f56eaa42048451c5e4eff1969bd476eb63a91568d810dffbdff019bdf35324e",
    ),
}

# (workload, limit) -> (JS ms, C++ Vector ms, rounds, bytes C->S, bytes S->C), from TIMING.md.
REFERENCE: dict[tuple[str, int], tuple[str, str, int, int, int]] = {
    ("none", 0): ("79-98", "3.1", 1, 323, 1),
    ("none", 16384): ("78-79", "3.2", 1, 323, 1),
    ("recent", 0): ("87-95", "4.4", 2, 939, 16_675),
    ("recent", 16384): ("81", "4.6", 3, 1_719, 16_702),
    ("random", 0): ("589-682", "26", 2, 75_748, 704_114),
    ("random", 16384): ("3617-4180", "179", 50, 411_496, 524_553),
}


def build(name: str) -> tuple[NegentropyStorage, NegentropyStorage]:
    """Generate a workload's two storages and verify their digests against TIMING.md."""
    diff, client_digest, server_digest = WORKLOADS[name]
    gen = {
        "n": N,
        "ids": {"kind": "sha256_counter", "seed": f"timing/{name}"},
        "timestamps": {"kind": "step", "start": 1_700_000_000, "per_ts": 1, "gap": 1},
        "layout": "split",
        "diff": diff,
    }
    client, server = generate(gen)
    for side, items, digest in (
        ("client", client, client_digest),
        ("server", server, server_digest),
    ):
        if set_digest(items) != digest:
            raise SystemExit(f"{name}: {side} set digest mismatch; generator is wrong")
    return NegentropyStorage.from_items(client), NegentropyStorage.from_items(server)


def reconcile_once(
    client: NegentropyStorage, server: NegentropyStorage, limit: int
) -> tuple[float, int, int, int, int]:
    """Run one whole reconciliation; return (seconds, rounds, bytes C->S, bytes S->C, diffs)."""
    start = time.perf_counter()
    init = NegentropyInitiator(client, limit)
    resp = NegentropyResponder(server, limit)
    msg: bytes | None = init.initiate()
    rounds = up = down = found = 0
    while msg is not None:
        rounds += 1
        up += len(msg)
        reply = resp.reconcile(msg)
        down += len(reply)
        msg, have, need = init.reconcile(reply)
        found += len(have) + len(need)
    return time.perf_counter() - start, rounds, up, down, found


def main() -> None:
    """Print the timing table beside the reference figures."""
    header = (
        f"{'workload':8} {'limit':>6} {'python ms':>10} {'JS ms':>10} {'C++ ms':>7} "
        f"{'rounds':>7} {'C->S':>9} {'S->C':>9}  reference rounds/C->S/S->C"
    )
    print(header)
    print("-" * len(header))
    for name in WORKLOADS:
        client, server = build(name)
        for limit in (0, 16384):
            runs = [reconcile_once(client, server, limit) for _ in range(RUNS)]
            ms = statistics.median(r[0] for r in runs) * 1000
            _, rounds, up, down, found = runs[0]
            js, cpp, ref_rounds, ref_up, ref_down = REFERENCE[name, limit]
            same = "same" if (rounds, up, down) == (ref_rounds, ref_up, ref_down) else "DIFFERS"
            print(
                f"{name:8} {limit:>6} {ms:>10.1f} {js:>10} {cpp:>7} {rounds:>7} {up:>9,} "
                f"{down:>9,}  {ref_rounds}/{ref_up:,}/{ref_down:,} ({same}; {found} diffs)"
            )


if __name__ == "__main__":
    main()
