"""Wire values of dissemination (docs/decisions.md "Dissemination"): ``ihave`` and ``watch``.

Frozen dataclasses that validate on construction, like ``wire`` (STYLE.md 3); the bounds
are part of the threat model (docs/sync-threat-model.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshchat.sync.wire import _map, _need, _zone

ID_PREFIX = 8  # an announcement names a record by the first 8 bytes of its id
MAX_IHAVE = 1024  # prefixes per announcement (and per want)
MAX_WATCH_ZONES = 64


def _prefixes(value: Any, name: str) -> tuple[bytes, ...]:
    _need(isinstance(value, list | tuple) and len(value) <= MAX_IHAVE, f"{name}: <= {MAX_IHAVE}")
    for item in value:
        _need(isinstance(item, bytes) and len(item) == ID_PREFIX, f"{name}: 8-byte binaries")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class IHave:
    """``POST /sync/v1/ihave {zone, ids}``: ids-only announcement on a lazy link."""

    zone: str
    ids: tuple[bytes, ...]

    def __post_init__(self) -> None:
        """Refuse an impossible announcement."""
        _zone(self.zone)
        _prefixes(self.ids, "ids")

    @classmethod
    def parse(cls, body: Any) -> IHave:
        """Build from a decoded request body."""
        m: Any = _map(body, frozenset({"zone", "ids"}))
        return cls(m.get("zone"), _prefixes(m.get("ids"), "ids"))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        return {"zone": self.zone, "ids": list(self.ids)}


@dataclass(frozen=True, slots=True)
class Watch:
    """``POST /sync/v1/watch {zones, eager, want}``: a held request for new records.

    The caller (who may not be reachable itself) asks to be told of records new here:
    whole records while ``eager``, their id prefixes otherwise; ``want`` names prefixes
    it was told of and lacks, sent back at once.
    """

    zones: tuple[str, ...]
    eager: bool = True
    want: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        """Refuse an impossible request."""
        _need(isinstance(self.zones, tuple), "zones must be a list")
        _need(0 < len(self.zones) <= MAX_WATCH_ZONES, f"zones: 1..{MAX_WATCH_ZONES}")
        for zone in self.zones:
            _zone(zone)
        _need(isinstance(self.eager, bool), "eager must be a bool")
        _prefixes(self.want, "want")

    @classmethod
    def parse(cls, body: Any) -> Watch:
        """Build from a decoded request body."""
        m: Any = _map(body, frozenset({"zones", "eager", "want"}))
        zones: Any = m.get("zones")
        _need(isinstance(zones, list), "zones must be a list")
        return cls(tuple(zones), m.get("eager", True), _prefixes(m.get("want", []), "want"))

    def to_wire(self) -> dict[str, Any]:
        """Return the msgpack-ready body."""
        body: dict[str, Any] = {"zones": list(self.zones), "eager": self.eager}
        if self.want:
            body["want"] = list(self.want)
        return body
