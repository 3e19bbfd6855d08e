"""The Negentropy V1 message codec: varints, bounds and fingerprints (PROTOCOL.md §3-§6).

Pure functions over bytes, shared by the reconciler (``negentropy.py``); a malformed
message is a RemoteProtocolError.
"""

from __future__ import annotations

from hashlib import sha256

from meshchat.errors import RemoteProtocolError
from meshchat.sync.negentropy_arrays import ID_SIZE, PrefixSums
from meshchat.sync.negentropy_storage import INFINITY_TS

PROTOCOL_VERSION = 0x61
FINGERPRINT_SIZE = 16
BUCKETS = 16
IDLIST_THRESHOLD = 2 * BUCKETS  # §7: fewer than 32 items go out as an IdList
FRAME_SLACK = 200  # §10: "exceeded" means length > limit - 200
MIN_FRAME_LIMIT = 4096
MODE_SKIP, MODE_FINGERPRINT, MODE_IDLIST = 0, 1, 2

VERSION = bytes([PROTOCOL_VERSION])
SUM_MASK = 2**256 - 1
U64_MAX = 2**64 - 1


def encode_varint(n: int) -> bytes:
    """Return ``n`` as a §3 varint: base 128, most significant group first, minimal."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


VARINTS = tuple(encode_varint(i) for i in range(1 << 14))  # every 1- and 2-byte varint


def varint(n: int) -> bytes:
    """Return ``n`` as a varint, from the table when it is small."""
    return VARINTS[n] if n < 16384 else encode_varint(n)


def fp(sums: PrefixSums, lower: int, upper: int) -> bytes:
    """Return the §6 fingerprint of items[lower:upper] from prefix sums."""
    total = sums.range_sum(lower, upper).to_bytes(ID_SIZE, "little")
    return sha256(total + varint(upper - lower)).digest()[:FINGERPRINT_SIZE]


def fingerprint(ids: list[bytes]) -> bytes:
    """Return the §6 fingerprint of a list of 32-byte ids (reference helper for tests)."""
    total = sum(int.from_bytes(i, "little") for i in ids) & SUM_MASK
    data = total.to_bytes(ID_SIZE, "little") + encode_varint(len(ids))
    return sha256(data).digest()[:FINGERPRINT_SIZE]


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a varint at ``pos`` leniently (§3); return (value, next position)."""
    value = 0
    end = len(data)
    while pos < end:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if value > U64_MAX:
            # Both references hold varints in 64 bits; refusing larger ones also keeps a
            # hostile run of continuation bytes from building a huge integer.
            raise RemoteProtocolError("varint exceeds 64 bits")
        if byte < 0x80:
            return value, pos
    raise RemoteProtocolError("message ends inside a varint")


def take(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    """Return (data[pos:pos+size], pos+size), or raise if the message ends first."""
    end = pos + size
    if end > len(data):
        raise RemoteProtocolError("message ends prematurely")
    return data[pos:end], end


def read_bound(msg: bytes, pos: int, last_in: int) -> tuple[int, bytes, int]:
    """Decode the Bound at ``pos < len(msg)`` against ``last_in``: (ts, prefix, next pos)."""
    code = msg[pos]
    if code < 0x80:
        pos += 1
    else:
        code, pos = read_varint(msg, pos)
    if code == 0 or last_in == INFINITY_TS:
        ts = INFINITY_TS  # §4.1: 0 means infinity, and infinity stays for the message
    else:
        ts = min(last_in + code - 1, INFINITY_TS)  # the C++ reference saturates
    if pos < len(msg) and msg[pos] == 0:
        return ts, b"", pos + 1
    plen, pos = read_varint(msg, pos)
    if plen > ID_SIZE:
        raise RemoteProtocolError("bound prefix longer than 32 bytes")
    prefix, pos = take(msg, pos, plen)
    return ts, prefix, pos


class BoundWriter:
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
        return varint(code) + VARINTS[len(prefix)] + prefix
