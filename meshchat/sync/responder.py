"""How a node answers ``reconcile``, ``get`` and ``range``, without I/O (DESIGN §5.2).

The sync server's handlers read the store and call these; the in-memory session tests
call the same functions over a dict, so both exercise one answering code path.
"""

from __future__ import annotations

from collections.abc import Sequence

from meshchat import records
from meshchat.sync import wire
from meshchat.sync.negentropy import ItemSource, NegentropyResponder
from meshchat.sync.replies import Envelope, GetReply, RangeReply, ReconcileReply


def reconcile_since(requested: int | None, horizon_start: int) -> int:
    """Return the range start to reconcile: never below our own horizon (DESIGN §2.4).

    A longer-lived peer can then neither feed us back what we pruned nor ask us for it.
    """
    return max(requested or 0, horizon_start)


def answer_reconcile(
    window: ItemSource, frame_limit: int, neg: bytes, requested: int | None = None, since: int = 0
) -> ReconcileReply:
    """Answer one Negentropy message over ``window`` (stateless: nothing is kept).

    ``since`` is the start the window was cut at; it is sent back when it is later than
    the ``requested`` one, so the initiator can start again from there.
    """
    answer = NegentropyResponder(window, frame_limit).reconcile(neg)
    return ReconcileReply(answer, since if since > (requested or 0) else None)


def get_reply(zone: str, found: Sequence[Envelope]) -> GetReply:
    """Cut the envelopes found for a ``get`` at ``GET_REPLY_BYTES``; the rest go in ``more``.

    The first record is always sent, so one large record cannot stall a peer; records of
    other zones are never returned. A record whose author deleted it is held as a stub
    (empty signature): it goes in ``gone``, never as a record.
    """
    out: list[Envelope] = []
    more: list[bytes] = []
    gone: list[bytes] = []
    size = 0
    for signed, sig in found:
        record = records.load_trusted(signed, sig)
        if record.zone != zone:
            continue
        if (out or gone) and size + len(signed) + len(sig) > wire.GET_REPLY_BYTES:
            more.append(record.id)
            continue
        if record.gone:
            gone.append(signed)
        else:
            out.append((signed, sig))
        size += len(signed) + len(sig)
    return GetReply(tuple(out), tuple(more), tuple(gone))


def range_start(request: wire.Range, horizon_start: int) -> tuple[int, bytes]:
    """Return the cursor to page after: a cursor below the horizon restarts at the horizon."""
    if request.after_ts < horizon_start:
        return horizon_start, b""
    return request.after_ts, request.after_id


def range_reply(page: Sequence[Envelope], limit: int) -> RangeReply:
    """Cut one page (at most ``limit`` envelopes, in order) at ``RANGE_REPLY_BYTES``.

    ``done`` only when the whole page fits and the store had fewer than ``limit`` left.
    """
    out: list[Envelope] = []
    size = 0
    for signed, sig in page:
        if out and size + len(signed) + len(sig) > wire.RANGE_REPLY_BYTES:
            break
        out.append((signed, sig))
        size += len(signed) + len(sig)
    return RangeReply(tuple(out), len(out) == len(page) and len(page) < limit)
