"""Sans-I/O Negentropy V1 set reconciliation, byte-compatible with hoytech/negentropy.

Section numbers (§) refer to shared/negentropy/PROTOCOL.md.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from hashlib import sha256

from meshchat.errors import LocalProtocolError, RemoteProtocolError
from meshchat.sync.negentropy_storage import (
    ID_SIZE,
    INFINITY_TS,
    ItemSource,
    NegentropyStorage,
    Snapshot,
    StorageWindow,
)

__all__ = [
    "ID_SIZE",
    "INFINITY_TS",
    "PROTOCOL_VERSION",
    "ItemSource",
    "NegentropyInitiator",
    "NegentropyResponder",
    "NegentropyStorage",
    "StorageWindow",
    "encode_varint",
    "fingerprint",
]

PROTOCOL_VERSION = 0x61
FINGERPRINT_SIZE = 16
BUCKETS = 16
IDLIST_THRESHOLD = 2 * BUCKETS  # §7: fewer than 32 items go out as an IdList
FRAME_SLACK = 200  # §10: "exceeded" means length > limit - 200
MIN_FRAME_LIMIT = 4096
MODE_SKIP, MODE_FINGERPRINT, MODE_IDLIST = 0, 1, 2

_VERSION = bytes([PROTOCOL_VERSION])
_SUM_MASK = 2**256 - 1
_U64_MAX = 2**64 - 1


def encode_varint(n: int) -> bytes:
    """Return ``n`` as a §3 varint: base 128, most significant group first, minimal."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


_VARINTS = tuple(encode_varint(i) for i in range(1 << 14))  # every 1- and 2-byte varint


def _varint(n: int) -> bytes:
    """Return ``n`` as a varint, from the table when it is small."""
    return _VARINTS[n] if n < 16384 else encode_varint(n)


def _fp(sums: list[int], lower: int, upper: int) -> bytes:
    """Return the §6 fingerprint of items[lower:upper] from prefix sums."""
    total = ((sums[upper] - sums[lower]) & _SUM_MASK).to_bytes(ID_SIZE, "little")
    return sha256(total + _varint(upper - lower)).digest()[:FINGERPRINT_SIZE]


def fingerprint(ids: list[bytes]) -> bytes:
    """Return the §6 fingerprint of a list of 32-byte ids (reference helper for tests)."""
    total = sum(int.from_bytes(i, "little") for i in ids) & _SUM_MASK
    data = total.to_bytes(ID_SIZE, "little") + encode_varint(len(ids))
    return sha256(data).digest()[:FINGERPRINT_SIZE]


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a varint at ``pos`` leniently (§3); return (value, next position)."""
    value = 0
    end = len(data)
    while pos < end:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if value > _U64_MAX:
            # Both references hold varints in 64 bits; refusing larger ones also keeps a
            # hostile run of continuation bytes from building a huge integer.
            raise RemoteProtocolError("varint exceeds 64 bits")
        if byte < 0x80:
            return value, pos
    raise RemoteProtocolError("message ends inside a varint")


def _take(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    """Return (data[pos:pos+size], pos+size), or raise if the message ends first."""
    end = pos + size
    if end > len(data):
        raise RemoteProtocolError("message ends prematurely")
    return data[pos:end], end


def _read_bound(msg: bytes, pos: int, last_in: int) -> tuple[int, bytes, int]:
    """Decode the Bound at ``pos < len(msg)`` against ``last_in``: (ts, prefix, next pos)."""
    code = msg[pos]
    if code < 0x80:
        pos += 1
    else:
        code, pos = _read_varint(msg, pos)
    if code == 0 or last_in == INFINITY_TS:
        ts = INFINITY_TS  # §4.1: 0 means infinity, and infinity stays for the message
    else:
        ts = min(last_in + code - 1, INFINITY_TS)  # the C++ reference saturates
    if pos < len(msg) and msg[pos] == 0:
        return ts, b"", pos + 1
    plen, pos = _read_varint(msg, pos)
    if plen > ID_SIZE:
        raise RemoteProtocolError("bound prefix longer than 32 bytes")
    prefix, pos = _take(msg, pos, plen)
    return ts, prefix, pos


class _BoundWriter:
    """Encodes bounds with the per-message timestamp delta of §4.1."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = 0

    def encode(self, ts: int, prefix: bytes) -> bytes:
        """Return ``Bound`` bytes for (ts, prefix), advancing the delta reference."""
        if ts == INFINITY_TS:
            code = 0
        elif ts < self.last:
            # Unreachable for decoded bounds (their deltas are never negative); refuse
            # rather than emit a negative delta.
            raise RemoteProtocolError("bounds out of order")
        else:
            code = ts - self.last + 1
        self.last = ts
        return _varint(code) + _VARINTS[len(prefix)] + prefix


