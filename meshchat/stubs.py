"""Stubs: what a node keeps of a record its author deleted (DESIGN §2.1 ``delete``).

Nodes drop a deleted record's body. What stays is ``[0, id, zone, kind, author, ts, body]``
with only the keys that say who, where, to whom and in answer to what — never the text,
caption, file name, emoji or position — stored with an empty signature. A stub keeps the
record's place in the log and in sync (its ``(ts, id)``), so peers that still hold the
record do not hand it back, and it is all a "deleted" placeholder shows. It is never sent
as a record: a ``get`` names it in ``gone`` and a ``put`` carries it as ``[stub, b""]``,
and a node keeps a peer's stub only in place of a record a delete it holds retracts.
"""

from __future__ import annotations

import msgpack

from meshchat import schemas
from meshchat.errors import RecordRejected
from meshchat.records import ID_BYTES, KEY_BYTES, ZERO_AUTHOR, Record, sorted_map

STUB_VERSION = 0
BODIED_KINDS = frozenset({"msg", "file", "edit", "react"})
STUB_KEYS = frozenset({"callsign", "channel", "node", "to", "reply_to", "target"})
MAX_STUB_BYTES = 1024


def _kept_value(key: str, value: object) -> bool:
    if key in ("reply_to", "target"):
        return isinstance(value, bytes) and len(value) == ID_BYTES
    return isinstance(value, str) and len(value) <= 256 and value.isprintable()


def stub_of(record: Record) -> bytes:
    """Return the stub S that stands for ``record`` once its author deleted it."""
    kept = {k: v for k, v in record.body.items() if k in STUB_KEYS}
    fields = [STUB_VERSION, record.id, record.zone, record.kind, record.author, record.ts]
    data: bytes = msgpack.packb([*fields, sorted_map(kept)], use_bin_type=True)
    return data


def load_stub(signed: bytes) -> Record:
    """Decode a stub a peer sent, with bounds; raise RecordRejected(``decode``) if malformed.

    Only its form is checked here: the store keeps it only in place of a record that a
    delete it holds retracts (``store.tombstones``).
    """
    if not isinstance(signed, bytes) or len(signed) > MAX_STUB_BYTES:
        raise RecordRejected("decode", "a stub is at most 1 KiB")
    try:
        value = msgpack.unpackb(signed, raw=False, use_list=True, strict_map_key=True)
        canonical = msgpack.packb(sorted_map(value), use_bin_type=True)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise RecordRejected("decode", type(exc).__name__) from None
    if canonical != signed or not isinstance(value, list) or len(value) != 7:
        raise RecordRejected("decode", "a stub is a canonical 7-element array")
    version, rid, zone, kind, author, ts, body = value
    ok = (
        type(version) is int
        and version == STUB_VERSION
        and isinstance(rid, bytes)
        and len(rid) == ID_BYTES
        and isinstance(zone, str)
        and schemas.valid_zone(zone)
        and kind in BODIED_KINDS
        and isinstance(author, bytes)
        and len(author) == KEY_BYTES
        and author != ZERO_AUTHOR
        and type(ts) is int
        and 0 <= ts < 2**63
        and isinstance(body, dict)
        and set(body) <= STUB_KEYS
        and all(_kept_value(k, v) for k, v in body.items())
    )
    if not ok:
        raise RecordRejected("decode", "not a stub")
    return Record(rid, zone, kind, author, ts, body, signed, b"")
