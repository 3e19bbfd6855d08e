"""Discovery sources merged into the one peer table through the scheduler (DESIGN §5.3).

Each source (a *feed*) reports the whole set of URLs it sees now; ``PeerSink`` adds the
new ones and removes those no feed reports any more. A static peer is never removed, and
a URL two feeds report stays while either does. The sources run only when configured:
mDNS (``discovery.mdns``), an AREDN service list on this router
(``discovery.aredn_services``, a file or folder whose mtimes are polled) and an AREDN
node's ``/a/sysinfo?services=1`` polled from a LAN host (``discovery.aredn_node``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import ifaddr

from meshchat.bodies import read_capped
from meshchat.config import Config
from meshchat.peers import Peer, PeerTable
from meshchat.sync import aredn
from meshchat.sync.mdns import MdnsSource
from meshchat.timing import Timing

log = logging.getLogger(__name__)

SYSINFO_PATHS = ("/a/sysinfo?services=1", "/cgi-bin/sysinfo.json?services=1")  # new, old firmware
SYSINFO_CAP = 4 * 1024 * 1024
WILDCARDS = ("", "0.0.0.0", "::")


class Scheduler(Protocol):
    """The two calls of ``SyncScheduler`` that discovery uses."""

    def add_peer(self, url: str, source: str) -> Peer: ...

    async def remove_peer(self, url: str) -> None: ...


class PeerSink:
    """Merges what every feed reports into the scheduler's peers."""

    def __init__(self, scheduler: Scheduler, peers: PeerTable) -> None:
        self.scheduler = scheduler
        self.peers = peers
        self._claims: dict[str, set[str]] = {}  # feed -> the URLs it reports

    async def update(self, feed: str, source: str, urls: Iterable[str]) -> None:
        """Make ``urls`` the set ``feed`` reports; peers come and go accordingly."""
        now = {u.rstrip("/") for u in urls}
        before = self._claims.get(feed, set())
        self._claims[feed] = now
        for url in sorted(now - before):
            if self.peers.get(url) is None:
                log.info("discovered peer %s (%s)", url, feed)
            self.scheduler.add_peer(url, source)
        for url in sorted(before - now):
            peer = self.peers.get(url)
            if any(url in claimed for claimed in self._claims.values()):
                continue
            if peer is None or peer.source == "static":
                continue
            log.info("peer %s is no longer announced (%s)", url, feed)
            await self.scheduler.remove_peer(url)


def interface_addresses() -> list[str]:
    """Return the IPv4 addresses of this machine's interfaces (read locally, no traffic)."""
    found = {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips}
    return sorted(ip for ip in found if isinstance(ip, str))  # IPv6 ones are tuples


def own_hosts(config: Config) -> list[str]:
    """Return the names and addresses this node is known by (for ``aredn.SelfRule``)."""
    machine = socket.gethostname()
    hosts = [config.node.name, machine, machine.split(".")[0]]
    if config.listen_host in WILDCARDS:
        hosts += interface_addresses()
    else:
        hosts.append(config.listen_host)
    return hosts


def announced_addresses(config: Config) -> list[str]:
    """Return the addresses mDNS announces: the listen address, or every non-loopback one."""
    if config.listen_host not in WILDCARDS:
        return [config.listen_host]
    found = [a for a in interface_addresses() if not a.startswith("127.")]
    return found or ["127.0.0.1"]


async def follow_services(
    path: Path, zones: Iterable[str], rule: aredn.SelfRule, sink: PeerSink, poll_s: float
) -> None:
    """Re-read an AREDN service list file or folder whenever its mtimes change; forever."""
    zones = tuple(zones)
    last: object = object()  # matches no signature: the first pass always reads
    while True:
        sig = await asyncio.to_thread(aredn.signature, path)
        if sig != last:
            if sig is None:
                log.warning("the AREDN service list %s is missing; no peers from it", path)
            lines = await asyncio.to_thread(aredn.read_lines, path) if sig is not None else []
            await sink.update("aredn-services", "aredn", aredn.peer_urls(lines, zones, rule))
            last = sig
        await asyncio.sleep(poll_s)


async def fetch_sysinfo(
    http: aiohttp.ClientSession, node: str, limit: aiohttp.ClientTimeout | None = None
) -> list[str] | None:
    """Return the service lines an AREDN node lists, or None when it cannot be read."""
    for path in SYSINFO_PATHS:
        try:
            async with http.get(node.rstrip("/") + path, timeout=limit) as resp:
                status = resp.status
                raw = await read_capped(resp, SYSINFO_CAP + 1) if status == 200 else b""
            if status == 404:
                continue  # older firmware: try the next path
            if status != 200 or len(raw) > SYSINFO_CAP:
                log.warning("AREDN node %s: HTTP %d on %s", node, status, path)
                return None
            return aredn.sysinfo_lines(json.loads(raw))
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            log.warning("AREDN node %s unreadable: %s", node, f"{type(exc).__name__} {exc}")
            return None
    log.warning("AREDN node %s has no sysinfo service list", node)
    return None


async def poll_node(
    http: aiohttp.ClientSession,
    node: str,
    zones: Iterable[str],
    rule: aredn.SelfRule,
    sink: PeerSink,
    interval_s: float,
    timeout_s: float,
) -> None:
    """Poll an AREDN node's service list every ``interval_s``; forever.

    A failed poll keeps the peers of the last good one: a busy router must not make every
    peer go and come back (each return costs a full reconcile over the radio).
    """
    zones = tuple(zones)
    limit = aiohttp.ClientTimeout(total=timeout_s)
    while True:
        lines = await fetch_sysinfo(http, node, limit)
        if lines is not None:
            await sink.update("aredn-node", "aredn", aredn.peer_urls(lines, zones, rule))
        await asyncio.sleep(interval_s)


def sources(
    config: Config,
    node_id: str,
    port: int,
    scheduler: Scheduler,
    peers: PeerTable,
    http: aiohttp.ClientSession,
    timing: Timing,
) -> dict[str, Coroutine[Any, Any, None]]:
    """Return the discovery loops the config turns on, by task name (none by default).

    ``port`` is the port the node really listens on (tests bind port 0).
    """
    found = config.discovery
    zones = config.node.zones
    loops: dict[str, Coroutine[Any, Any, None]] = {}
    if not (found.mdns or found.aredn_services or found.aredn_node):
        return loops
    sink = PeerSink(scheduler, peers)
    rule = aredn.SelfRule.build(port, own_hosts(config))
    if found.aredn_services:
        path = Path(found.aredn_services)
        loops["discovery aredn-services"] = follow_services(
            path, zones, rule, sink, timing.aredn_poll_s
        )
    if found.aredn_node:
        loops["discovery aredn-node"] = poll_node(
            http,
            found.aredn_node,
            zones,
            rule,
            sink,
            timing.aredn_node_poll_s,
            timing.request_timeout_s,
        )
    if found.mdns:
        mdns = MdnsSource(
            zones,
            config.node.name,
            node_id,
            port,
            announced_addresses(config),
            sink,
            timing.mdns_grace_s,
        )
        loops["discovery mdns"] = mdns.run()
    return loops
