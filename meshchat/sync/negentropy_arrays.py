"""Packed Negentropy ids and their sparse prefix sums (PROTOCOL.md §6), without I/O.

Ids sit back to back in one ``bytearray``; the storage (``negentropy_storage``) keeps the
§6 sum of the ids before every ``BLOCK``-th item, and a ``PrefixSums`` view answers the
sum before any index from the nearest of them plus or minus at most ``BLOCK // 2`` ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, overload

ID_SIZE = 32
BLOCK = 4  # items between two stored prefix sums (8 bytes an item at 32 bytes a sum)
SUM_MASK = 2**256 - 1
_SLOT_MOD = 2**256 - 1  # 2^256 = 1 modulo this: summing 256-bit slots preserves the value
_from_bytes = int.from_bytes
_LITTLE: Literal["little"] = "little"


def sum_ids(buf: bytes | bytearray, lower: int, upper: int) -> int:
    """Return the §6 sum (mod 2^256) of the 32-byte ids ``buf`` holds at [lower, upper).

    One integer is read for the whole run (slot k weighted 2^(256 k)) and folded in
    halves; folding keeps it modulo 2^256 - 1, and the sum of every id's first byte gives
    the sum modulo 256, which fixes the carries that folding lost (fewer than 256).
    """
    count = upper - lower
    if count == 2:
        a = lower * ID_SIZE
        return (
            _from_bytes(buf[a : a + ID_SIZE], _LITTLE)
            + _from_bytes(buf[a + ID_SIZE : a + 2 * ID_SIZE], _LITTLE)
        ) & SUM_MASK
    if count > 255:
        raise ValueError("sum_ids folds at most 255 ids")
    if count <= 1:
        return _from_bytes(buf[lower * ID_SIZE : upper * ID_SIZE], _LITTLE) if count else 0
    data = buf[lower * ID_SIZE : upper * ID_SIZE]
    x = _from_bytes(data, _LITTLE)
    while x >> 264:
        half = 256 * ((x.bit_length() + 511) // 512)
        x = (x & ((1 << half) - 1)) + (x >> half)
    rest = x % _SLOT_MOD  # the exact sum is rest + q * (2^256 - 1) with 0 <= q <= count
    q = (rest - sum(data[::ID_SIZE])) & 0xFF
    return (rest - q) & SUM_MASK


class IdArray:
    """Read-only sequence view of packed 32-byte ids (``ids[i]`` is bytes)."""

    __slots__ = ("buf",)

    def __init__(self, buf: bytearray) -> None:
        self.buf = buf

    def __len__(self) -> int:
        return len(self.buf) // ID_SIZE

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        """Return one id, or a list of ids for a slice (step 1)."""
        if isinstance(index, slice):
            lo, hi, _ = index.indices(len(self))
            raw = self.buf[lo * ID_SIZE : hi * ID_SIZE]
            return [bytes(raw[i : i + ID_SIZE]) for i in range(0, len(raw), ID_SIZE)]
        if index < 0:
            index += len(self)
        start = index * ID_SIZE
        if not 0 <= start < len(self.buf):
            raise IndexError("id index out of range")
        return bytes(self.buf[start : start + ID_SIZE])

    def __iter__(self) -> Iterator[bytes]:
        buf = self.buf
        return (bytes(buf[i : i + ID_SIZE]) for i in range(0, len(buf), ID_SIZE))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdArray) and self.buf == other.buf

    __hash__ = None  # type: ignore[assignment]

    def join(self, lower: int, upper: int) -> bytes:
        """Return ids [lower, upper) concatenated, as an IdList carries them (§5)."""
        return bytes(self.buf[lower * ID_SIZE : upper * ID_SIZE])


class PrefixSums:
    """``sums[i]``: the §6 sum of ids [0, i), reduced mod 2^256, from the block sums."""

    __slots__ = ("_blocks", "_ids", "_last", "_n")

    def __init__(self, ids: bytearray, blocks: bytearray) -> None:
        self._ids = ids
        self._blocks = blocks  # covers every boundary up to len(ids) (snapshot saw to it)
        self._n = len(ids) // ID_SIZE
        self._last = (0, 0)  # (upper, its sum) of the last range: the next starts there

    def __len__(self) -> int:
        return self._n + 1

    def __getitem__(self, index: int) -> int:
        if index < 0:
            index += self._n + 1
        if not 0 <= index <= self._n:
            raise IndexError("prefix index out of range")
        return self._prefix(index)

    def range_sum(self, lower: int, upper: int) -> int:
        """Return the §6 sum of ids [lower, upper), mod 2^256 (0 <= lower <= upper <= n)."""
        last, value = self._last
        below = value if last == lower else self._prefix(lower)
        above = self._prefix(upper)
        self._last = (upper, above)
        return (above - below) & SUM_MASK

    def _prefix(self, index: int) -> int:
        j, r = divmod(index, BLOCK)
        blocks, ids = self._blocks, self._ids
        if r > BLOCK // 2 and (j + 1) * BLOCK <= self._n:  # nearer the next boundary
            base = _from_bytes(blocks[(j + 1) * ID_SIZE : (j + 2) * ID_SIZE], _LITTLE)
            count = (j + 1) * BLOCK - index
            if count == 1:
                return (
                    base - _from_bytes(ids[index * ID_SIZE : (index + 1) * ID_SIZE], _LITTLE)
                ) & SUM_MASK
            return (base - sum_ids(ids, index, (j + 1) * BLOCK)) & SUM_MASK
        base = _from_bytes(blocks[j * ID_SIZE : (j + 1) * ID_SIZE], _LITTLE)
        if not r:
            return base
        if r == 1:
            return (
                base + _from_bytes(ids[(index - 1) * ID_SIZE : index * ID_SIZE], _LITTLE)
            ) & SUM_MASK
        return (base + sum_ids(ids, j * BLOCK, index)) & SUM_MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrefixSums) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[int]:
        return (self[i] for i in range(self._n + 1))


def compute_blocks(ids: bytes | bytearray, start: int, prefix: int, count: int) -> bytearray:
    """Return the packed prefix sums at boundaries start+1 .. count-1 (boundary k is k*BLOCK).

    ``prefix`` is the sum at boundary ``start``. Reads ``ids`` only, so it may run on a
    worker thread while nothing changes the ids.
    """
    out = bytearray()
    for k in range(start + 1, count):
        prefix = (prefix + sum_ids(ids, (k - 1) * BLOCK, k * BLOCK)) & SUM_MASK
        out += prefix.to_bytes(ID_SIZE, _LITTLE)
    return out
