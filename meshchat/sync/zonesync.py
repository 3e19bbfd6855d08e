"""Drive a ``session.ZoneSession`` against a peer: the store, ingest and HTTP half of it.

Every decision is the session's; this module only does what each step asks, in order,
so a step is done (a page ingested, a cursor stored) before the next is asked for, with
one exception: a bootstrap page is ingested, and then its cursor stored, while the next
page is fetched, so verifying and storing overlap the transfer (only a ``wire.Range``
passes an ingest still under way; every other step waits for it).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from meshchat.clock import wall_ms
from meshchat.horizon import Horizon
from meshchat.ingest import Ingestor
from meshchat.store.db import Store
from meshchat.sync import wire
from meshchat.sync.client import PeerClient
from meshchat.sync.index import ZoneIndex
from meshchat.sync.session import ZoneSession, since_for
from meshchat.sync.steps import Ingest, Load, SaveCursor, Settled, Step


def cursor_key(zone: str, url: str) -> str:
    """Return the meta key of the bootstrap cursor of ``zone`` from the peer at ``url``."""
    return f"bootstrap:{zone}:{url}"


@dataclass(frozen=True)
class ZoneSync:
    """Runs zone sessions for one node over its index, store and ingest."""

    store: Store
    ingestor: Ingestor
    index: ZoneIndex
    horizon: Horizon
    frame_limit: int

    async def run(
        self, client: PeerClient, zone: str, peer_count: int, paged_in: set[str]
    ) -> Settled:
        """Sync ``zone`` with the client's peer; add it to ``paged_in`` once paged in."""
        peer = client.peer
        now = wall_ms()
        own = self.horizon.span_ms(zone, now)  # never below what we pruned, by either limit
        since = since_for(now, own, peer.zones.get(zone, own))
        key = cursor_key(zone, peer.url)
        session = ZoneSession(
            zone,
            await self.index.window(zone, since),
            since=since,
            peer_count=peer_count,
            cursor=await self.store.meta_get(key),
            paged_in=zone in paged_in,
            frame_limit=self.frame_limit,
            skip=self.ingestor.refused_future(),
        )
        # records_in is counted by the scheduler's ingest subscriber, which also sees
        # what the peer pushed.
        origin = f"peer:{peer.node_id}"

        async def do(step: Step) -> None:
            if isinstance(step, Ingest):
                await self.ingestor.submit(step.envelopes, origin)
            elif isinstance(step, SaveCursor):
                await self.store.meta_set(key, step.text)
                if step.cursor is None:
                    paged_in.add(zone)
            elif isinstance(step, Load):
                session.loaded(await self.store.get_envelopes(step.ids))
            elif not isinstance(step, Settled):
                session.receive(await client.send(step))

        async def after(before: asyncio.Future[None] | None, step: Step) -> None:
            if before is not None:
                await before  # a failed ingest: nothing after it is done
            await do(step)

        chain: asyncio.Future[None] | None = None  # ingests and cursors, in order
        try:
            while True:
                step = session.next_step()
                if isinstance(step, Ingest | SaveCursor):
                    chain = asyncio.ensure_future(after(chain, step))
                    continue
                if chain is not None and not isinstance(step, wire.Range):
                    await chain
                    chain = None
                if isinstance(step, Settled):
                    if session.since > since:  # the peer keeps less than its info said
                        peer.zones[zone] = max(0, now - session.since)
                    return step
                await do(step)
        except asyncio.CancelledError:
            if chain is not None:
                chain.cancel()
                await asyncio.gather(chain, return_exceptions=True)
            raise
        except Exception:
            if chain is not None:  # a failed request: keep what was fetched all the same
                with contextlib.suppress(Exception):
                    await chain
            raise
