"""The network checks of ``meshchat doctor``: the port, each peer's kind, and the clock.

The port is free, or held by this node (its ``/api/v1/status`` shows this node's key), or
held by something else. Each peer is probed (``sync.probe``) as native, legacy or
unreachable; the ``Date`` header of every answer gives the clock offset against that peer,
which must stay within ``store.max_future_skew_s`` (DESIGN §2.2) both ways.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import time
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
from yarl import URL

from meshchat.config import Config
from meshchat.findings import NOTE, OK, PROBLEM, WARNING, Finding
from meshchat.sync import probe

STATUS_CAP = 1024 * 1024


class Clocks:
    """The peers' ``Date`` headers, taken from every answer through an aiohttp trace."""

    def __init__(self) -> None:
        self.offsets: dict[str, float] = {}  # origin -> peer clock minus ours, seconds
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_end.append(self._seen)

    async def _seen(self, session: Any, ctx: SimpleNamespace, params: Any) -> None:
        del session, ctx
        date = params.response.headers.get("Date")
        if not date:
            return
        try:
            theirs = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        # Date has whole seconds: the peer's clock was somewhere in [theirs, theirs + 1).
        self.offsets[origin(str(params.url))] = theirs + 0.5 - time.time()


def origin(url: str) -> str:
    """Return ``scheme://host:port`` of a URL."""
    parsed = URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}"


async def network(cfg: Config, key_hex: str | None, timeout_s: float) -> list[Finding]:
    """Check the listening port, every peer and the clock against them."""
    clocks = Clocks()
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(trace_configs=[clocks.trace], timeout=timeout) as http:
        found, running = await port_finding(cfg, key_hex, http)
        own = {origin(u) for u in running.get("self", [])}
        findings = [found, *await peer_findings(cfg, http, timeout_s, running.get("peers", []))]
    offsets = {o: s for o, s in clocks.offsets.items() if o not in own}
    findings.append(clock_finding(cfg, offsets))
    return findings


