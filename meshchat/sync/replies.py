"""Sync API reply values (DESIGN §5.2): frozen dataclasses that validate on construction.

The answers to ``wire.Reconcile``, ``Get``, ``Range`` and ``Put``. The client parses a
peer's decoded reply into one of these or gets a RemoteProtocolError; the server's
handlers and the in-memory tests build them with ``sync.responder`` and send
``to_wire()``, so both sides of a session speak through the same values (STYLE.md 3).
Unknown keys in a reply are ignored: a newer peer may add some.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshchat import records
from meshchat.errors import RemoteProtocolError
from meshchat.stubs import MAX_STUB_BYTES
from meshchat.sync import announce, wire

Envelope = tuple[bytes, bytes]


def _need(cond: bool, detail: str) -> None:
    if not cond:
        raise RemoteProtocolError(detail)


def _envelopes(value: Any) -> tuple[Envelope, ...]:
    _need(isinstance(value, list | tuple), "records must be a list")
    return tuple(records.unpack_envelope(e) for e in value)


def _check_envelopes(value: Any) -> None:
    _need(isinstance(value, tuple), "records must be a tuple")
    for env in value:
        _need(
            isinstance(env, tuple)
            and len(env) == 2
            and isinstance(env[0], bytes)
            and isinstance(env[1], bytes),
            "each record is [S: bin, sig: bin]",
        )


@dataclass(frozen=True, slots=True)
class ReconcileReply:
    """``{neg, since?}``: the responder's Negentropy message and the range start it used.

    ``since`` is where the responder's history starts when that is later than the range
    the request asked for (its record cap or a shorter horizon): the initiator then
    reconciles again from there instead of offering what the responder pruned.
    """

    neg: bytes
    since: int | None = None

    def __post_init__(self) -> None:
        """Refuse a reply without a message or with an impossible range start."""
        _need(isinstance(self.neg, bytes), "reply has no neg")
        since = self.since
        _need(
            since is None or (type(since) is int and 0 <= since < 2**63),
            "since must be a non-negative integer",
        )

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> ReconcileReply:
        """Build from a decoded reply map."""
        return cls(body.get("neg"), body.get("since"))  # type: ignore[arg-type]

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        body: dict[str, Any] = {"neg": self.neg}
        if self.since is not None:
            body["since"] = self.since
        return body


@dataclass(frozen=True, slots=True)
class GetReply:
    """``{records, more, gone?}``: the envelopes sent, the asked ids left for another get,
    and the stubs of asked records their authors deleted (``meshchat.stubs``)."""

    records: tuple[Envelope, ...]
    more: tuple[bytes, ...] = ()
    gone: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        """Refuse malformed envelopes, ids or stubs."""
        _check_envelopes(self.records)
        _need(
            isinstance(self.more, tuple)
            and all(isinstance(i, bytes) and len(i) == 32 for i in self.more),
            "bad `more` list",
        )
        _need(
            isinstance(self.gone, tuple)
            and all(isinstance(s, bytes) and 0 < len(s) <= MAX_STUB_BYTES for s in self.gone),
            "bad `gone` list",
        )

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> GetReply:
        """Build from a decoded reply map."""
        more, gone = body.get("more", []), body.get("gone", [])
        _need(isinstance(more, list), "bad `more` list")
        _need(isinstance(gone, list), "bad `gone` list")
        return cls(_envelopes(body.get("records", [])), tuple(more), tuple(gone))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body (``gone`` only when there is one)."""
        body: dict[str, Any] = {"records": [list(e) for e in self.records], "more": list(self.more)}
        if self.gone:
            body["gone"] = list(self.gone)
        return body


@dataclass(frozen=True, slots=True)
class RangeReply:
    """``{records, done}``: one bootstrap page in (ts, id) order; ``done`` on the last."""

    records: tuple[Envelope, ...]
    done: bool = True

    def __post_init__(self) -> None:
        """Refuse malformed envelopes."""
        _check_envelopes(self.records)
        _need(isinstance(self.done, bool), "done must be a bool")

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> RangeReply:
        """Build from a decoded reply map (a missing ``done`` means the last page)."""
        return cls(_envelopes(body.get("records", [])), bool(body.get("done", True)))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        return {"records": [list(e) for e in self.records], "done": self.done}


