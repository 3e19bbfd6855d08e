"""The listening socket's guard: how many connections, from whom, and how slowly (issue 11).

aiohttp bounds the size of a request's head but not how long it may take to arrive, nor how
many connections one address may hold, so ~1,100 requests whose headers never finished
could take every file descriptor of a node. Each accepted connection here is checked
against a total and a per-address cap (the last ``reserve`` slots only for addresses with
a few connections, so a flood from one host leaves room for the UI), and a request whose
head has begun must reach its handler within ``head_timeout_s`` or the connection is
dropped. Idle keep-alive connections are left to aiohttp's keep-alive timeout.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FEW = 4  # an address holding fewer connections than this may use the reserve
SPARE_FDS = 124  # descriptors left for the database, peers, logs and discovery


def default_max_connections() -> int:
    """Return a total connection cap below this process's descriptor limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(64, min(4096, soft - SPARE_FDS))


class ConnectionGuard:
    """Admits connections by count and address, and times out slow request heads."""

    def __init__(
        self,
        max_total: int,
        max_per_address: int,
        head_timeout_s: float,
        reserve: int = 64,
    ) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.head_timeout_s = head_timeout_s
        self.reserve = min(reserve, max_total // 4)
        self.by_address: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._open: dict[object, _Guarded] = {}  # transport -> its guard

    @property
    def total(self) -> int:
        """Return how many connections are open now."""
        return sum(self.by_address.values())

    def admit(self, address: str) -> str | None:
        """Return why a new connection from ``address`` is refused, or None to take it."""
        held, total = self.by_address[address], self.total
        if total >= self.max_total:
            return "full"
        if held >= self.max_per_address:
            return "per_address"
        if total >= self.max_total - self.reserve and held >= FEW:
            return "reserve"
        return None

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """Return a protocol factory whose connections this guard admits and watches."""
        return lambda: _Guarded(factory(), self)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Mark a request as having reached its handler (its head arrived in time)."""
        guarded = self._open.get(request.transport)
        if guarded is not None:
            guarded.request_started()
        try:
            return await handler(request)
        finally:
            if guarded is not None:
                guarded.request_done()

    def status(self) -> dict[str, Any]:
        """Return the counts for the status page."""
        return {
            "open": self.total,
            "max": self.max_total,
            "refused": dict(sorted(self.refused.items())),
        }


class _Guarded(asyncio.Protocol):
    """One accepted connection: aiohttp's protocol inside, admitted and timed by the guard."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.address = ""
        self.transport: asyncio.BaseTransport | None = None
        self.admitted = False
        self.in_request = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        why = self.guard.admit(self.address)
        if why is not None:
            self.guard.refused[why] += 1
            log.warning("refusing a connection from %s: %s (see /api/v1/status)", self.address, why)
            _drop(transport)
            return
        self.admitted = True
        self.transport = transport
        self.guard.by_address[self.address] += 1
        self.guard._open[transport] = self
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        if not self.in_request and self._timer is None:
            # A request head has begun: it must reach its handler in time.
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.guard.head_timeout_s, self._too_slow)
        self.inner.data_received(data)

    def _too_slow(self) -> None:
        self._timer = None
        if not self.in_request and self.transport is not None:
            self.guard.refused["slow_head"] += 1
            _drop(self.transport)

    def request_started(self) -> None:
        self.in_request = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def request_done(self) -> None:
        self.in_request = False

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.admitted:
            return
        self.admitted = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.guard._open.pop(self.transport, None)
        self.guard.by_address[self.address] -= 1
        if self.guard.by_address[self.address] <= 0:
            del self.guard.by_address[self.address]
        self.inner.connection_lost(exc)


def _drop(transport: asyncio.BaseTransport) -> None:
    """Close at once, without waiting to flush (a refused or stalled connection)."""
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    else:
        transport.close()


class GuardedSite(web.TCPSite):
    """A TCP site whose connections go through a ``ConnectionGuard``."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard):
        super().__init__(runner, host, port)
        self.guard = guard

    async def start(self) -> None:
        """Listen, with every accepted connection admitted by the guard."""
        # BaseSite.start registers the site; the listening is done here as TCPSite does.
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard.wrap(server), self._host, self._port, backlog=self._backlog
        )
        if self._server.sockets:  # newer aiohttp names the site by the port it got
            self._bound_port = self._server.sockets[0].getsockname()[1]
