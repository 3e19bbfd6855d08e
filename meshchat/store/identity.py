"""Identity kept by the store: node trust, callsign bindings, sessions, local authorship.

The rules are in ``trust`` (pure); this part feeds them from the database and keeps the
trusted node keys in memory, recomputed when a ``node`` record or a direct peer arrives.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

from meshchat.clock import wall_ms
from meshchat.records import Record
from meshchat.store import queries, rights, trust
from meshchat.store.base import StoreBase
from meshchat.store.views import to_record


class IdentityStore(StoreBase):
    """Node keys, bindings and the node-local identity tables."""

    _own_key: bytes | None
    _announced: set[bytes]  # the authors of node records
    _direct: set[bytes]
    _vouches: dict[bytes, set[bytes]]  # direct peer -> the node keys its info named

    async def _load_identity(self, own_key: bytes | None) -> None:
        """Read what node trust is computed from, once, at open."""
        self._own_key = own_key
        self._announced = {bytes(r[0]) for r in await self._fetch(queries.NODE_AUTHORS, ())}
        self._direct = {bytes(r[0]) for r in await self._fetch(queries.DIRECT_PEERS, ())}
        self._vouches = {}
        for via, key in await self._fetch(queries.NODE_VOUCHES, ()):
            self._vouches.setdefault(bytes(via), set()).add(bytes(key))
        self._retrust()

    def _retrust(self) -> None:
        self._node_keys = trust.node_keys(
            self._own_key, self._announced, self._direct, self._vouches
        )

    def _stored(self, fresh: Collection[Record]) -> None:
        """Note newly stored records that change trust (called by ``insert``)."""
        authors = {r.author for r in fresh if r.kind == "node"} - self._announced
        if authors:
            self._announced |= authors
            self._retrust()

    @property
    def node_keys(self) -> frozenset[bytes]:
        """Return the keys trusted as nodes here (see ``store.trust``)."""
        return self._node_keys

    async def note_peer(self, node_id: str, vouched: Sequence[str]) -> None:
        """A sync round with the node ``node_id`` completed; it trusts the ``vouched`` keys."""
        via = _key(node_id)
        if via is None:
            return
        keys = {k for k in map(_key, vouched) if k is not None and k != via}
        if via in self._direct and self._vouches.get(via, set()) == keys:
            return
        async with self._write() as conn:
            await conn.execute(queries.ADD_DIRECT_PEER, (via, wall_ms()))
            await conn.execute(queries.CLEAR_VOUCHES, (via,))
            await conn.executemany(queries.ADD_VOUCH, [(via, k) for k in sorted(keys)])
        self._direct.add(via)
        self._vouches[via] = keys
        self._retrust()

    async def add_direct_peer(self, key: bytes) -> None:
        """Remember that this node synced with ``key`` (what it vouches for is kept)."""
        await self.note_peer(key.hex(), [k.hex() for k in self._vouches.get(key, ())])

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

    async def first_claims(self, zone: str, since: int = 0) -> list[bytes]:
        """Return the ids of the records from ``since`` on that a newcomer takes first.

        In this node's arrival order: the record that made each callsign claim, and every
        record that founds a channel (docs/decisions.md "Access control"), so a node that
        bootstraps from here sees the same bindings and the same channel owners.
        """
        params = {"zone": zone, "since": since}
        found = [(int(r[0]), bytes(r[1])) for r in await self._fetch(queries.FIRST_CLAIMS, params)]
        for row in await self._fetch(queries.CHANNEL_DEFS, (zone,)):
            record = to_record(row)
            if rights.pointer(record) is None and record.ts >= since:
                found.append((int(row[0]), record.id))
        return list(dict.fromkeys(rid for _, rid in sorted(found)))

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

    async def authored_among(self, ids: Sequence[bytes], device: bytes) -> set[bytes]:
        """Return which of ``ids`` the browser ``device`` posted here."""
        found: set[bytes] = set()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = await self._fetch(queries.authored_among(len(part)), (device, *part))
            found.update(bytes(r[0]) for r in rows)
        return found

    async def authored_by(self, record_id: bytes) -> bytes | None:
        """Return the device that posted ``record_id`` here, or None."""
        rows = await self._fetch(queries.AUTHORED, (record_id,))
        return bytes(rows[0][0]) if rows else None


def _key(hex_id: str) -> bytes | None:
    """Return a node id (64 hex digits) as a key, or None when it is not one."""
    if len(hex_id) != 64:
        return None
    try:
        return bytes.fromhex(hex_id)
    except ValueError:
        return None
