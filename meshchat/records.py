"""The one codec for signed records: encoding, ids, signatures and ingest checks (DESIGN §2).

A record travels as an envelope ``[S, sig]``. ``S`` is the canonical msgpack encoding of
``[1, zone, kind, author, ts, body]``; ``id = SHA-256(S)``; ``sig`` is Ed25519 over
``b"meshchat/v1" + id``. ``S`` and ``sig`` are stored and re-sent verbatim. Nothing else in
meshchat calls msgpack for records or signs them.

A record its author deleted keeps only a *stub* (``meshchat.stubs``) with an empty
signature; ``load_trusted`` reads both.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import msgpack
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from meshchat import schemas
from meshchat.errors import RecordRejected, RemoteProtocolError

FORMAT_VERSION = 1
SIG_CONTEXT = b"meshchat/v1"
ID_BYTES = 32
KEY_BYTES = 32
SIG_BYTES = 64
ZERO_AUTHOR = bytes(KEY_BYTES)
ZERO_SIG = bytes(SIG_BYTES)
DEFAULT_MAX_RECORD_BYTES = 32 * 1024
# An envelope adds the array header, two bin headers and the signature to S.
ENVELOPE_OVERHEAD = 1 + 3 + 2 + SIG_BYTES


@dataclass(frozen=True, slots=True)
class Record:
    """A decoded, canonical, schema-checked record; ``signed`` is S exactly as received."""

    id: bytes
    zone: str
    kind: str
    author: bytes
    ts: int
    body: Mapping[str, Any]
    signed: bytes
    sig: bytes

    @property
    def id_hex(self) -> str:
        """Return the record id as lowercase hex."""
        return self.id.hex()

    @property
    def envelope(self) -> tuple[bytes, bytes]:
        """Return the ``(S, sig)`` pair to store or re-send verbatim."""
        return (self.signed, self.sig)

    @property
    def gone(self) -> bool:
        """Tell whether this is the stub of a deleted record (its body dropped)."""
        return not self.sig


def sorted_map(value: Any) -> Any:
    """Return ``value`` with every map's keys in sorted order, recursively (canonical form)."""
    if isinstance(value, Mapping):
        return {k: sorted_map(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [sorted_map(v) for v in value]
    return value


def encode_signed(zone: str, kind: str, author: bytes, ts: int, body: Mapping[str, Any]) -> bytes:
    """Return the canonical bytes S of a record (sorted body keys, minimal ints, bin type)."""
    data: bytes = msgpack.packb(
        [FORMAT_VERSION, zone, kind, author, ts, sorted_map(body)], use_bin_type=True
    )
    return data


def record_id(signed: bytes) -> bytes:
    """Return the 32-byte id of a record: SHA-256 of its signed bytes."""
    return hashlib.sha256(signed).digest()


def sign(key: SigningKey, zone: str, kind: str, ts: int, body: Mapping[str, Any]) -> Record:
    """Build, schema-check and sign a new record with ``key``."""
    author = bytes(key.verify_key)
    signed = encode_signed(zone, kind, author, ts, body)
    rid = record_id(signed)
    sig = key.sign(SIG_CONTEXT + rid).signature
    return decode(signed, sig)


def make_legacy(zone: str, ts: int, line: str) -> Record:
    """Build the unsigned ``legacy`` record that wraps one legacy TSV line (LEGACY.md)."""
    signed = encode_signed(zone, "legacy", ZERO_AUTHOR, ts, {"line": line})
    return decode(signed, ZERO_SIG)


def decode(signed: bytes, sig: bytes, max_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Record:
    """Decode S with bounds, insist on its canonical form and check the kind's schema.

    Raises RecordRejected with reason ``too_large``, ``decode``, ``non_canonical``,
    ``schema`` or ``kind``. The signature is not checked here (see ``verify``).
    """
    if not isinstance(signed, bytes) or not isinstance(sig, bytes):
        raise RecordRejected("decode", "S and sig must be bytes")
    if len(signed) > max_bytes:
        raise RecordRejected("too_large", f"{len(signed)} bytes > {max_bytes}")
    if len(sig) != SIG_BYTES:
        raise RecordRejected("decode", f"signature is {len(sig)} bytes, not {SIG_BYTES}")
    try:
        value = msgpack.unpackb(signed, raw=False, use_list=True, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise RecordRejected("decode", type(exc).__name__) from None
    try:
        canonical = msgpack.packb(sorted_map(value), use_bin_type=True)
    except (TypeError, ValueError, RecursionError):
        # Map keys of mixed types cannot be sorted; msgpack < 1.1 cannot re-pack deep nesting.
        raise RecordRejected("non_canonical", "cannot re-encode") from None
    if canonical != signed:
        raise RecordRejected("non_canonical", "re-encoding differs")
    if not isinstance(value, list) or len(value) != 6:
        raise RecordRejected("decode", "S is not a 6-element array")
    version, zone, kind, author, ts, body = value
    if type(version) is not int or version != FORMAT_VERSION:
        raise RecordRejected("decode", f"format version {version!r}")
    if not isinstance(zone, str) or not schemas.valid_zone(zone):
        raise RecordRejected("schema", "zone")
    if not isinstance(kind, str):
        raise RecordRejected("schema", "kind is not a string")
    if not isinstance(author, bytes) or len(author) != KEY_BYTES:
        raise RecordRejected("schema", "author is not 32 bytes")
    if type(ts) is not int or ts < 0:
        raise RecordRejected("schema", "ts is not a non-negative int")
    if not isinstance(body, dict):
        raise RecordRejected("schema", "body is not a map")
    schemas.check_body(kind, body, author=author, sig=sig, ts=ts)
    return Record(record_id(signed), zone, kind, author, ts, body, signed, sig)


def load_trusted(signed: bytes, sig: bytes) -> Record:
    """Decode a record this node already validated and stored (no canonical or schema check).

    A stub (empty ``sig``) decodes to a Record with its own id and ``gone`` true.
    """
    fields = msgpack.unpackb(signed, raw=False)
    if not sig:
        _, rid, zone, kind, author, ts, body = fields
        return Record(rid, zone, kind, author, ts, body, signed, sig)
    _, zone, kind, author, ts, body = fields
    return Record(record_id(signed), zone, kind, author, ts, body, signed, sig)


def verify(record: Record) -> None:
    """Check the Ed25519 signature (``legacy`` records are unsigned and checked by grammar)."""
    if record.kind == "legacy":
        return
    try:
        VerifyKey(record.author).verify(SIG_CONTEXT + record.id, record.sig)
    except (BadSignatureError, ValueError):
        raise RecordRejected("signature", record.id_hex) from None


@dataclass(frozen=True, slots=True)
class Policy:
    """What this node accepts at ingest besides well-formedness (DESIGN §2.2)."""

    zones: frozenset[str]
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_future_skew_ms: int = 10 * 60 * 1000
    horizon_ms: int | None = 365 * 86_400_000


def check_policy(record: Record, policy: Policy, now_ms: int) -> None:
    """Reject a record whose zone is not served here or whose ts is outside the window."""
    if record.zone not in policy.zones:
        raise RecordRejected("zone", record.zone)
    if record.ts > now_ms + policy.max_future_skew_ms:
        raise RecordRejected("future", f"ts {record.ts} is ahead of {now_ms}")
    if policy.horizon_ms is not None and record.ts < now_ms - policy.horizon_ms:
        raise RecordRejected("too_old", f"ts {record.ts} is past the retention horizon")


def validate(signed: bytes, sig: bytes, policy: Policy, now_ms: int) -> Record:
    """Run every stateless ingest check, cheapest first; the store adds the quota check."""
    record = decode(signed, sig, policy.max_record_bytes)
    check_policy(record, policy, now_ms)
    verify(record)
    return record


def pack_envelope(signed: bytes, sig: bytes) -> bytes:
    """Return the msgpack bytes of one ``[S, sig]`` envelope."""
    return pack([signed, sig])


def unpack_envelope(value: Any) -> tuple[bytes, bytes]:
    """Return ``(S, sig)`` from a decoded envelope, or reject it as ``decode``."""
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not isinstance(value[0], bytes)
        or not isinstance(value[1], bytes)
    ):
        raise RecordRejected("decode", "an envelope is [S: bin, sig: bin]")
    return value[0], value[1]


def write_stream(envelopes: Iterable[tuple[bytes, bytes]], out: BinaryIO) -> int:
    """Write envelopes back to back (the export format); return how many were written."""
    count = 0
    for signed, sig in envelopes:
        out.write(pack_envelope(signed, sig))
        count += 1
    return count


class _CountingReader:
    """A binary stream that counts the bytes read from it (to detect a truncated stream)."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.count += len(data)
        return data


def read_stream(
    source: BinaryIO, max_bytes: int = DEFAULT_MAX_RECORD_BYTES
) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(S, sig)`` from an export stream; a malformed envelope raises RecordRejected."""
    reader = _CountingReader(source)
    unpacker = msgpack.Unpacker(
        reader,
        raw=False,
        use_list=True,
        max_buffer_size=max_bytes + ENVELOPE_OVERHEAD + 64,
        max_bin_len=max_bytes,
        max_array_len=2,
        max_map_len=0,
        max_str_len=0,
    )
    try:
        end = 0  # where the last complete envelope ends
        for value in unpacker:
            end = unpacker.tell()
            yield unpack_envelope(value)
        if end != reader.count:  # bytes left over: the last envelope is cut short
            raise RecordRejected("decode", "export stream: truncated envelope")
    except RecordRejected:
        raise
    except Exception as exc:
        raise RecordRejected("decode", f"export stream: {type(exc).__name__}") from None


def pack(value: Any) -> bytes:
    """Encode a sync API body with the project's msgpack options (bin type, no floats)."""
    data: bytes = msgpack.packb(value, use_bin_type=True)
    return data


def unpack(data: bytes, max_items: int = 10_000) -> Any:
    """Decode a peer's sync API body with every container bounded; RemoteProtocolError if bad.

    Limits scale with ``data`` itself (no container can claim more entries than bytes it
    has) and with ``max_items``, so a small hostile body cannot make a huge allocation.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise RemoteProtocolError("body is not bytes")
    size = len(data)
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=size,
            max_bin_len=size,
            max_array_len=min(size, max_items),
            max_map_len=min(size, max_items),
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise RemoteProtocolError(f"malformed msgpack body: {type(exc).__name__}") from None


def dumps_stream(envelopes: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Return envelopes as one export-format byte string (for tests and small exports)."""
    buf = io.BytesIO()
    write_stream(envelopes, buf)
    return buf.getvalue()
