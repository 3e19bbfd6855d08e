"""Packed ids and sparse prefix sums: every sum equals the naive §6 sum."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshchat.sync.negentropy_arrays import (
    BLOCK,
    ID_SIZE,
    IdArray,
    PrefixSums,
    compute_blocks,
    sum_ids,
)


def _naive(ids: list[bytes]) -> int:
    return sum(int.from_bytes(i, "little") for i in ids) % 2**256


@pytest.mark.parametrize("fill", [0x00, 0xFF, 0x80, 0x01])
@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5, 16, 100, 255])
def test_sum_ids_of_extreme_ids(fill: int, count: int) -> None:
    # All-0xff ids carry out of every 256-bit slot: what the fold must put back.
    ids = [bytes([fill]) * ID_SIZE] * count
    assert sum_ids(bytearray(b"".join(ids)), 0, count) == _naive(ids)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=ID_SIZE, max_size=ID_SIZE), max_size=60), st.data())
def test_sum_ids_of_any_run(ids: list[bytes], data: st.DataObject) -> None:
    lower = data.draw(st.integers(0, len(ids)))
    upper = data.draw(st.integers(lower, len(ids)))
    assert sum_ids(b"".join(ids), lower, upper) == _naive(ids[lower:upper])


def test_sum_ids_refuses_runs_it_cannot_fix() -> None:
    with pytest.raises(ValueError):
        sum_ids(bytes(ID_SIZE * 256), 0, 256)


def test_prefix_sums_from_blocks_match_naive_everywhere() -> None:
    rng = random.Random(3)
    ids = [rng.randbytes(ID_SIZE) for _ in range(4 * BLOCK + 3)]
    buf = bytearray(b"".join(ids))
    count = len(ids) // BLOCK + 1
    blocks = bytearray(ID_SIZE) + compute_blocks(buf, 0, 0, count)
    sums = PrefixSums(buf, blocks)
    assert len(sums) == len(ids) + 1
    assert list(sums) == [_naive(ids[:k]) for k in range(len(ids) + 1)]
    assert sums[-1] == _naive(ids)
    for lower in range(len(ids) + 1):
        for upper in range(lower, len(ids) + 1):
            assert sums.range_sum(lower, upper) == _naive(ids[lower:upper])
    with pytest.raises(IndexError):
        sums[len(ids) + 1]


def test_id_array_reads_like_a_list() -> None:
    ids = [bytes([i]) * ID_SIZE for i in range(5)]
    view = IdArray(bytearray(b"".join(ids)))
    assert len(view) == 5
    assert list(view) == ids
    assert view[1] == ids[1] and view[-1] == ids[-1]
    assert view[1:3] == ids[1:3]
    assert view.join(1, 4) == b"".join(ids[1:4])
    assert view == IdArray(bytearray(b"".join(ids)))
    assert view != IdArray(bytearray(b"".join(ids[:4])))
    with pytest.raises(IndexError):
        view[5]
