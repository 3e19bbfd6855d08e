"""Drive a ``session.ZoneSession`` against a peer: the store, ingest and HTTP half of it.

Every decision is the session's; this module only does what each step asks, in order,
so a step is done (a page ingested, a cursor stored) before the next is asked for, with
one exception: bootstrap pages are ingested while the next page is fetched, two at a
time, so fetching, verifying and writing overlap; a page's cursor is stored once it and
every page before it are in (only a ``wire.Range`` passes an ingest still under way;
every other step waits for them).
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

# Bootstrap pages ingested at once: one is verified on the ingest threads while the one
# before it is written, so neither waits for the other (issue 12).
INGESTS_IN_FLIGHT = 2


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
        self,
        client: PeerClient,
        zone: str,
        peer_count: int,
        paged_in: set[str],
        digest: bool = False,
    ) -> Settled:
        """Sync ``zone`` with the client's peer; add it to ``paged_in`` once paged in.

        ``digest``: start from one fingerprint of the whole window (a settle check: one
        small round when both hold the same).
        """
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
            digest=digest,
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

        async def after(before: list[asyncio.Future[None]], step: Step) -> None:
            for earlier in before:
                await earlier  # a failed ingest: no cursor after it is saved
            await do(step)

        # Ingests and saves under way, oldest first; a save waits for all before it.
        work: list[asyncio.Future[None]] = []
        ingesting: list[asyncio.Future[None]] = []
        try:
            while True:
                step = session.next_step()
                if isinstance(step, Ingest):
                    ingesting[:] = [page for page in ingesting if not page.done()]
                    if len(ingesting) >= INGESTS_IN_FLIGHT:
                        await ingesting.pop(0)
                    page = asyncio.ensure_future(do(step))
                    ingesting.append(page)
                    work.append(page)
                    continue
                if isinstance(step, SaveCursor):
                    work[:] = [asyncio.ensure_future(after(list(work), step))]
                    continue
                if work and not isinstance(step, wire.Range):
                    while work:
                        await work.pop(0)
                    ingesting.clear()
                if isinstance(step, Settled):
                    if session.since > since:  # the peer keeps less than its info said
                        peer.zones[zone] = max(0, now - session.since)
                    return step
                await do(step)
        except asyncio.CancelledError:
            for task in work + ingesting:
                task.cancel()
            await asyncio.gather(*work, *ingesting, return_exceptions=True)
            raise
        except Exception:
            for task in work + ingesting:  # a failed request: keep what was fetched
                with contextlib.suppress(Exception):
                    await task
            raise
