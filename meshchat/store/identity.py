"""Identity kept by the store: node trust, callsign bindings, sessions, local authorship.

The rules are in ``trust`` (pure); this part feeds them from the database and keeps the
trusted node keys in memory, recomputed when a ``node`` record or a direct peer arrives.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from meshchat.clock import wall_ms
from meshchat.records import Record, load_trusted
from meshchat.store import queries, trust
from meshchat.store.base import StoreBase


class IdentityStore(StoreBase):
    """Node keys, bindings and the node-local identity tables."""

    _own_key: bytes | None
    _direct: set[bytes]
    _vouches: dict[bytes, tuple[int, tuple[bytes, ...]]]  # author -> (ts, peers) of its latest
    _node_keys: frozenset[bytes]

    async def _load_identity(self, own_key: bytes | None) -> None:
        """Read node records and direct peers once, at open."""
        self._own_key = own_key
        self._vouches = {}
        rows = await self._fetch(queries.NODE_RECORDS, ())
        for row in rows:
            self._note_node_record(load_trusted(bytes(row[0]), bytes(row[1])))
        self._direct = {bytes(r[0]) for r in await self._fetch(queries.DIRECT_PEERS, ())}
        self._retrust()

    def _note_node_record(self, record: Record) -> None:
        peers = record.body.get("peers")
        vouched = tuple(p for p in peers if isinstance(p, bytes)) if isinstance(peers, list) else ()
        known = self._vouches.get(record.author)
        if known is None or record.ts >= known[0]:
            self._vouches[record.author] = (record.ts, vouched)

    def _retrust(self) -> None:
        vouches = {key: peers for key, (_, peers) in self._vouches.items()}
        self._node_keys = trust.node_keys(self._own_key, self._direct, vouches)

    def _stored(self, fresh: Collection[Record]) -> None:
        """Note newly stored records that change trust (called by ``insert``)."""
        nodes = [r for r in fresh if r.kind == "node"]
        for record in nodes:
            self._note_node_record(record)
        if nodes:
            self._retrust()

    @property
    def node_keys(self) -> frozenset[bytes]:
        """Return the keys trusted as nodes here (see ``store.trust``)."""
        return self._node_keys

    def direct_peers(self) -> list[bytes]:
        """Return the node keys this node has synced with directly, sorted."""
        return sorted(self._direct)

    async def add_direct_peer(self, key: bytes) -> bool:
        """Remember that this node synced with ``key``; tell whether it was new."""
        if key in self._direct:
            return False
        async with self._write() as conn:
            await conn.execute(queries.ADD_DIRECT_PEER, (key, wall_ms()))
        self._direct.add(key)
        self._retrust()
        return True

    async def bound_keys(self, zone: str, callsigns: Collection[str]) -> dict[str, bytes]:
        """Return the key each of ``callsigns`` is bound to in ``zone`` (absent: unbound)."""
        if not callsigns:
            return {}
        params = {"zone": zone, "callsigns": json.dumps(sorted(callsigns))}
        rows = await self._fetch(queries.CLAIMS_OF, params)
        claims = [(str(r[0]), bytes(r[1])) for r in rows]
        return trust.bindings(claims, self._node_keys)

    async def disputes(self, zone: str) -> dict[str, list[bytes]]:
        """Return callsign → [bound key, other claimants] for every disputed callsign."""
        rows = await self._fetch(queries.CONTESTED, {"zone": zone})
        return trust.disputes([(str(r[0]), bytes(r[1])) for r in rows], self._node_keys)

    async def first_claims(self, zone: str) -> list[bytes]:
        """Return the ids of the records that made each claim, in arrival order."""
        return [bytes(r[0]) for r in await self._fetch(queries.FIRST_CLAIMS, {"zone": zone})]

    # --- node-local tables: sessions and authorship ------------------------------------

    async def save_session(self, token_hash: bytes, sealed: bytes, expires_at_ms: int) -> None:
        """Store a sealed browser session (durably)."""
        async with self._write() as conn:
            await conn.execute(queries.SAVE_SESSION, (token_hash, sealed, expires_at_ms))

    async def delete_session(self, token_hash: bytes) -> None:
        """Forget a session."""
        async with self._write() as conn:
            await conn.execute(queries.DELETE_SESSION, (token_hash,))

    async def sessions(self) -> list[tuple[bytes, bytes, int]]:
        """Return (token hash, sealed, expiry ms) of every unexpired session; drop the rest."""
        now = wall_ms()
        async with self._write() as conn:
            await conn.execute(queries.EXPIRE_SESSIONS, (now,))
        return [
            (bytes(r[0]), bytes(r[1]), int(r[2]))
            for r in await self._fetch(queries.SESSIONS, (now,))
        ]

    async def note_authored(self, record_id: bytes, device: bytes) -> None:
        """Remember which browser posted a record the node signed for it."""
        async with self._write() as conn:
            await conn.execute(queries.ADD_AUTHORED, (record_id, device))

    async def authored_by(self, record_id: bytes) -> bytes | None:
        """Return the device that posted ``record_id`` here, or None."""
        rows = await self._fetch(queries.AUTHORED, (record_id,))
        return bytes(rows[0][0]) if rows else None
