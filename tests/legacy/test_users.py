"""Legacy nodes' users as presence origins: a new version on a change, a refresh now and then."""

from __future__ import annotations

from meshchat.legacy.users import LegacyOrigins
from meshchat.presence import PresenceEntry

T = 1_800_000_000_000


def seen(callsign: str, node: str, at: int) -> PresenceEntry:
    return PresenceEntry(callsign, node, "online", at, at)


def test_a_list_that_only_moves_its_stamps_is_not_a_change() -> None:
    origins = LegacyOrigins(refresh_ms=120_000)
    (first,) = origins.updates([seen("K1LEG", "leg-1", T)], T)
    assert (first.node, first.prev, first.users) == ("leg-1", None, (("K1LEG", "online", T),))
    assert origins.updates([seen("K1LEG", "leg-1", T + 10_000)], T + 10_000) == []
    (refresh,) = origins.updates([seen("K1LEG", "leg-1", T + 130_000)], T + 130_000)
    assert refresh.version > first.version and refresh.users == first.users  # since kept
    (joined,) = origins.updates(
        [seen("K1LEG", "leg-1", T + 140_000), seen("W2NEW", "leg-1", T + 140_000)], T + 140_000
    )
    assert {u[0] for u in joined.users} == {"K1LEG", "W2NEW"} and joined.version > refresh.version


def test_each_legacy_node_is_its_own_origin() -> None:
    origins = LegacyOrigins(refresh_ms=120_000)
    updates = origins.updates([seen("K1LEG", "leg-1", T), seen("K2LEG", "leg-2", T)], T)
    assert sorted(u.node for u in updates) == ["leg-1", "leg-2"]
