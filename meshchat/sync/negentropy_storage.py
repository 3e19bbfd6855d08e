"""Sealed, sorted Negentropy item storage with prefix sums of ids (PROTOCOL.md §2, §6)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from itertools import accumulate, islice, repeat
from operator import itemgetter, lt
from typing import Literal, NamedTuple, Protocol

from meshchat.errors import LocalProtocolError

ID_SIZE = 32
INFINITY_TS = 2**64 - 1
_SUM_MASK = 2**256 - 1
_from_bytes = int.from_bytes
_LITTLE: Literal["little"] = "little"


class Snapshot(NamedTuple):
    """Arrays a reconciler reads for one message; items are those at indices [start, len(ts))."""

    ts: list[int]
    ids: list[bytes]
    sums: list[int]  # sums[i] = sum of ids[0:i] read little-endian, not yet reduced mod 2^256
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


def _id_sums(ids: Iterable[bytes], initial: int = 0) -> list[int]:
    """Return running little-endian sums of ids, starting with ``initial``."""
    return list(accumulate(map(_from_bytes, ids, repeat(_LITTLE)), initial=initial))


class NegentropyStorage:
    """Sorted (timestamp, id) items, sealed on construction, kept sorted by ``add``."""

    __slots__ = ("_ids", "_sums", "_ts")

    def __init__(self) -> None:
        """Create an empty storage; fill it with ``add`` or use a ``from_*`` constructor."""
        self._ts: list[int] = []
        self._ids: list[bytes] = []
        # Valid prefix sums for the first len(_sums) - 1 items; a middle insert truncates
        # it and snapshot() extends it again, so tail appends stay O(1).
        self._sums: list[int] = [0]

    @classmethod
    def from_sorted(cls, rows: Iterable[tuple[int, bytes]]) -> NegentropyStorage:
        """Build from rows already in (ts, id) order, e.g. ``ORDER BY ts, id``; verify it."""
        rows = list(rows)
        ts = list(map(itemgetter(0), rows))
        ids = list(map(itemgetter(1), rows))
        if rows:
            if not all(type(t) is int for t in ts) or ts[0] < 0 or ts[-1] >= INFINITY_TS:
                raise LocalProtocolError("item timestamp out of range")
            if any(type(i) is not bytes or len(i) != ID_SIZE for i in ids):
                raise LocalProtocolError("item id must be 32 bytes")
            # Strictly increasing (ts, id) pairs: sorted and free of exact duplicates (§2).
            keys = list(zip(ts, ids, strict=True))
            if not all(map(lt, keys, islice(keys, 1, None))):
                raise LocalProtocolError("rows are not strictly sorted by (ts, id)")
        storage = cls()
        storage._ts = ts
        storage._ids = ids
        storage._sums = _id_sums(ids)
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

    def add(self, ts: int, item_id: bytes) -> bool:
        """Insert one item in order; return False (and change nothing) if already present."""
        _check_item(ts, item_id)
        ts_list, ids = self._ts, self._ids
        n = len(ts_list)
        if not n or ts > ts_list[-1] or (ts == ts_list[-1] and item_id > ids[-1]):
            ts_list.append(ts)
            ids.append(item_id)
            if len(self._sums) == n + 1:
                self._sums.append(self._sums[-1] + _from_bytes(item_id, "little"))
            return True
        lo = bisect_left(ts_list, ts)
        hi = bisect_right(ts_list, ts, lo)
        k = bisect_left(ids, item_id, lo, hi)
        if k < hi and ids[k] == item_id:
            return False
        ts_list.insert(k, ts)
        ids.insert(k, item_id)
        del self._sums[k + 1 :]
        return True

    def snapshot(self) -> Snapshot:
        """Return the sorted arrays, first extending the prefix sums over any middle inserts."""
        sums = self._sums
        done = len(sums) - 1
        if done < len(self._ids):
            sums.extend(_id_sums(self._ids[done:], sums[-1])[1:])
        return Snapshot(self._ts, self._ids, sums, 0)

    def items(self) -> list[tuple[int, bytes]]:
        """Return all items in sorted order."""
        return list(zip(self._ts, self._ids, strict=True))

    def id_sum(self, lower: int, upper: int) -> bytes:
        """Return the §6 id sum of items[lower:upper], 32 bytes little-endian."""
        sums = self.snapshot().sums
        return ((sums[upper] - sums[lower]) & _SUM_MASK).to_bytes(ID_SIZE, "little")

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
        ts = self.storage.snapshot().ts
        return len(ts) - bisect_left(ts, self.min_ts)

    def newest_ts(self) -> int | None:
        """Return the largest timestamp in the window, or None when it is empty."""
        ts = self.storage.snapshot().ts
        return ts[-1] if ts and ts[-1] >= self.min_ts else None

    def narrowed(self, min_ts: int) -> StorageWindow:
        """Return the view of the same storage from ``min_ts`` on (never wider than this)."""
        return StorageWindow(self.storage, max(self.min_ts, min_ts))
