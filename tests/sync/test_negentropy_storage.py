"""Negentropy storage: sealing, inserts after sealing, prefix sums and horizon windows."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshchat.errors import LocalProtocolError
from meshchat.sync.negentropy import (
    INFINITY_TS,
    NegentropyInitiator,
    NegentropyResponder,
    NegentropyStorage,
    fingerprint,
)
from meshchat.sync.negentropy_storage import Snapshot

Item = tuple[int, bytes]


def _id(i: int) -> bytes:
    return hashlib.sha256(b"s:%d" % i).digest()


def _assert_sums_naive(snap: Snapshot) -> None:
    """Every prefix sum equals a from-scratch sum; fingerprints of sample ranges agree."""
    ids = snap.ids
    running = 0
    for k in range(len(ids) + 1):
        assert snap.sums[k] % 2**256 == running % 2**256
        if k < len(ids):
            running += int.from_bytes(ids[k], "little")
    storage_ranges = [(0, len(ids)), (0, 0), (len(ids) // 3, len(ids) // 2)]
    for a, b in storage_ranges:
        naive = sum(int.from_bytes(i, "little") for i in ids[a:b]) % 2**256
        assert (snap.sums[b] - snap.sums[a]) % 2**256 == naive


def test_from_items_sorts_and_from_sorted_verifies() -> None:
    items = [(5, _id(1)), (3, _id(2)), (5, _id(0)), (3, _id(3))]
    storage = NegentropyStorage.from_items(items)
    assert storage.items() == sorted(items)
    assert NegentropyStorage.from_sorted(sorted(items)).items() == sorted(items)
    with pytest.raises(LocalProtocolError):
        NegentropyStorage.from_sorted(items)


@pytest.mark.parametrize(
    "items",
    [
        [(1, _id(0)), (1, _id(0))],  # exact duplicate (§2)
        [(1, _id(0)[:31])],
        [(1, "x" * 32)],
        [(-1, _id(0))],
        [(INFINITY_TS, _id(0))],  # reserved for infinity
    ],
)
def test_bad_items_are_local_errors(items: list[Item]) -> None:
    with pytest.raises(LocalProtocolError):
        NegentropyStorage.from_items(items)
    with pytest.raises(LocalProtocolError):
        NegentropyStorage.from_sorted(items)


def test_same_id_at_two_timestamps_is_two_items() -> None:
    assert len(NegentropyStorage.from_items([(1, _id(0)), (2, _id(0))])) == 2


def test_add_tail_middle_and_duplicate() -> None:
    storage = NegentropyStorage.from_sorted((100 + i, _id(i)) for i in range(100))
    assert storage.add(500, _id(500)) is True  # tail
    assert storage.add(150, _id(150)) is True  # middle
    assert storage.add(50, _id(50)) is True  # head
    assert storage.add(150, _id(150)) is False  # already present
    assert storage.add(500, _id(500)) is False
    expect = sorted([(100 + i, _id(i)) for i in range(100)] + [(500, _id(500))])
    expect = sorted([*expect, (150, _id(150)), (50, _id(50))])
    assert storage.items() == expect
    _assert_sums_naive(storage.snapshot())
    with pytest.raises(LocalProtocolError):
        storage.add(1, b"short")


@settings(max_examples=60, deadline=None)
@given(
    base=st.integers(0, 300),
    adds=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 10_000)), max_size=60),
    snap_every=st.integers(1, 10),
)
def test_adds_match_a_fresh_build(base: int, adds: list[tuple[int, int]], snap_every: int) -> None:
    storage = NegentropyStorage.from_items((i, _id(i)) for i in range(base))
    expected = {(i, _id(i)) for i in range(base)}
    for k, (ts, n) in enumerate(adds):
        item = (ts, _id(n))
        assert storage.add(*item) is (item not in expected)
        expected.add(item)
        if k % snap_every == 0:  # interleave lazy rebuilds with further inserts
            _assert_sums_naive(storage.snapshot())
    fresh = NegentropyStorage.from_items(expected).snapshot()
    snap = storage.snapshot()
    assert (snap.ts, snap.ids, snap.sums) == (fresh.ts, fresh.ids, fresh.sums)
    assert storage.id_sum(0, len(storage)) == NegentropyStorage.from_items(expected).id_sum(
        0, len(storage)
    )


def test_tail_appends_keep_sums_incremental() -> None:
    storage = NegentropyStorage()
    for i in range(50):
        storage.add(1000 + i, _id(i))
    snap = storage.snapshot()
    _assert_sums_naive(snap)
    assert (
        NegentropyInitiator(storage).initiate()
        == NegentropyInitiator(NegentropyStorage.from_items(storage.items())).initiate()
    )


def test_window_reconciles_like_a_filtered_storage() -> None:
    rng = random.Random(5)
    items = [(1000 + i // 2, rng.randbytes(32)) for i in range(2000)]
    storage = NegentropyStorage.from_items(items)
    window = storage.window(1500)
    filtered = NegentropyStorage.from_items(i for i in items if i[0] >= 1500)
    assert len(window) == len(filtered)
    first = NegentropyInitiator(window).initiate()
    assert first == NegentropyInitiator(filtered).initiate()
    peer = NegentropyStorage.from_items(i for i in items[1100:] if i[1][0] != 7)
    reply = NegentropyResponder(peer.window(1500)).reconcile(first)
    init_w, init_f = NegentropyInitiator(window), NegentropyInitiator(filtered)
    init_w.initiate()
    init_f.initiate()
    assert init_w.reconcile(reply) == init_f.reconcile(reply)
    # The window is live: a new record lands in it without rebuilding anything.
    storage.add(2500, _id(1))
    assert len(window) == len(filtered) + 1


def test_storage_fingerprint_matches_reference_helper() -> None:
    storage = NegentropyStorage.from_items((7, _id(i)) for i in range(40))
    snap = storage.snapshot()
    whole = fingerprint(snap.ids)
    # A responder's mismatching-fingerprint reply is our own fingerprints; an equal one is 61.
    message = b"\x61\x00\x00\x01" + whole
    assert NegentropyResponder(storage).reconcile(message) == b"\x61"


@settings(max_examples=60, deadline=None)
@given(
    base=st.integers(0, 300),
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 400), st.integers(0, 10_000)), max_size=40),
        max_size=6,
    ),
)
def test_batches_match_a_fresh_build(base: int, batches: list[list[tuple[int, int]]]) -> None:
    storage = NegentropyStorage.from_items((i, _id(i)) for i in range(base))
    expected = {(i, _id(i)) for i in range(base)}
    for batch in batches:
        items = [(ts, _id(n)) for ts, n in batch]
        assert storage.add_many(items) == len(set(items) - expected)
        expected.update(items)
        _assert_sums_naive(storage.snapshot())
    fresh = NegentropyStorage.from_items(expected)
    assert storage.items() == fresh.items()
    first = NegentropyInitiator(storage).initiate()
    assert first == NegentropyInitiator(fresh).initiate()


def test_extend_sorted_appends_only_after_the_last_item() -> None:
    storage = NegentropyStorage.from_sorted([(5, _id(1)), (7, _id(2))])
    with pytest.raises(LocalProtocolError):
        storage.extend_sorted([(6, _id(3))])
    with pytest.raises(LocalProtocolError):
        storage.extend_sorted([(7, _id(2))])  # the last item again
    storage.extend_sorted([(7, max(_id(2), _id(4))), (9, _id(5))])
    assert len(storage) == 4
    _assert_sums_naive(storage.snapshot())


def test_refresh_job_is_installed_only_over_the_items_it_read() -> None:
    storage = NegentropyStorage.from_items((i, _id(i)) for i in range(100))
    storage.add(0, _id(1000))  # at the head: every prefix sum is stale
    assert storage.stale() > 90
    token, job = storage.refresh_job()
    sums = job()
    storage.add(1, _id(1001))  # the items moved meanwhile: the sums are not installed
    assert storage.install_blocks(token, sums) is False
    token, job = storage.refresh_job()
    assert storage.install_blocks(token, job()) is True
    assert storage.stale() < 4
    _assert_sums_naive(storage.snapshot())
