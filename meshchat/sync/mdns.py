"""mDNS on a LAN: announce ``_meshchat._tcp.local.`` and browse for the same (DESIGN §5.3).

One service instance per zone this node serves, each with the TXT keys ``zone`` (one
zone name: zone names may hold commas, so no list), ``node_id`` (the hex node key) and
``path`` (``/meshchat``, where the UI is; peers sync at the root of ``http://ADDR:PORT``).
A peer is the base URL of an announcement of a zone we serve from a node that is not us;
when its last announcement goes away it is dropped after a grace period, so a node that
restarts or misses a beat keeps its peer entry and back-off state.

``MdnsTable`` is the sans-I/O part; ``MdnsSource`` wires it to zeroconf's asyncio API as
it exists from 0.47.3 (Debian bookworm) to the newest release. Zeroconf runs on our loop
(no thread of its own when started from a running loop) and is closed on cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from zeroconf import InterfaceChoice, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from meshchat import schemas
from meshchat.sync.aredn import APP_PATH

log = logging.getLogger(__name__)

SERVICE_TYPE = "_meshchat._tcp.local."
RESOLVE_TIMEOUT_MS = 3000
# Records live two minutes (zeroconf's default for services is 75): a node that vanishes
# without a goodbye is noticed within a few minutes, for one re-query per record lifetime.
RECORD_TTL_S = 120
MAX_TXT_VALUE = 200  # a TXT string is at most 255 bytes with its key


class ServiceLike(Protocol):
    """What ``MdnsTable.seen`` reads of a resolved service (zeroconf's ServiceInfo)."""

    port: int | None

    @property
    def properties(self) -> dict[bytes, bytes | None]: ...

    def parsed_addresses(self) -> list[str]: ...


class PeerUpdates(Protocol):
    """Where the mDNS peers go: ``discovery.PeerSink``."""

    async def update(self, feed: str, source: str, urls: Iterable[str]) -> None: ...


def build_txt(zone: str, node_id: str) -> dict[str, str]:
    """Return the TXT properties announcing ``zone`` of node ``node_id``."""
    return {"zone": zone, "node_id": node_id, "path": APP_PATH}


@dataclass(frozen=True)
class Txt:
    """The meshchat fields of a TXT record, checked."""

    zone: str
    node_id: str
    path: str


def parse_txt(properties: dict[bytes, bytes | None]) -> Txt | None:
    """Return the fields of a meshchat TXT record, or None when one is missing or bad."""
    values: dict[str, str] = {}
    for key in ("zone", "node_id", "path"):
        raw = properties.get(key.encode())
        if raw is None or len(raw) > MAX_TXT_VALUE:
            return None
        try:
            values[key] = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    node_id = values["node_id"].lower()
    if not schemas.valid_zone(values["zone"]) or not re.fullmatch(r"[0-9a-f]{2,128}", node_id):
        return None
    return Txt(values["zone"], node_id, values["path"])


def peer_url(addresses: Iterable[str], port: int | None) -> str | None:
    """Return the base URL to reach an announcement: IPv4 first, then a routable IPv6."""
    if not port:
        return None
    usable: list[tuple[int, str]] = []
    for text in addresses:
        try:
            addr = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        if addr.is_link_local or addr.is_unspecified or addr.is_multicast:
            continue  # fe80:: needs a scope a URL cannot carry well; 169.254/16 is a fallback
        rank = (addr.version == 6) * 2 + addr.is_loopback
        usable.append((rank, f"[{addr}]" if addr.version == 6 else str(addr)))
    if not usable:
        return None
    return f"http://{min(usable)[1]}:{port}"


@dataclass
class _Entry:
    url: str
    gone_at: float | None = None


class MdnsTable:
    """Announcements by service name; a removed one lingers for ``grace_s`` (sans-I/O)."""

    def __init__(self, zones: Iterable[str], own_node_id: str, grace_s: float) -> None:
        self.zones = frozenset(zones)
        self.own_node_id = own_node_id.lower()
        self.grace_s = grace_s
        self._entries: dict[str, _Entry] = {}

    def seen(self, name: str, info: ServiceLike) -> None:
        """Take an announcement that was added or updated (resolved to ``info``)."""
        txt = parse_txt(info.properties)
        url = peer_url(info.parsed_addresses(), info.port)
        usable = (
            txt is not None
            and url is not None
            and txt.zone in self.zones
            and txt.node_id != self.own_node_id
        )
        if not usable or url is None:
            # Not (or no longer) a peer for us: an explicit answer, no grace needed.
            self._entries.pop(name, None)
            return
        self._entries[name] = _Entry(url)

    def gone(self, name: str, now: float) -> None:
        """Note that an announcement went away; it is dropped once the grace is over."""
        entry = self._entries.get(name)
        if entry is not None and entry.gone_at is None:
            entry.gone_at = now

    def urls(self, now: float) -> set[str]:
        """Drop what is past its grace and return the peer URLs announced now."""
        expired = [
            name
            for name, e in self._entries.items()
            if e.gone_at is not None and now - e.gone_at >= self.grace_s
        ]
        for name in expired:
            del self._entries[name]
        return {e.url for e in self._entries.values()}

    def next_expiry(self, now: float) -> float | None:
        """Return the seconds until the next removal falls due, or None if none is pending."""
        gone = [e.gone_at for e in self._entries.values() if e.gone_at is not None]
        pending = [at + self.grace_s - now for at in gone]
        return max(0.0, min(pending)) if pending else None


Resolver = Callable[[str, str], Awaitable[ServiceLike | None]]


def instance_name(node_name: str, node_id: str, index: int) -> str:
    """Return a service instance name, unique per node and zone, within the 63-byte label."""
    readable = re.sub(r"[^\w-]+", "-", node_name)[:32].strip("-") or "meshchat"
    return f"{readable} {node_id[:8]} {index}.{SERVICE_TYPE}"


class MdnsSource:
    """Announces our zones and feeds the announced peers of our zones to a PeerSink."""

    def __init__(
        self,
        zones: Iterable[str],
        node_name: str,
        node_id: str,
        port: int,
        addresses: list[str],
        sink: PeerUpdates,
        grace_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.zones = tuple(zones)
        self.node_name = node_name
        self.node_id = node_id
        self.port = port
        self.addresses = addresses
        self.sink = sink
        self.clock = clock
        self.table = MdnsTable(self.zones, node_id, grace_s)
        self.resolver: Resolver | None = None
        self._wake = asyncio.Event()
        self._resolving: set[asyncio.Task[None]] = set()

    def on_change(self, *, name: str, service_type: str, state_change: Any, **_: Any) -> None:
        """Browser handler (zeroconf calls it on our loop with keyword arguments)."""
        if state_change is ServiceStateChange.Removed:
            self.table.gone(name, self.clock())
            self._wake.set()
            return
        task = asyncio.get_running_loop().create_task(self._resolve(service_type, name))
        self._resolving.add(task)
        task.add_done_callback(self._resolving.discard)

    async def _resolve(self, service_type: str, name: str) -> None:
        if self.resolver is None:
            return
        try:
            info = await self.resolver(service_type, name)
        except Exception:  # a hostile or broken announcement must not end discovery
            log.exception("resolving the mDNS service %r failed", name)
            return
        if info is not None:
            self.table.seen(name, info)
            self._wake.set()

    async def publish(self) -> None:
        """Hand the current peer set to the sink."""
        await self.sink.update("mdns", "mdns", self.table.urls(self.clock()))

    async def follow(self) -> None:
        """Publish whenever an announcement changes or a grace period ends; runs forever."""
        while True:
            self._wake.clear()
            await self.publish()
            wait = self.table.next_expiry(self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def close(self) -> None:
        """Cancel the resolutions in flight."""
        for task in list(self._resolving):
            task.cancel()
        await asyncio.gather(*self._resolving, return_exceptions=True)

    def announcements(self) -> list[AsyncServiceInfo]:
        """Return one ServiceInfo per zone we serve (a zone too long for TXT is skipped)."""
        server = f"meshchat-{self.node_id[:12]}.local."
        infos = []
        for index, zone in enumerate(self.zones):
            if len(zone.encode()) > MAX_TXT_VALUE:
                log.warning("zone %r is too long to announce over mDNS", zone)
                continue
            infos.append(
                AsyncServiceInfo(
                    SERVICE_TYPE,
                    instance_name(self.node_name, self.node_id, index),
                    port=self.port,
                    properties=build_txt(zone, self.node_id),
                    server=server,
                    host_ttl=RECORD_TTL_S,
                    other_ttl=RECORD_TTL_S,
                    parsed_addresses=self.addresses,
                )
            )
        return infos

    async def run(self) -> None:
        """Announce, browse and follow until cancelled; then say goodbye and close zeroconf.

        Real multicast: only ever started by a configured node (``discovery.mdns``), never
        by the default test suite (the netns suite covers it).
        """
        aiozc = AsyncZeroconf(interfaces=InterfaceChoice.All)
        zc = aiozc.zeroconf

        async def resolve(service_type: str, name: str) -> ServiceLike | None:
            info = AsyncServiceInfo(service_type, name)
            return info if await info.async_request(zc, RESOLVE_TIMEOUT_MS) else None

        self.resolver = resolve
        try:
            for info in self.announcements():
                # The call probes for name conflicts; the awaitable it returns is the
                # announcement broadcast, awaited so that no task of zeroconf's is left over.
                await (await aiozc.async_register_service(info, allow_name_change=True))
            browser = AsyncServiceBrowser(zc, SERVICE_TYPE, handlers=[self.on_change])
            try:
                await self.follow()
            finally:
                await browser.async_cancel()
        finally:
            await self.close()
            await aiozc.async_close()  # unregisters (goodbye packets) and closes the sockets
