"""One reconciliation of one zone as the initiator, without I/O (STYLE.md 1).

The caller sends what ``start`` and ``receive`` return and feeds back the peer's
replies; when ``receive`` returns None, ``have`` is what the peer lacks and ``need`` is
what this node lacks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from meshchat.errors import RemoteProtocolError
from meshchat.sync.negentropy import NegentropyInitiator
from meshchat.sync.negentropy_storage import ItemSource

# Far above any honest exchange (an empty side against 10^5 items with 4 KiB frames is
# ~820 rounds); a peer that keeps a session going past this is cut off.
MAX_ROUNDS = 4000


class ReconcileSession:
    """Collects have/need over the rounds of one Negentropy exchange."""

    def __init__(self, source: ItemSource, frame_limit: int) -> None:
        self._initiator = NegentropyInitiator(source, frame_limit)
        self.have: set[bytes] = set()
        self.need: set[bytes] = set()
        self.rounds = 0

    def start(self) -> bytes:
        """Return the first message to send."""
        return self._initiator.initiate()

    def receive(self, reply: bytes) -> bytes | None:
        """Take the peer's reply; return the next message, or None when reconciled."""
        self.rounds += 1
        if self.rounds > MAX_ROUNDS:
            raise RemoteProtocolError(f"reconciliation did not finish in {MAX_ROUNDS} rounds")
        following, have, need = self._initiator.reconcile(reply)
        self.have.update(have)
        self.need.update(need)
        return following


def batches(ids: Sequence[bytes], size: int) -> Iterator[list[bytes]]:
    """Yield ``ids`` in lists of at most ``size``, in order."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])