@dataclass(frozen=True, slots=True)
class FirstsReply:
    """``{ids}``: the ids of the records that made each claim, in the peer's arrival order."""

    ids: tuple[bytes, ...]

    def __post_init__(self) -> None:
        """Refuse more ids than a firsts reply may hold, or ids that are not 32 bytes."""
        _need(isinstance(self.ids, tuple), "ids must be a list")
        _need(len(self.ids) <= wire.MAX_FIRSTS, f"at most {wire.MAX_FIRSTS} ids")
        _need(all(isinstance(i, bytes) and len(i) == 32 for i in self.ids), "bad ids")

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> FirstsReply:
        """Build from a decoded reply map."""
        ids = body.get("ids", [])
        _need(isinstance(ids, list), "ids must be a list")
        return cls(tuple(ids))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        return {"ids": list(self.ids)}


@dataclass(frozen=True, slots=True)
class PutReply:
    """``{results, keep?}``: ``ok``, ``dup`` or ``reject:<reason>`` per record, in order.

    ``keep`` (only when true): nothing was new, but the link is the callee's last eager
    one, so the caller should keep pushing on it (docs/decisions.md "Dissemination").
    """

    results: tuple[str, ...]
    keep: bool = False

    def __post_init__(self) -> None:
        """Refuse anything but a list of strings."""
        _need(isinstance(self.results, tuple), "results must be a list")
        _need(all(isinstance(r, str) for r in self.results), "results are strings")

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> PutReply:
        """Build from a decoded reply map."""
        results = body.get("results")
        _need(isinstance(results, list), "results do not match the records sent")
        return cls(tuple(str(r) for r in results), body.get("keep") is True)  # type: ignore[union-attr]

    @property
    def accepted(self) -> int:
        """Return how many records the peer stored as new."""
        return sum(1 for r in self.results if r == "ok")

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        body: dict[str, Any] = {"results": list(self.results)}
        if self.keep:
            body["keep"] = True
        return body


@dataclass(frozen=True, slots=True)
class IHaveReply:
    """``{want}``: the announced prefixes the peer lacks (it grafts the link)."""

    want: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        """Refuse anything but 8-byte prefixes."""
        _need(isinstance(self.want, tuple), "want must be a list")
        _need(len(self.want) <= announce.MAX_IHAVE, "too many wants")
        _need(all(isinstance(i, bytes) and len(i) == announce.ID_PREFIX for i in self.want), "want")

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> IHaveReply:
        """Build from a decoded reply map."""
        want = body.get("want", [])
        _need(isinstance(want, list), "want must be a list")
        return cls(tuple(want))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        return {"want": list(self.want)}


@dataclass(frozen=True, slots=True)
class WatchReply:
    """``{records, ihave, linked}``: what is new at the watched node since the last reply.

    ``linked``: the watched node pushes to the caller over a link of its own, so the
    caller may rest the watch.
    """

    records: tuple[Envelope, ...] = ()
    ihave: tuple[bytes, ...] = ()
    linked: bool = False

    def __post_init__(self) -> None:
        """Refuse malformed envelopes or prefixes."""
        _check_envelopes(self.records)
        _need(isinstance(self.ihave, tuple) and len(self.ihave) <= announce.MAX_IHAVE, "ihave")
        size = announce.ID_PREFIX
        _need(all(isinstance(i, bytes) and len(i) == size for i in self.ihave), "ihave")
        _need(isinstance(self.linked, bool), "linked must be a bool")

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> WatchReply:
        """Build from a decoded reply map."""
        ihave = body.get("ihave", [])
        _need(isinstance(ihave, list), "ihave must be a list")
        linked = body.get("linked", False)
        return cls(_envelopes(body.get("records", [])), tuple(ihave), linked)

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body (empty parts left out: radio bytes)."""
        body: dict[str, Any] = {}
        if self.records:
            body["records"] = [list(e) for e in self.records]
        if self.ihave:
            body["ihave"] = list(self.ihave)
        if self.linked:
            body["linked"] = True
        return body