def _minimal_bound(snap: Snapshot, index: int) -> tuple[int, bytes]:
    """Return the shortest bound between items[index - 1] and items[index] (§4.2)."""
    ts = snap.ts[index]
    if snap.ts[index - 1] != ts:
        return ts, b""
    cur = snap.ids[index]
    diff = int.from_bytes(snap.ids[index - 1], "big") ^ int.from_bytes(cur, "big")
    shared = ID_SIZE - (diff.bit_length() + 7) // 8
    return ts, cur[: shared + 1]


def _split(
    snap: Snapshot, writer: _BoundWriter, lower: int, upper: int, ub: tuple[int, bytes]
) -> list[bytes]:
    """Describe own items[lower:upper] ending at bound ``ub``: IdList or 16 buckets (§7)."""
    n = upper - lower
    if n < IDLIST_THRESHOLD:
        head = writer.encode(*ub) + b"\x02" + _VARINTS[n]
        return [head, *snap.ids[lower:upper]]
    ts, sums, encode = snap.ts, snap.sums, writer.encode
    q, r = divmod(n, BUCKETS)
    parts = []
    a = lower
    for i in range(BUCKETS - 1):
        b = a + q + (i < r)  # §7: the first n % 16 buckets get the extra item
        # Distinct timestamps need no prefix (§4.2); the check is inlined for speed.
        head = encode(ts[b], b"") if ts[b - 1] != ts[b] else encode(*_minimal_bound(snap, b))
        parts.append(head + b"\x01" + _fp(sums, a, b))
        a = b
    parts.append(encode(*ub) + b"\x01" + _fp(sums, a, upper))
    return parts


def _upper_index(snap: Snapshot, lower: int, ts: int, prefix: bytes) -> int:
    """Return the first index >= lower whose item is not below bound (ts, prefix) (§4, §9)."""
    if ts == INFINITY_TS:
        return len(snap.ts)
    ts_list = snap.ts
    index = bisect_left(ts_list, ts, lower)
    if prefix and index < len(ts_list) and ts_list[index] == ts:
        same_end = bisect_right(ts_list, ts, index)
        # An id equal to the prefix padded with zeros is not below the bound (§4).
        return bisect_left(snap.ids, prefix.ljust(ID_SIZE, b"\x00"), index, same_end)
    return index


class _Reconciler:
    """State and message processing shared by both roles (§9)."""

    _initiator = False

    def __init__(self, storage: ItemSource, frame_size_limit: int = 0) -> None:
        """Bind to a storage (or window); ``frame_size_limit`` is 0 or at least 4096 (§10)."""
        if (
            not isinstance(frame_size_limit, int)
            or frame_size_limit < 0
            or 0 < frame_size_limit < MIN_FRAME_LIMIT
        ):
            raise LocalProtocolError("frame_size_limit must be 0 or >= 4096")
        self.storage = storage
        self.frame_size_limit = frame_size_limit

    def _process(self, message: bytes) -> tuple[bytes, list[bytes], list[bytes]]:
        """Answer one message: return (reply, have, need); have/need only as initiator."""
        if not isinstance(message, bytes | bytearray | memoryview):
            raise LocalProtocolError("message must be bytes")
        msg = bytes(message)
        if not msg:
            raise RemoteProtocolError("empty message")
        version = msg[0]
        if not 0x60 <= version <= 0x6F:
            raise RemoteProtocolError("invalid negentropy protocol version byte")
        if version != PROTOCOL_VERSION:
            if self._initiator:  # §12: V1 has no client-side downgrade
                raise RemoteProtocolError(f"unsupported protocol version 0x{version:02x}")
            return _VERSION, [], []
        return self._ranges(msg, self.storage.snapshot())

    def _ranges(self, msg: bytes, snap: Snapshot) -> tuple[bytes, list[bytes], list[bytes]]:
        """Run the §9 loop over every range of a V1 message."""
        initiator, end, sums = self._initiator, len(msg), snap.sums
        n_items = len(snap.ts)
        limit = self.frame_size_limit - FRAME_SLACK if self.frame_size_limit else 0
        writer = _BoundWriter()
        out: list[bytes] = [_VERSION]
        out_len = 1
        have: list[bytes] = []
        need: list[bytes] = []
        prev_index, prev_bound, skip = snap.start, (0, b""), False
        last_in, pos = 0, 1
        while pos < end:
            ts, prefix, pos = _read_bound(msg, pos, last_in)
            last_in = ts
            bound = (ts, prefix)
            if pos < end and msg[pos] < 0x80:  # fast path: every valid mode is one byte
                mode = msg[pos]
                pos += 1
            else:
                mode, pos = _read_varint(msg, pos)
            lower = prev_index
            upper = _upper_index(snap, lower, ts, prefix)
            piece: list[bytes] = []
            if mode == MODE_SKIP:
                skip = True
            elif mode == MODE_FINGERPRINT:
                theirs, pos = _take(msg, pos, FINGERPRINT_SIZE)
                if theirs == _fp(sums, lower, upper):
                    skip = True
                else:
                    if skip:
                        piece.append(writer.encode(*prev_bound) + b"\x00")
                        skip = False
                    piece += _split(snap, writer, lower, upper, bound)
            elif mode == MODE_IDLIST:
                count, pos = _read_varint(msg, pos)
                id_bytes, pos = _take(msg, pos, count * ID_SIZE)
                if initiator:
                    more_have, more_need = _learn(snap, lower, upper, id_bytes)
                    have += more_have
                    need += more_need
                    skip = True
                else:
                    # §9.2/§10.2: the reply is committed at once; the cut test counts only
                    # bytes committed before this range, not the skip flush or the header.
                    flush = writer.encode(*prev_bound) + b"\x00" if skip else b""
                    skip = False
                    upper, reply = _idlist_reply(
                        snap, writer, lower, upper, bound=bound, out_len=out_len, limit=limit
                    )
                    out += (flush, reply)
                    out_len += len(flush) + len(reply)
            else:
                raise RemoteProtocolError(f"unexpected mode {mode}")
            piece_len = sum(map(len, piece))
            if limit and out_len + piece_len > limit:
                # §10.1: drop this piece and any pending skip; end with a tail fingerprint
                # that starts at this range's upper index (a reference quirk, kept exactly).
                out.append(b"\x00\x00\x01" + _fp(sums, upper, n_items))
                break
            out += piece
            out_len += piece_len
            prev_index, prev_bound = upper, bound
        return b"".join(out), have, need


