"""Sans-I/O Negentropy V1 set reconciliation, byte-compatible with hoytech/negentropy.

Section numbers (§) refer to shared/negentropy/PROTOCOL.md.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from meshchat.errors import LocalProtocolError, RemoteProtocolError
from meshchat.sync.negentropy_codec import (
    BUCKETS,
    FINGERPRINT_SIZE,
    FRAME_SLACK,
    IDLIST_THRESHOLD,
    MIN_FRAME_LIMIT,
    MODE_FINGERPRINT,
    MODE_IDLIST,
    MODE_SKIP,
    PROTOCOL_VERSION,
    VARINTS,
    VERSION,
    BoundWriter,
    encode_varint,
    fingerprint,
    fp,
    read_bound,
    read_varint,
    take,
    varint,
)
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
    snap: Snapshot, writer: BoundWriter, lower: int, upper: int, ub: tuple[int, bytes]
) -> list[bytes]:
    """Describe own items[lower:upper] ending at bound ``ub``: IdList or 16 buckets (§7)."""
    n = upper - lower
    if n < IDLIST_THRESHOLD:
        head = writer.encode(*ub) + b"\x02" + VARINTS[n]
        return [head, snap.ids.join(lower, upper)]
    ts, sums, encode = snap.ts, snap.sums, writer.encode
    q, r = divmod(n, BUCKETS)
    parts = []
    a = lower
    for i in range(BUCKETS - 1):
        b = a + q + (i < r)  # §7: the first n % 16 buckets get the extra item
        # Distinct timestamps need no prefix (§4.2); the check is inlined for speed.
        head = encode(ts[b], b"") if ts[b - 1] != ts[b] else encode(*_minimal_bound(snap, b))
        parts.append(head + b"\x01" + fp(sums, a, b))
        a = b
    parts.append(encode(*ub) + b"\x01" + fp(sums, a, upper))
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
            return VERSION, [], []
        return self._ranges(msg, self.storage.snapshot())

    def _ranges(self, msg: bytes, snap: Snapshot) -> tuple[bytes, list[bytes], list[bytes]]:
        """Run the §9 loop over every range of a V1 message."""
        initiator, end, sums = self._initiator, len(msg), snap.sums
        n_items = len(snap.ts)
        limit = self.frame_size_limit - FRAME_SLACK if self.frame_size_limit else 0
        writer = BoundWriter()
        out: list[bytes] = [VERSION]
        out_len = 1
        have: list[bytes] = []
        need: list[bytes] = []
        prev_index, prev_bound, skip = snap.start, (0, b""), False
        last_in, pos = 0, 1
        while pos < end:
            ts, prefix, pos = read_bound(msg, pos, last_in)
            last_in = ts
            bound = (ts, prefix)
            if pos < end and msg[pos] < 0x80:  # fast path: every valid mode is one byte
                mode = msg[pos]
                pos += 1
            else:
                mode, pos = read_varint(msg, pos)
            lower = prev_index
            upper = _upper_index(snap, lower, ts, prefix)
            piece: list[bytes] = []
            if mode == MODE_SKIP:
                skip = True
            elif mode == MODE_FINGERPRINT:
                theirs, pos = take(msg, pos, FINGERPRINT_SIZE)
                if theirs == fp(sums, lower, upper):
                    skip = True
                else:
                    if skip:
                        piece.append(writer.encode(*prev_bound) + b"\x00")
                        skip = False
                    piece += _split(snap, writer, lower, upper, bound)
            elif mode == MODE_IDLIST:
                count, pos = read_varint(msg, pos)
                id_bytes, pos = take(msg, pos, count * ID_SIZE)
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
                out.append(b"\x00\x00\x01" + fp(sums, upper, n_items))
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
    writer: BoundWriter,
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
    head = writer.encode(*bound) + b"\x02" + varint(upper - lower)
    return upper, head + snap.ids.join(lower, upper)


class NegentropyInitiator(_Reconciler):
    """Client role: ``initiate()`` once, then ``reconcile()`` each server reply until None."""

    _initiator = True

    def __init__(self, storage: ItemSource, frame_size_limit: int = 0) -> None:
        """Bind to a storage (or window); ``frame_size_limit`` is 0 or at least 4096 (§10)."""
        super().__init__(storage, frame_size_limit)
        self._initiated = False

    def initiate(self, whole: bool = False) -> bytes:
        """Return the first message: all own items split up to infinity (§8).

        ``whole``: one fingerprint of every item instead, a digest: a peer holding the same
        answers in one small round, any other splits the range as usual (§7 allows any
        partition of the first message).
        """
        if self._initiated:
            raise LocalProtocolError("initiate() called twice")
        self._initiated = True
        snap = self.storage.snapshot()
        n = len(snap.ts)
        if whole and n - snap.start >= IDLIST_THRESHOLD:
            head = BoundWriter().encode(INFINITY_TS, b"") + b"\x01"
            return VERSION + head + fp(snap.sums, snap.start, n)
        parts = _split(snap, BoundWriter(), snap.start, n, (INFINITY_TS, b""))
        return VERSION + b"".join(parts)

    def reconcile(self, message: bytes) -> tuple[bytes | None, list[bytes], list[bytes]]:
        """Process a server reply: return (next message or None when done, have, need)."""
        if not self._initiated:
            raise LocalProtocolError("reconcile() before initiate()")
        reply, have, need = self._process(message)
        return (None if reply == VERSION else reply), have, need


class NegentropyResponder(_Reconciler):
    """Server role: stateless between messages (§9.4); ``reconcile()`` always returns bytes."""

    def reconcile(self, message: bytes) -> bytes:
        """Return the reply to one client message."""
        return self._process(message)[0]
