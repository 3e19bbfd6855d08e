"""Deleted records keep only a stub (DESIGN §2.1 ``delete``: nodes drop the target's body).

Inside the ingest transaction, ``drop_bodies`` replaces the stored S of every record a
delete of its own author retracts — whichever of the two arrived first — with its stub
(``meshchat.stubs``), and with a deleted message the edits of its author too. The
derived rows that held its words go with it: the file index row and the legacy line.

``bury`` keeps a stub a peer sent (a record it deleted that this node never had) so
sync does not ask for it at every round, but only in place of a record a delete held
here retracts: a stub is unsigned, so it is believed only that far.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import aiosqlite

from meshchat.records import Record
from meshchat.store import queries, resolve, views
from meshchat.store.schema import SHOWN_NONE
from meshchat.stubs import BODIED_KINDS, stub_of

TO_STUB = "UPDATE records SET S = ?, sig = X'' WHERE id = ? AND sig != X''"
DROP_FILE_REF = "DELETE FROM file_refs WHERE record_id = ?"
DROP_LINE = "UPDATE legacy_lines SET line = '', deleted = 1 WHERE record_id = ?"


def _retracted(record: Record, around: Sequence[Record], node_keys: Collection[bytes]) -> bool:
    """Tell whether a delete of the record's own author is among ``around``."""
    return any(
        d.kind == "delete"
        and d.body.get("target") == record.id
        and resolve.same_actor(record, d, node_keys)
        for d in around
    )


async def _records(conn: aiosqlite.Connection, ids: Sequence[bytes]) -> dict[bytes, Record]:
    found: dict[bytes, Record] = {}
    for part in views.chunks(ids):
        for row in await conn.execute_fetchall(queries.records_by_id(len(part)), tuple(part)):
            record = views.to_record(row)
            found[record.id] = record
    return found


async def drop_bodies(
    conn: aiosqlite.Connection, stored: Sequence[Record], node_keys: Collection[bytes]
) -> set[bytes]:
    """Stub what the just-stored records retract or what arrived already retracted.

    Returns the ids stubbed (records of this batch among them arrived deleted).
    """
    known = {r.id: r for r in stored}
    wanted = {r.id for r in stored if r.kind in BODIED_KINDS}
    wanted |= {r.body["target"] for r in stored if r.kind in ("delete", "edit")}
    known.update(await _records(conn, [i for i in wanted if i not in known]))
    related = await views.load_related(conn, sorted(wanted))
    gone: dict[bytes, Record] = {}
    for rid in wanted:
        record = known.get(rid)
        if record is None or record.kind not in BODIED_KINDS:
            continue
        around = related.get(rid, [])
        if not _retracted(record, around, node_keys):
            continue
        gone[rid] = record
        if record.kind in ("msg", "file"):  # its author's edits said it again
            for edit in around:
                mine = edit.kind == "edit" and edit.body.get("target") == rid
                if mine and resolve.same_actor(record, edit, node_keys):
                    gone[edit.id] = edit
    stubs = [(stub_of(r), r.id) for r in gone.values() if not r.gone]
    if stubs:
        await conn.executemany(TO_STUB, stubs)
        ids = [(rid,) for _, rid in stubs]
        await conn.executemany(DROP_FILE_REF, ids)
        await conn.executemany(DROP_LINE, ids)
    return {rid for _, rid in stubs}


async def bury(
    conn: aiosqlite.Connection,
    stubs: Sequence[Record],
    node_keys: Collection[bytes],
    origin: str,
    received_at_ms: int,
    first_seq: int,
) -> list[str]:
    """Keep peers' stubs of records deleted here; "ok" | "dup" | "reject:not_deleted" each.

    A stub is kept when a delete held here retracts its record, or, for an edit, when
    its author deleted the message it edits (that message held here, or kept just now).
    """
    ids = list(dict.fromkeys(s.id for s in stubs))
    parents = [s.body["target"] for s in stubs if s.kind == "edit" and "target" in s.body]
    wanted = list(dict.fromkeys([*ids, *parents]))
    held = await _records(conn, wanted)
    related = await views.load_related(conn, wanted)

    def deleted(stub: Record) -> bool:
        if _retracted(stub, related.get(stub.id, []), node_keys):
            return True
        parent = held.get(stub.body.get("target", b"")) if stub.kind == "edit" else None
        return (
            parent is not None
            and parent.kind == "msg"
            and resolve.same_actor(parent, stub, node_keys)
            and _retracted(parent, related.get(parent.id, []), node_keys)
        )

    results: dict[int, str] = {}
    rows: list[tuple[object, ...]] = []
    # Messages first: an edit's stub is believed once its message's is kept.
    for index, stub in sorted(enumerate(stubs), key=lambda pair: pair[1].kind == "edit"):
        if stub.id in held:
            results[index] = "dup"
        elif deleted(stub):
            held[stub.id] = stub
            rows.append(_row(stub, first_seq + len(rows), origin, received_at_ms))
            results[index] = "ok"
        else:
            results[index] = "reject:not_deleted"
    if rows:
        await conn.executemany(queries.INSERT_RECORD, rows)
        zones: dict[str, int] = {}
        for index, stub in enumerate(stubs):
            if results[index] == "ok":
                zones[stub.zone] = zones.get(stub.zone, 0) + 1
        await conn.executemany(queries.ADD_ZONE_COUNT, list(zones.items()))
    return [results[i] for i in range(len(stubs))]


def _row(stub: Record, seq: int, origin: str, received_at_ms: int) -> tuple[object, ...]:
    """Return the records row of a kept stub: never shown here (this node never had it)."""
    target = stub.body.get("target")
    return (
        seq,
        stub.id,
        stub.zone,
        stub.ts,
        stub.author,
        stub.kind,
        SHOWN_NONE,
        None,
        None,
        target if isinstance(target, bytes) else None,
        None,
        None,
        None,
        *stub.envelope,
        received_at_ms,
        origin,
        None,  # no full-text key: never shown
    )
