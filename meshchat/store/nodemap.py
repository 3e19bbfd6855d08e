"""The nodes a zone's log knows of: their signed ``node`` records and recent messages.

Every node announces itself with a ``node`` record, which sync carries zone-wide, so a
node two hops away is known here without being a peer. Messages name the node they were
posted on (``node`` in a ``msg`` body, the node field of a legacy line); the newest
``RECENT`` of them tell when each node was last heard from and which nodes are legacy.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import aiosqlite

from meshchat.records import load_trusted
from meshchat.store import resolve
from meshchat.store.db import Store

RECENT = 500
_NODE_RECORDS = "SELECT S, sig FROM records WHERE kind = 'node' AND zone = ? ORDER BY ts, id"
_RECENT = """
SELECT S, sig FROM records WHERE zone = ? AND shown = 1 ORDER BY ts DESC, id DESC LIMIT ?
"""


@dataclass(frozen=True, slots=True)
class LoggedNode:
    """A node as the log knows it: its announcement and its newest message here."""

    name: str
    key: str | None = None  # hex node key, from its signed node record
    platform: str = ""
    version: str = ""
    announced: int | None = None  # ts of its newest node record
    last_message: int | None = None  # ts of the newest recent message posted on it
    legacy: bool = False  # named only by legacy message lines


async def logged_nodes(store: Store, zone: str, recent: int = RECENT) -> list[LoggedNode]:
    """Return every node of ``zone`` the log names, by name (see the module docstring)."""

    async def run(conn: aiosqlite.Connection, node_keys: Collection[bytes]) -> list[LoggedNode]:
        del node_keys
        found: dict[str, LoggedNode] = {}
        for s, sig in await conn.execute_fetchall(_NODE_RECORDS, (zone,)):
            rec = load_trusted(bytes(s), bytes(sig))
            name = str(rec.body.get("name", ""))
            found[name] = LoggedNode(
                name,
                rec.author.hex(),
                str(rec.body.get("platform", "")),
                str(rec.body.get("version", "")),
                rec.ts,
            )
        for s, sig in await conn.execute_fetchall(_RECENT, (zone, recent)):
            rec = load_trusted(bytes(s), bytes(sig))
            legacy = rec.kind == "legacy"
            if legacy:
                line = resolve.legacy_of(rec)
                name = line.node if line is not None else ""
                platform = line.platform if line is not None else ""
            else:
                name, platform = str(rec.body.get("node", "")), ""
            if not name:
                continue
            known = found.get(name)
            if known is None:
                found[name] = LoggedNode(
                    name, platform=platform, last_message=rec.ts, legacy=legacy
                )
            elif known.last_message is None:  # newest first: the first seen is the newest
                found[name] = LoggedNode(
                    known.name,
                    known.key,
                    known.platform or platform,
                    known.version,
                    known.announced,
                    rec.ts,
                    known.legacy and legacy,
                )
        return sorted(found.values(), key=lambda n: n.name.lower())

    return await store.read(run)