def try_bind(host: str, port: int) -> int:
    """Bind (and at once close) a socket on ``host:port``; return 0 or the errno."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the node binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno or errno.EIO
    return 0


async def port_finding(
    cfg: Config, key_hex: str | None, http: aiohttp.ClientSession
) -> tuple[Finding, dict[str, list[str]]]:
    """Say whether ``node.listen`` is free, held by this node, or taken by another program."""
    host, port = cfg.listen_host, cfg.listen_port
    where = cfg.node.listen
    if port == 0:
        return Finding(NOTE, "port", f"{where}: the system picks a port at each start"), {}
    err = await asyncio.to_thread(try_bind, host, port)
    if err == 0:
        return Finding(OK, "port", f"{where} is free (the node is not running)"), {}
    if err == errno.EACCES:
        text = f"this user may not listen on port {port} (below 1024)"
        return Finding(PROBLEM, "port", text, "use a port above 1023, such as 8080"), {}
    if err == errno.EADDRNOTAVAIL:
        text = f"{host} is not an address of this machine"
        return Finding(PROBLEM, "port", text, f"set node.listen to 0.0.0.0:{port}"), {}
    if err != errno.EADDRINUSE:
        return Finding(PROBLEM, "port", f"cannot listen on {where}: {os.strerror(err)}"), {}
    local = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    base = f"http://[{local}]:{port}" if ":" in local else f"http://{local}:{port}"
    status = await _status(http, base)
    node = status.get("node") if isinstance(status, dict) else None
    if isinstance(node, dict) and key_hex and node.get("key") == key_hex:
        peers = [p["url"] for p in status.get("peers", []) if isinstance(p, dict) and "url" in p]
        text = f"{where} is held by this node: it is running ({node.get('name')})"
        return Finding(OK, "port", text), {"self": [base], "peers": peers}
    if isinstance(node, dict):
        text = f"another meshchat node ({node.get('name')}, key {str(node.get('key'))[:16]}…)"
        fix = "stop the other copy, or give this node another node.listen port"
        return Finding(PROBLEM, "port", f"{text} listens on {where}", fix), {"self": [base]}
    fix = f"find it with: ss -ltnp 'sport = :{port}'; stop it or set node.listen to a free port"
    return Finding(PROBLEM, "port", f"another program listens on {where}", fix), {}


async def _status(http: aiohttp.ClientSession, base: str) -> Any:
    try:
        async with http.get(base + "/api/v1/status") as resp:
            body = await resp.content.read(STATUS_CAP)
            return json.loads(body) if resp.status == 200 else None
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
        return None


async def peer_findings(
    cfg: Config, http: aiohttp.ClientSession, timeout_s: float, discovered: list[str]
) -> list[Finding]:
    """Probe every static peer (and what a running node found) for its kind."""
    declared = {p.url.rstrip("/"): p.kind for p in cfg.static_peers}
    for url in discovered:
        declared.setdefault(url.rstrip("/"), "auto")
    if not declared:
        text = "no static peers and no peer found yet: this node syncs only with who calls it"
        found = cfg.discovery
        if found.mdns or found.aredn_services or found.aredn_node:
            text = "no static peers; discovery is on and has found none (or the node is stopped)"
        return [Finding(NOTE, "peers", text)]
    urls = sorted(declared)
    probed = await asyncio.gather(
        *(probe.examine(http, u, timeout_s, zone_secret=cfg.sync.zone_secret) for u in urls)
    )
    return [
        _peer(cfg, url, declared[url], result) for url, result in zip(urls, probed, strict=True)
    ]


def _peer(cfg: Config, url: str, declared: str, result: probe.Probed) -> Finding:
    if result.kind == "unreachable":
        fix = (
            "check the URL (http://HOST:PORT, no /meshchat), the link, that the peer listens on "
            "an address this host can reach, and that both use the same sync.zone_secret"
        )
        return Finding(WARNING, "peers", f"{url} does not answer ({result.error})", fix)
    if declared not in ("auto", result.kind):
        text = f"{url} is declared {declared} but answers as a {result.kind} node"
        return Finding(WARNING, "peers", text, f'set kind = "{result.kind}" (or "auto")')
    if result.kind == "legacy":
        return Finding(OK, "peers", f"{url}: a legacy MeshChat node")
    info = result.info or {}
    theirs = [str(z.get("name")) for z in info.get("zones", []) if isinstance(z, dict)]
    name = info.get("name", "?")
    if not set(theirs) & set(cfg.node.zones):
        text = f"{url} ({name}) serves none of this node's zones (it serves {', '.join(theirs)})"
        return Finding(WARNING, "peers", text, "make node.zones share a zone with the peer")
    return Finding(OK, "peers", f"{url}: a native meshchat node ({name})")


def clock_finding(cfg: Config, offsets: dict[str, float]) -> Finding:
    """Compare this node's clock with each peer's ``Date`` header."""
    if not offsets:
        return Finding(NOTE, "clock", "no peer answered: the clock was not compared")
    limit = cfg.store.max_future_skew_s
    worst, offset = max(offsets.items(), key=lambda item: abs(item[1]))
    if abs(offset) <= limit:
        text = f"within {abs(offset):.0f} s of {len(offsets)} peer(s) (limit {limit} s)"
        return Finding(OK, "clock", text)
    way = "behind" if offset > 0 else "ahead of"
    text = f"this node's clock is {abs(offset):.0f} s {way} {worst}'s (limit {limit} s)"
    fix = (
        f"set the clocks right: a record stamped over {limit} s ahead of a node's clock is "
        "refused there. Use NTP (timedatectl set-ntp true; ntpd on OpenWrt) or GPS; "
        "Pis and most routers have no battery-backed clock"
    )
    return Finding(WARNING, "clock", text, fix)
