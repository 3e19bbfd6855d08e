"""Users both ways: legacy users into presence, this node's users into ``users_raw``.

A legacy node lists the users logged in on it; each legacy node becomes a presence origin
(``LegacyOrigins``), so meshchat's UI shows its users and the digest in each reconcile
brings them to the other nodes. This node's users
(meshchat sessions and the browsers of the old UI polling here) are what our own
``users_raw`` lists, as a legacy node would. Presence travels one hop, as in LEGACY.md.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from meshchat import callsign as callsigns
from meshchat import schemas
from meshchat.errors import MeshchatError
from meshchat.legacy.codec import PLATFORM
from meshchat.legacy.lists import LegacyUser, browser_id
from meshchat.presence import PresenceEntry, PresenceService
from meshchat.presencedelta import Update, User

MAX_BROWSER_ID = 64
MAX_BROWSERS = 256


def presence_entries(users: Iterable[LegacyUser]) -> list[PresenceEntry]:
    """Return the presence entries of a legacy node's users; those that do not fit are left out."""
    entries = []
    for user in users:
        try:
            name = callsigns.normalize(user.callsign)
        except MeshchatError:
            continue
        if not schemas.valid_zone(user.node):
            continue
        ms = user.epoch * 1000
        try:
            entries.append(PresenceEntry(name, user.node, "online", ms, ms))
        except MeshchatError:
            continue
    return entries


class LegacyOrigins:
    """Legacy nodes' users as presence updates: each legacy node is the origin of its own.

    A legacy node cannot version its list, so this node does: a new version when the list
    changes, and the same list again every ``refresh_ms`` so it does not expire; an
    unchanged list costs nothing between (docs/decisions.md "Presence as changes").
    """

    def __init__(self, refresh_ms: int) -> None:
        self.refresh_ms = refresh_ms
        self._held: dict[str, tuple[tuple[User, ...], int, int]] = {}  # node -> users, v, at

    def updates(self, entries: Iterable[PresenceEntry], now_ms: int) -> list[Update]:
        """Return the whole-list updates of the legacy nodes whose lists are due."""
        by_node: dict[str, dict[str, User]] = {}
        for entry in entries:
            by_node.setdefault(entry.node, {})[entry.callsign] = (
                entry.callsign,
                entry.status,
                entry.since,
            )
        out = []
        for node, users in by_node.items():
            held = self._held.get(node)
            # A legacy list stamps each user with when it was last seen, which moves at
            # every poll: a change is a user coming, going or changing status, and one
            # who stays keeps the time they were first listed.
            before = {u[0]: u for u in held[0]} if held is not None else {}
            listed = tuple(
                sorted(
                    before[c] if c in before and before[c][1] == u[1] else u
                    for c, u in users.items()
                )
            )
            if held is not None and held[0] == listed and now_ms - held[2] < self.refresh_ms:
                continue
            version = max(now_ms, held[1] + 1 if held is not None else 1)
            self._held[node] = (listed, version, now_ms)
            out.append(Update(node, version, None, listed))
        if len(self._held) > MAX_BROWSERS:  # names a legacy peer made up: keep the newest
            for node in sorted(self._held, key=lambda n: self._held[n][2])[:-MAX_BROWSERS]:
                del self._held[node]
        return out


def local_users(presence: PresenceService, zone: str, node: str) -> list[LegacyUser]:
    """Return this node's users as ``users_raw`` lists them."""
    return [
        LegacyUser(e.callsign, browser_id(e.callsign, node), node, e.last_seen // 1000, PLATFORM)
        for e in presence.local(zone)
    ]


def ui_users(
    presence: PresenceService, zone: str, known: dict[tuple[str, str], LegacyUser]
) -> list[dict[str, Any]]:
    """Return everyone online in the zone as the legacy UI's ``users`` action lists them."""
    out = []
    for entry in presence.zone(zone):
        user = known.get((entry.callsign, entry.node))
        out.append(
            {
                "epoch": entry.last_seen // 1000,
                "id": user.browser_id if user else browser_id(entry.callsign, entry.node),
                "call_sign": entry.callsign,
                "node": entry.node,
                "platform": user.platform if user else PLATFORM,
            }
        )
    return sorted(out, key=lambda u: -int(u["epoch"]))


class LegacyBrowsers:
    """Browsers of the old UI on this node: each poll names its callsign and browser id.

    Each one is a session of the presence service while it polls, and leaves once it has
    been quiet for ``idle_s``; at most ``MAX_BROWSERS`` are tracked (the oldest leaves).
    """

    def __init__(
        self,
        presence: PresenceService,
        idle_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.presence = presence
        self.idle_s = idle_s
        self._clock = clock
        self._last: OrderedDict[str, float] = OrderedDict()

    def seen(self, callsign: str, browser: str) -> None:
        """A legacy UI polled with ``call_sign`` and ``id``: its user is online here."""
        try:
            name = callsigns.normalize(callsign)
        except MeshchatError:
            return
        if not 0 < len(browser) <= MAX_BROWSER_ID or not browser.isprintable():
            return
        key = f"legacy-ui\t{browser}\t{name}"
        now = self._clock()
        if key in self._last:
            self.presence.seen(key)
            self._last.move_to_end(key)
        else:
            self.presence.opened(key, name)  # an old UI polling is a tab open
        self._last[key] = now
        self.expire()

    def expire(self) -> None:
        """End the sessions of browsers that stopped polling, and of the oldest over the cap."""
        now = self._clock()
        for key, at in list(self._last.items()):
            if now - at > self.idle_s or len(self._last) > MAX_BROWSERS:
                del self._last[key]
                self.presence.leave(key)