def _learn(
    snap: Snapshot, lower: int, upper: int, id_bytes: bytes
) -> tuple[list[bytes], set[bytes]]:
    """Initiator side of §9.2: return (own ids they lack, their ids we lack) in the range."""
    theirs = {id_bytes[i : i + ID_SIZE] for i in range(0, len(id_bytes), ID_SIZE)}
    ours = snap.ids[lower:upper]
    return [i for i in ours if i not in theirs], theirs.difference(ours)


def _idlist_reply(
    snap: Snapshot,
    writer: _BoundWriter,
    lower: int,
    upper: int,
    *,
    bound: tuple[int, bytes],
    out_len: int,
    limit: int,
) -> tuple[int, bytes]:
    """Return (upper, responder IdList range) for items[lower:upper], cut as in §10.2."""
    if limit:
        # The id at offset k is sent while out_len + 32 * k <= limit.
        room = (limit - out_len) // ID_SIZE + 1 if out_len <= limit else 0
        if room < upper - lower:
            upper = lower + room
            bound = (snap.ts[upper], snap.ids[upper])  # §4.4: full-item bound
    head = writer.encode(*bound) + b"\x02" + _varint(upper - lower)
    return upper, head + b"".join(snap.ids[lower:upper])


class NegentropyInitiator(_Reconciler):
    """Client role: ``initiate()`` once, then ``reconcile()`` each server reply until None."""

    _initiator = True

    def __init__(self, storage: ItemSource, frame_size_limit: int = 0) -> None:
        """Bind to a storage (or window); ``frame_size_limit`` is 0 or at least 4096 (§10)."""
        super().__init__(storage, frame_size_limit)
        self._initiated = False

    def initiate(self) -> bytes:
        """Return the first message: all own items split up to infinity (§8)."""
        if self._initiated:
            raise LocalProtocolError("initiate() called twice")
        self._initiated = True
        snap = self.storage.snapshot()
        parts = _split(snap, _BoundWriter(), snap.start, len(snap.ts), (INFINITY_TS, b""))
        return _VERSION + b"".join(parts)

    def reconcile(self, message: bytes) -> tuple[bytes | None, list[bytes], list[bytes]]:
        """Process a server reply: return (next message or None when done, have, need)."""
        if not self._initiated:
            raise LocalProtocolError("reconcile() before initiate()")
        reply, have, need = self._process(message)
        return (None if reply == _VERSION else reply), have, need


class NegentropyResponder(_Reconciler):
    """Server role: stateless between messages (§9.4); ``reconcile()`` always returns bytes."""

    def reconcile(self, message: bytes) -> bytes:
        """Return the reply to one client message."""
        return self._process(message)[0]
