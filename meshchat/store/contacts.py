"""Contact addresses and last-online times (schema version 3), for offline notices.

Stored only in this node's database, never in the replicated log: an address stays on the
node its owner typed it on. Every statement is named here (DESIGN §4).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from meshchat.store.db import Store

# --- contacts and last-online times ---------------------------------------------------------

CONTACT_COLS = "id, callsign, kind, address, created_at"
CONTACTS_OF = f"SELECT {CONTACT_COLS} FROM contacts WHERE callsign = ? ORDER BY id"
CONTACT_CALLSIGNS = "SELECT DISTINCT callsign FROM contacts"
COUNT_CONTACTS = "SELECT count(*), sum(callsign = ?) FROM contacts"
ADD_CONTACT = """
INSERT INTO contacts (callsign, kind, address, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (callsign, kind, address) DO NOTHING
"""
CONTACT_BY_KEY = f"""
SELECT {CONTACT_COLS} FROM contacts WHERE callsign = ? AND kind = ? AND address = ?
"""
DELETE_CONTACT = "DELETE FROM contacts WHERE callsign = ? AND id = ?"
LAST_ONLINE_GET = "SELECT at FROM last_online WHERE callsign = ?"
LAST_ONLINE_SET = """
INSERT INTO last_online (callsign, at) VALUES (?, ?)
ON CONFLICT (callsign) DO UPDATE SET at = max(at, excluded.at)
"""


@dataclass(frozen=True, slots=True)
class Contact:
    """An address a user registered on this node for offline notices."""

    id: int
    callsign: str
    kind: str
    address: str
    created_at: int

    def to_json(self) -> dict[str, Any]:
        """Return the contacts API's form."""
        return {"id": self.id, "kind": self.kind, "address": self.address, "at": self.created_at}


def _contact(row: Sequence[Any]) -> Contact:
    return Contact(int(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]))


class ContactStore:
    """Contacts and last-online times, through the store's writer and reader."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def contacts(self, callsign: str) -> list[Contact]:
        """Return the addresses ``callsign`` registered here, oldest first."""
        return [_contact(r) for r in await self.store._fetch(CONTACTS_OF, (callsign,))]

    async def contact_callsigns(self) -> set[str]:
        """Return every callsign with at least one contact address here."""
        return {str(r[0]) for r in await self.store._fetch(CONTACT_CALLSIGNS, ())}

    async def add_contact(
        self, callsign: str, kind: str, address: str, now: int, *, per_callsign: int, total: int
    ) -> Contact | None:
        """Add an address (idempotent); None when a limit is reached."""
        async with self.store._write() as conn:
            found = list(await conn.execute_fetchall(CONTACT_BY_KEY, (callsign, kind, address)))
            if found:
                return _contact(found[0])
            counts = list(await conn.execute_fetchall(COUNT_CONTACTS, (callsign,)))
            everyone, mine = int(counts[0][0]), int(counts[0][1] or 0)
            if mine >= per_callsign or everyone >= total:
                return None
            await conn.execute(ADD_CONTACT, (callsign, kind, address, now))
            # Registering is being online: the offline clock starts here.
            await conn.execute(LAST_ONLINE_SET, (callsign, now))
            rows = list(await conn.execute_fetchall(CONTACT_BY_KEY, (callsign, kind, address)))
        return _contact(rows[0])

    async def delete_contact(self, callsign: str, contact_id: int) -> bool:
        """Remove one of ``callsign``'s addresses; tell whether it existed."""
        async with self.store._write() as conn:
            cursor = await conn.execute(DELETE_CONTACT, (callsign, contact_id))
            return bool(cursor.rowcount)

    async def last_online(self, callsign: str) -> int | None:
        """Return when ``callsign`` was last seen online (ms), or None."""
        rows = await self.store._fetch(LAST_ONLINE_GET, (callsign,))
        return int(rows[0][0]) if rows else None

    async def set_last_online(self, seen: dict[str, int], only: Collection[str]) -> None:
        """Remember when each callsign of ``only`` in ``seen`` was online (never earlier)."""
        items = [(c, at) for c, at in seen.items() if c in only]
        if not items:
            return
        async with self.store._write() as conn:
            await conn.executemany(LAST_ONLINE_SET, items)
