"""AREDN service lists: parse them into peer URLs; tell this node apart (DESIGN §5.3).

A node of a zone is advertised as ``http://HOST:PORT/meshchat|tcp|ZONE``, optionally with
an icon tag (``ZONE [chat]``); ``/var/run/services_olsr`` adds ``#originator`` after the
line (``# my own`` for this router's own services). The same lines come from
``/var/run/arednlink/services/*`` (one file per originator) and, off-node, from an AREDN
node's ``/a/sysinfo?services=1`` as ``{"services": [{"name", "protocol", "link"}]}``.

No I/O here except reading the list files; no DNS lookups anywhere.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

APP_PATH = "/meshchat"
MAX_FILE_BYTES = 1024 * 1024  # a whole mesh's list is far smaller; a bigger file is cut
MAX_FILES = 4096  # one file per originator: a mesh of this many nodes is already huge
_TAG = re.compile(r"\s*\[[^\]]*\]$")
_OWN_SUFFIXES = (".local.mesh", ".local")


@dataclass(frozen=True)
class Service:
    """One meshchat service line: the peer's base URL and its zone."""

    url: str
    zone: str
    own: bool = False  # marked ``# my own`` by olsrd: this router's own services


def parse_line(line: str) -> Service | None:
    """Return the meshchat service a list line advertises, or None for any other line."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    fields = line.split("|", 2)
    if len(fields) != 3:
        return None
    link, protocol, rest = fields
    name, _, comment = rest.partition("#")
    if protocol.strip().lower() != "tcp":
        return None
    zone = _TAG.sub("", name.strip()).strip()
    try:
        parts = urlsplit(link.strip())
        port = 80 if parts.port is None else parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if port == 0:  # arednlink writes port 0 for a service without a link
        return None
    path = parts.path.rstrip("/")
    if parts.scheme != "http" or not parts.hostname or not path.endswith(APP_PATH) or not zone:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    own = comment.strip().lower().startswith("my own")
    return Service(f"http://{host}:{port}", zone, own)


def sysinfo_lines(document: Any) -> list[str]:
    """Turn a ``/a/sysinfo?services=1`` JSON reply into service lines; lenient to gaps."""
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, list):
        return []
    lines = []
    for entry in services:
        if not isinstance(entry, dict):
            continue
        link, name = entry.get("link"), entry.get("name")
        protocol = entry.get("protocol") or "tcp"  # older firmware leaves it out
        if isinstance(link, str) and isinstance(name, str) and isinstance(protocol, str):
            lines.append(f"{link}|{protocol}|{name}")
    return lines


def _host_key(host: str) -> str:
    host = host.strip("[]").rstrip(".").lower()
    for suffix in _OWN_SUFFIXES:
        if host.endswith(suffix):
            return host.removesuffix(suffix)
    return host


@dataclass(frozen=True)
class SelfRule:
    """How a service line is recognised as this node, without any DNS lookup.

    A URL is this node when its port is the port this node listens on and its host is a
    loopback address or one of ``hosts`` (the node name, the machine's host name, the
    listen address, the interface addresses when listening on all of them), compared
    case-insensitively with ``.local.mesh`` / ``.local`` removed. A line olsrd marks
    ``# my own`` is this router's and is skipped too. A URL that slips through anyway is
    refused by the sync client, which checks the peer's node key against ours.
    """

    port: int
    hosts: frozenset[str]

    @classmethod
    def build(cls, port: int, hosts: Iterable[str]) -> SelfRule:
        """Return the rule for a node on ``port`` known by ``hosts``."""
        return cls(port, frozenset(_host_key(h) for h in hosts if h))

    def is_self(self, url: str) -> bool:
        """Tell whether ``url`` (``http://HOST:PORT``) is this node."""
        parts = urlsplit(url)
        if (parts.port or 80) != self.port or not parts.hostname:
            return False
        key = _host_key(parts.hostname)
        if key in self.hosts or key == "localhost":
            return True
        try:
            return ipaddress.ip_address(key).is_loopback
        except ValueError:
            return False


def peer_urls(lines: Iterable[str], zones: Iterable[str], rule: SelfRule) -> set[str]:
    """Return the base URLs of the meshchat nodes of ``zones`` the lines list, minus us."""
    wanted = set(zones)
    urls = set()
    for line in lines:
        service = parse_line(line)
        if service is None or service.zone not in wanted or service.own:
            continue
        if not rule.is_self(service.url):
            urls.add(service.url)
    return urls


def signature(path: Path) -> tuple[tuple[str, int, int, int], ...] | None:
    """Return what changes when the list at ``path`` (a file or a folder) changes."""
    try:
        if path.is_dir():
            with os.scandir(path) as entries:
                files = sorted((e for e in entries if _listed(e)), key=lambda e: e.name)
                stats = [(e.name, e.stat()) for e in files[:MAX_FILES]]
        else:
            stats = [(path.name, path.stat())]
    except OSError:
        return None
    return tuple((name, st.st_mtime_ns, st.st_size, st.st_ino) for name, st in stats)


def _listed(entry: os.DirEntry[str]) -> bool:
    # arednlink writes a file per originator; a dot file is someone's temporary file.
    try:
        return not entry.name.startswith(".") and entry.is_file()
    except OSError:
        return False


def read_lines(path: Path) -> list[str]:
    """Return the lines of the list at ``path``: a file, or every file of a folder.

    The files live on tmpfs and are small; reading them on the loop costs microseconds.
    """
    try:
        if path.is_dir():
            with os.scandir(path) as entries:
                files = sorted(Path(e.path) for e in entries if _listed(e))[:MAX_FILES]
        else:
            files = [path]
    except OSError as exc:
        log.warning("cannot read the AREDN service list %s: %s", path, exc.strerror)
        return []
    lines: list[str] = []
    for file in files:
        try:
            with file.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES)
        except OSError:
            continue  # removed between the listing and the read: the next poll sees it
        lines.extend(data.decode("utf-8", "replace").splitlines())
    return lines
