"""Sealed, sorted Negentropy items in packed arrays, with sparse prefix sums (PROTOCOL.md §2, §6).

Timestamps live in an ``array('Q')`` (8 bytes an item) and ids back to back in one
``bytearray`` (32 bytes an item), so 10^6 items take 40 MB instead of ~180 MB of Python
objects. The §6 sum of any range comes from prefix sums kept every ``BLOCK`` items
(packed too, 32 bytes each, ``negentropy_arrays``): the sum before an index is the
nearest boundary's plus or minus at most ``BLOCK // 2`` ids, so a fingerprint stays a few
additions and one SHA-256. Sums past an insert in the middle are recomputed lazily
(``snapshot``), or off the event loop by the caller (``stale``, ``refresh_job``,
``install_blocks``).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from operator import itemgetter, lt
from typing import Literal, NamedTuple, Protocol

from meshchat.errors import LocalProtocolError
from meshchat.sync.negentropy_arrays import (
    BLOCK,
    ID_SIZE,
    SUM_MASK,
    IdArray,
    PrefixSums,
    compute_blocks,
)

__all__ = ["BLOCK", "ID_SIZE", "INFINITY_TS", "IdArray", "PrefixSums", "Snapshot"]

INFINITY_TS = 2**64 - 1
_from_bytes = int.from_bytes
_LITTLE: Literal["little"] = "little"


class Snapshot(NamedTuple):
    """What a reconciler reads for one message; items are those at indices [start, len(ts))."""

    ts: array[int]
    ids: IdArray
    sums: PrefixSums
    start: int


class ItemSource(Protocol):
    """Anything a reconciler can run over: a storage or a window onto one."""

    def snapshot(self) -> Snapshot:
        """Return the current sorted arrays with complete prefix sums."""
        ...


def _check_item(ts: int, item_id: bytes) -> None:
    """Raise LocalProtocolError unless (ts, item_id) is a legal item (§2, §12)."""
    if not isinstance(ts, int) or not 0 <= ts < INFINITY_TS:
        raise LocalProtocolError(f"item timestamp out of range: {ts!r}")
    if not isinstance(item_id, bytes) or len(item_id) != ID_SIZE:
        raise LocalProtocolError("item id must be 32 bytes")


class NegentropyStorage:
    """Sorted (timestamp, id) items, sealed on construction, kept sorted by ``add``."""

    __slots__ = ("_blocks", "_ids", "_ts", "version")

    def __init__(self) -> None:
        """Create an empty storage; fill it with ``add`` or use a ``from_*`` constructor."""
        self._ts: array[int] = array("Q")
        self._ids = bytearray()
        # Prefix sums at boundaries 0, BLOCK, 2*BLOCK…; valid for as many as it holds, and
        # cut back by an insert in the middle (``snapshot`` extends it again).
        self._blocks = bytearray(ID_SIZE)
        self.version = 0  # bumped by every change of the items

    @classmethod
    def from_sorted(cls, rows: Iterable[tuple[int, bytes]]) -> NegentropyStorage:
        """Build from rows already in (ts, id) order, e.g. ``ORDER BY ts, id``; verify it."""
        storage = cls()
        storage.extend_sorted(list(rows))
        storage.refresh()
        return storage

    @classmethod
    def from_items(cls, items: Iterable[tuple[int, bytes]]) -> NegentropyStorage:
        """Build from items in any order; an exact duplicate raises LocalProtocolError."""
        rows = [(ts, item_id) for ts, item_id in items]
        for ts, item_id in rows:
            _check_item(ts, item_id)
        rows.sort()
        return cls.from_sorted(rows)

    def __len__(self) -> int:
        """Return the number of items."""
        return len(self._ts)

    def extend_sorted(self, rows: Sequence[tuple[int, bytes]]) -> None:
        """Append rows in strict (ts, id) order, all after the last item; verify them first."""
        if not rows:
            return
        ts = list(map(itemgetter(0), rows))
        ids = list(map(itemgetter(1), rows))
        if not all(type(t) is int for t in ts) or ts[0] < 0 or ts[-1] >= INFINITY_TS:
            raise LocalProtocolError("item timestamp out of range")
        if any(type(i) is not bytes or len(i) != ID_SIZE for i in ids):
            raise LocalProtocolError("item id must be 32 bytes")
        # Strictly increasing (ts, id) pairs: sorted and free of exact duplicates (§2).
        keys = list(zip(ts, ids, strict=True))
        if self._ts:
            keys.insert(0, (self._ts[-1], bytes(self._ids[-ID_SIZE:])))
        if not all(map(lt, keys, islice(keys, 1, None))):
            raise LocalProtocolError("rows are not strictly sorted by (ts, id)")
        self._ts.extend(ts)
        self._ids += b"".join(ids)
        self.version += 1

    def _find(self, ts: int, item_id: bytes) -> int:
        """Return where (ts, item_id) goes, or -1 when it is already held."""
        ts_list = self._ts
        lo = bisect_left(ts_list, ts)
        hi = bisect_right(ts_list, ts, lo)
        ids = IdArray(self._ids)
        k = bisect_left(ids, item_id, lo, hi)
        return -1 if k < hi and ids[k] == item_id else k

    def add(self, ts: int, item_id: bytes) -> bool:
        """Insert one item in order; return False (and change nothing) if already present."""
        return self.add_many([(ts, item_id)]) == 1

    def add_many(self, items: Iterable[tuple[int, bytes]]) -> int:
        """Insert items in any order in one pass; return how many were new."""
        given = list(items)
        for ts, item_id in given:
            _check_item(ts, item_id)
        new = sorted(set(given))
        ts_list, ids = self._ts, self._ids
        n = len(ts_list)
        if n and new and new[0] <= (ts_list[-1], bytes(ids[-ID_SIZE:])):
            placed = [(k, item) for item in new if (k := self._find(*item)) >= 0]
        else:
            placed = [(n, item) for item in new]
        if not placed:
            return 0
        tail = [item for k, item in placed if k == n]
        middle = placed[: len(placed) - len(tail)]
        if middle:
            self._merge(middle)
            del self._blocks[(middle[0][0] // BLOCK + 1) * ID_SIZE :]
        ts_list.extend(t for t, _ in tail)
        ids += b"".join(i for _, i in tail)
        self.version += 1
        return len(placed)

    def _merge(self, placed: list[tuple[int, tuple[int, bytes]]]) -> None:
        """Insert (old index, item) pairs, ascending, moving each old item once (in place)."""
        ts_list, ids = self._ts, self._ids
        end = len(ts_list)
        m = len(placed)
        ts_list.frombytes(bytes(8 * m))
        ids += bytes(ID_SIZE * m)
        with memoryview(ts_list) as tv, memoryview(ids) as iv:
            for shift in range(m, 0, -1):
                k, (ts, item_id) = placed[shift - 1]
                if end > k:
                    tv[k + shift : end + shift] = tv[k:end]
                    iv[(k + shift) * ID_SIZE : (end + shift) * ID_SIZE] = iv[
                        k * ID_SIZE : end * ID_SIZE
                    ]
                tv[k + shift - 1] = ts
                iv[(k + shift - 1) * ID_SIZE : (k + shift) * ID_SIZE] = item_id
                end = k

    def stale(self) -> int:
        """Return how many items lie past the last valid prefix sum (what ``refresh`` reads)."""
        return len(self._ts) - (len(self._blocks) // ID_SIZE - 1) * BLOCK

    def refresh_job(self) -> tuple[tuple[int, int], Callable[[], bytearray]]:
        """Return (token, job): ``job()`` computes the missing prefix sums, reading the ids
        only (a worker thread may run it while nothing adds items); hand what it returns
        and the token to ``install_blocks``."""
        held = len(self._blocks) // ID_SIZE
        wanted = len(self._ts) // BLOCK + 1
        prefix = _from_bytes(self._blocks[-ID_SIZE:], _LITTLE)
        ids = self._ids
        return (self.version, held), lambda: compute_blocks(ids, held - 1, prefix, wanted)

    def install_blocks(self, token: tuple[int, int], data: bytearray) -> bool:
        """Add prefix sums from ``refresh_job``, unless the items or the sums moved since."""
        if token != (self.version, len(self._blocks) // ID_SIZE):
            return False
        self._blocks += data
        return True

    def refresh(self) -> None:
        """Bring the prefix sums up to the last item."""
        if self.stale() >= BLOCK:
            token, job = self.refresh_job()
            self.install_blocks(token, job())

    def snapshot(self) -> Snapshot:
        """Return the sorted arrays, first extending the prefix sums over any changes."""
        self.refresh()
        return Snapshot(self._ts, IdArray(self._ids), PrefixSums(self._ids, self._blocks), 0)

    def items(self) -> list[tuple[int, bytes]]:
        """Return all items in sorted order."""
        return list(zip(self._ts, IdArray(self._ids), strict=True))

    def id_sum(self, lower: int, upper: int) -> bytes:
        """Return the §6 id sum of items[lower:upper], 32 bytes little-endian."""
        sums = self.snapshot().sums
        return ((sums[upper] - sums[lower]) & SUM_MASK).to_bytes(ID_SIZE, "little")

    def window(self, min_ts: int) -> StorageWindow:
        """Return a live view of the items with ts >= min_ts (a sync horizon)."""
        return StorageWindow(self, min_ts)


class StorageWindow:
    """Live view of a storage's items with ts >= min_ts; the start is found per snapshot."""

    __slots__ = ("min_ts", "storage")

    def __init__(self, storage: NegentropyStorage, min_ts: int) -> None:
        """Wrap ``storage``; later inserts into it show up in the window too."""
        self.storage = storage
        self.min_ts = min_ts

    def snapshot(self) -> Snapshot:
        """Return the storage's arrays with ``start`` at the first item with ts >= min_ts."""
        snap = self.storage.snapshot()
        return snap._replace(start=bisect_left(snap.ts, self.min_ts))

    def __len__(self) -> int:
        """Return the number of items in the window."""
        ts = self.storage._ts
        return len(ts) - bisect_left(ts, self.min_ts)

    def newest_ts(self) -> int | None:
        """Return the largest timestamp in the window, or None when it is empty."""
        ts = self.storage._ts
        return ts[-1] if ts and ts[-1] >= self.min_ts else None

    def narrowed(self, min_ts: int) -> StorageWindow:
        """Return the view of the same storage from ``min_ts`` on (never wider than this)."""
        return StorageWindow(self.storage, max(self.min_ts, min_ts))
