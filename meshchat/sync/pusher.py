"""Eager push to one peer (DESIGN §5.2): new records go out in puts as soon as they commit.

The queue is bounded and deduplicated by id; what does not fit, or what a failed put
carried, is left to anti-entropy, which delivers it once the peer is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from meshchat.errors import PeerError
from meshchat.records import Record
from meshchat.sync import wire
from meshchat.sync.client import PeerClient
from meshchat.sync.session import put_batches

PUSH_QUEUE = 10_000


class Pusher:
    """The push queue of one peer and the loop that drains it."""

    def __init__(
        self, client: PeerClient, delay_s: float, on_failure: Callable[[PeerError], None]
    ) -> None:
        self.client = client
        self.delay_s = delay_s  # gather records posted together into one put
        self.on_failure = on_failure
        self._pending: dict[bytes, Record] = {}
        self._ready = asyncio.Event()
        self._sending = False

    @property
    def idle(self) -> bool:
        """Tell whether nothing is queued and no put is in flight."""
        return not self._pending and not self._sending

    def offer(self, fresh: Sequence[Record], now_ms: int) -> None:
        """Queue new records the peer serves and its horizon accepts (DESIGN §2.4)."""
        zones = self.client.peer.zones
        for record in fresh:
            horizon = zones.get(record.zone)
            if horizon is None or record.ts < now_ms - horizon:
                continue  # never offer a peer what its horizon refuses
            if len(self._pending) < PUSH_QUEUE:
                self._pending[record.id] = record
        self.wake()

    def wake(self) -> None:
        """Send what is queued (the peer answered again after a failure)."""
        if self._pending:
            self._ready.set()

    async def run(self) -> None:
        """Send queued records whenever some are waiting, until cancelled."""
        while True:
            await self._ready.wait()
            await asyncio.sleep(self.delay_s)
            self._ready.clear()
            pending, self._pending = self._pending, {}
            by_zone: dict[str, list[tuple[bytes, bytes]]] = {}
            for record in pending.values():
                by_zone.setdefault(record.zone, []).append(record.envelope)
            self._sending = True
            try:
                for zone, envelopes in by_zone.items():
                    for chunk in put_batches(envelopes):
                        await self.client.send(wire.Put(zone, chunk))
            except PeerError as exc:
                # The records are safe here; anti-entropy delivers them once the peer is back.
                self.on_failure(exc)
            finally:
                self._sending = False
