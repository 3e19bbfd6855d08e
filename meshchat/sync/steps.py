"""What a zone-sync session asks its driver to do (``session.ZoneSession``'s steps).

Frozen values, like h11's events: a request to send is a ``wire`` value and its answer
a ``replies`` value; the local actions are ``Ingest``, ``Load`` and ``SaveCursor``; the
last step is ``Settled``. A ``Cursor`` validates on construction, so a peer's page that
would leave a bad bootstrap position is refused before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshchat import records
from meshchat.errors import RemoteProtocolError
from meshchat.sync import wire
from meshchat.sync.replies import (
    Envelope,
    FirstsReply,
    GetReply,
    PutReply,
    RangeReply,
    ReconcileReply,
)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A bootstrap position: the (ts, id) of the last record paged in."""

    ts: int
    id: bytes

    def __post_init__(self) -> None:
        """Refuse a position no store can page after."""
        if type(self.ts) is not int or not 0 <= self.ts <= wire.I64_MAX:
            raise RemoteProtocolError("range: a record's ts is out of range")
        if not isinstance(self.id, bytes) or len(self.id) != 32:
            raise RemoteProtocolError("range: a cursor id is 32 bytes")

    @classmethod
    def after(cls, zone: str, envelope: Envelope) -> Cursor:
        """Return the cursor after ``envelope``, a page's last record; refuse a bad one."""
        try:
            header = records.unpack(envelope[0])
        except RemoteProtocolError as exc:
            raise RemoteProtocolError(f"range: the page ends in a bad record ({exc})") from None
        if not (isinstance(header, list) and len(header) == 6 and header[1] == zone):
            raise RemoteProtocolError("range: the page ends in a record that is not the zone's")
        return cls(header[4], records.record_id(envelope[0]))

    @classmethod
    def load(cls, text: str | None) -> Cursor | None:
        """Read a saved cursor ``TS:IDHEX``; None when there is none or it is unreadable."""
        ts_text, _, id_hex = (text or "").partition(":")
        try:
            return cls(int(ts_text), bytes.fromhex(id_hex))
        except (ValueError, RemoteProtocolError):
            return None

    def dump(self) -> str:
        """Return the cursor as it is saved."""
        return f"{self.ts}:{self.id.hex()}"


@dataclass(frozen=True, slots=True)
class Ingest:
    """Submit these envelopes to ingest (origin: the peer) before the next step."""

    envelopes: tuple[Envelope, ...]


@dataclass(frozen=True, slots=True)
class Load:
    """Read the stored envelopes of these ids and hand them back with ``loaded``."""

    ids: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class SaveCursor:
    """Store the bootstrap cursor durably; ``None`` means the bootstrap finished."""

    cursor: Cursor | None

    @property
    def text(self) -> str:
        """Return the value to store (empty once finished)."""
        return "" if self.cursor is None else self.cursor.dump()


@dataclass(frozen=True, slots=True)
class Settled:
    """Both sides hold the zone's records in the range; the session is over."""

    rounds: int  # Negentropy round trips
    fetched: int  # ids this node lacked
    pushed: int  # ids the peer lacked


Request = wire.Firsts | wire.Range | wire.Reconcile | wire.Get | wire.Put
Reply = FirstsReply | RangeReply | ReconcileReply | GetReply | PutReply
Step = Request | Ingest | Load | SaveCursor | Settled
