"""Typed, frozen configuration read once from TOML; every error names the key and the file.

Each section is a frozen dataclass; the README documents every key (tests/test_docs.py
fails when one is missing). Command-line flags override the file through ``with_overrides``.
"""

from __future__ import annotations

import dataclasses
import socket
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshchat import accessconfig, actionconfig, schemas, surfacecheck
from meshchat.accessconfig import ZoneConfig
from meshchat.actionconfig import ActionEntry, ActionRunnerConfig, GatewaySender, InboundConfig
from meshchat.configtypes import build, build_list, coerce, field_type
from meshchat.errors import ConfigError


@dataclass(frozen=True)
class NodeConfig:
    """[node]: who this node is and where it keeps its data."""

    name: str = field(default_factory=lambda: socket.gethostname().split(".")[0] or "meshchat")
    data_dir: Path = Path("./meshchat-data")
    listen: str = "0.0.0.0:8080"
    zones: tuple[str, ...] = ("MeshChat",)
    default_channel: str = ""
    log_level: str = "INFO"
    operators: tuple[str, ...] = ()  # hex keys that may hide records on this node only


@dataclass(frozen=True)
class StoreConfig:
    """[store]: what is accepted at ingest and how long it is kept (DESIGN §2.2, §2.4)."""

    max_record_bytes: int = 32 * 1024
    max_future_skew_s: int = 600
    max_age_days: int = 365
    max_records: int = 0
    pinned_channels: tuple[str, ...] = ()
    prune_interval_s: int = 3600
    author_quota_per_hour: int = 2000


@dataclass(frozen=True)
class SyncConfig:
    """[sync]: peers and the anti-entropy schedule (DESIGN §5)."""

    peers: tuple[str, ...] = ()
    sync_interval_s: float = 60.0
    frame_limit: int = 16 * 1024
    zone_secret: str = ""
    request_timeout_s: float = 20.0
    backoff_max_s: float = 300.0


@dataclass(frozen=True)
class DiscoveryConfig:
    """[discovery]: how peers are found besides the static list (DESIGN §5.3); off by default."""

    mdns: bool = False
    aredn_services: str = ""
    aredn_node: str = ""
    aredn_poll_s: float = 5.0
    aredn_node_poll_s: float = 120.0
    mdns_grace_s: float = 60.0


@dataclass(frozen=True)
class WebConfig:
    """[web]: browser sessions and the JSON API."""

    max_text_bytes: int = 30 * 1024
    session_ttl_s: int = 7 * 86_400
    login_attempts_per_minute: int = 10
    max_connections: int = 0  # 0: below this process's file-descriptor limit
    max_connections_per_address: int = 64
    access: str = "open"  # open | password | zone_secret: what reading the UI and API needs
    password: str = ""  # with access = "password": asked at login


@dataclass(frozen=True)
class LegacyConfig:
    """[legacy]: the bridge to legacy MeshChat 1.x nodes (LEGACY.md)."""

    enabled: bool = True
    zone: str = ""  # the zone legacy nodes see and feed; "" is the first of node.zones
    poll_interval_s: float = 10.0
    max_body_bytes: int = 1024 * 1024
    max_lines: int = 1000
    send_message: bool = True


@dataclass(frozen=True)
class FilesConfig:
    """[files]: shared files, their blobs and how this node replicates them (DESIGN §5.4)."""

    max_file_bytes: int = 10 * 1024 * 1024
    quota_bytes: int = 512 * 1024 * 1024
    replicate: bool = True
    chunk_bytes: int = 32 * 1024
    download_wait_s: float = 60.0


PEER_KINDS = ("auto", "native", "legacy")
ACCESS = surfacecheck.ACCESS


@dataclass(frozen=True)
class PeerEntry:
    """[[peers]]: one static peer with its options (``sync.peers`` lists plain URLs)."""

    url: str
    kind: str = "auto"  # auto: probe it; native: a meshchat node; legacy: a MeshChat 1.x node


@dataclass(frozen=True)
class Config:
    """The whole configuration of one node."""

    node: NodeConfig = field(default_factory=NodeConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    web: WebConfig = field(default_factory=WebConfig)
    files: FilesConfig = field(default_factory=FilesConfig)
    action_runner: ActionRunnerConfig = field(default_factory=ActionRunnerConfig)
    inbound: InboundConfig = field(default_factory=InboundConfig)
    legacy: LegacyConfig = field(default_factory=LegacyConfig)
    zone: ZoneConfig = field(default_factory=ZoneConfig)
    peers: tuple[PeerEntry, ...] = ()
    actions: tuple[ActionEntry, ...] = ()
    gateway_senders: tuple[GatewaySender, ...] = ()
    source: str = "<built-in defaults>"

    @property
    def listen_host(self) -> str:
        """Return the host part of ``node.listen``."""
        return split_listen(self.node.listen, "node.listen", self.source)[0]

    @property
    def static_peers(self) -> list[PeerEntry]:
        """Return every static peer: ``sync.peers`` (probed) and the ``[[peers]]`` entries."""
        return [PeerEntry(url) for url in self.sync.peers] + list(self.peers)

    @property
    def legacy_zone(self) -> str:
        """Return the zone the legacy bridge serves: ``legacy.zone`` or the first zone."""
        return self.legacy.zone or self.node.zones[0]

    @property
    def listen_port(self) -> int:
        """Return the port part of ``node.listen``."""
        return split_listen(self.node.listen, "node.listen", self.source)[1]


SECTIONS: dict[str, type[Any]] = {
    "node": NodeConfig,
    "store": StoreConfig,
    "sync": SyncConfig,
    "discovery": DiscoveryConfig,
    "web": WebConfig,
    "files": FilesConfig,
    "action_runner": ActionRunnerConfig,
    "inbound": InboundConfig,
    "legacy": LegacyConfig,
    "zone": ZoneConfig,
}
# Lists of tables (``[[name]]``), one frozen dataclass per entry.
LIST_SECTIONS: dict[str, type[Any]] = {
    "peers": PeerEntry,
    "actions": ActionEntry,
    "gateway_senders": GatewaySender,
}


# The command-line flags whose names are not ``--key`` (meshchat.cli).
FLAGS = {"node.zones": "--zone", "node.name": "--node-name", "sync.peers": "--peer"}


def documented_keys() -> list[str]:
    """Return every ``section.key`` the configuration knows, for the docs test."""
    return [f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]


def documented_list_keys() -> list[str]:
    """Return every ``name[].key`` of the lists of tables, for the docs test."""
    return [f"{s}[].{f.name}" for s, cls in LIST_SECTIONS.items() for f in dataclasses.fields(cls)]


def split_listen(value: str, key: str, source: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` too) or raise ConfigError naming the key."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{source}: {key} must be HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def load(path: Path | None) -> Config:
    """Read ``path`` (or return the built-in defaults when it is None) and validate it."""
    if path is None:
        return validate(Config())
    source = str(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return from_mapping(raw, source)


def from_mapping(raw: dict[str, Any], source: str) -> Config:
    """Build a Config from parsed TOML, rejecting unknown keys and wrong types."""
    sections: dict[str, Any] = {}
    for name, table in raw.items():
        if name in LIST_SECTIONS:
            sections[name] = build_list(LIST_SECTIONS[name], name, table, source)
            continue
        cls = SECTIONS.get(name)
        if cls is None:
            raise ConfigError(f"{source}: unknown section or key {name!r}")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        sections[name] = build(cls, name, table, source)
    return validate(Config(**sections, source=source))


def with_overrides(config: Config, **overrides: Any) -> Config:
    """Return ``config`` with ``section.key`` values (None means "not given") replaced."""
    sections = {name: getattr(config, name) for name in SECTIONS}
    given: set[str] = set()
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, _, key = dotted.partition("__")
        if section not in SECTIONS or key not in typing.get_type_hints(SECTIONS[section]):
            raise ConfigError(f"command line: unknown setting {dotted!r}")
        coerced = coerce(field_type(SECTIONS[section], key), value, f"--{key}", "command line")
        sections[section] = dataclasses.replace(sections[section], **{key: coerced})
        given.add(f"{section}.{key}")
    try:
        return validate(dataclasses.replace(config, **sections))
    except ConfigError as exc:
        if exc.key not in given:
            raise
        # Blame the flag that was given, not the file (or the built-in defaults).
        flag = FLAGS.get(exc.key) or "--" + exc.key.partition(".")[2].replace("_", "-")
        raise ConfigError(f"command line: {flag} ({exc.key}) {exc.why}", key=exc.key) from None


def validate(config: Config) -> Config:
    """Check cross-field rules; return the config unchanged when it is sound."""
    src = config.source

    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{src}: {key} {why}", key=key, why=why)

    try:
        split_listen(config.node.listen, "node.listen", src)
    except ConfigError as exc:
        raise fail("node.listen", f"must be HOST:PORT, got {config.node.listen!r}") from exc
    if not config.node.zones:
        raise fail("node.zones", "must name at least one zone")
    for zone in config.node.zones:
        if not schemas.valid_zone(zone):
            raise fail("node.zones", f"has an invalid zone name {zone!r}")
    if not schemas.valid_zone(config.node.name):
        raise fail("node.name", "must be 1-64 characters without control characters")
    if not schemas.valid_channel(config.node.default_channel):
        raise fail("node.default_channel", "must be at most 64 characters, no control characters")
    store = config.store
    if not 1024 <= store.max_record_bytes <= 1024 * 1024:
        raise fail("store.max_record_bytes", "must be between 1024 and 1048576")
    if store.max_age_days < 1:
        raise fail("store.max_age_days", "must be at least 1")
    for key in ("max_future_skew_s", "max_records", "prune_interval_s", "author_quota_per_hour"):
        if getattr(store, key) < 0:
            raise fail(f"store.{key}", "must not be negative")
    sync = config.sync
    if sync.frame_limit != 0 and not 4096 <= sync.frame_limit <= 65536:
        raise fail("sync.frame_limit", "must be 0 (none) or between 4096 and 65536")
    for key in ("sync_interval_s", "request_timeout_s", "backoff_max_s"):
        if getattr(sync, key) <= 0:
            raise fail(f"sync.{key}", "must be positive")
    for peer in sync.peers:
        if not peer.startswith(("http://", "https://")):
            raise fail("sync.peers", f"entry {peer!r} must be an http:// or https:// URL")
    seen = set(sync.peers)
    for i, entry in enumerate(config.peers):
        if not entry.url.startswith(("http://", "https://")):
            raise fail(f"peers[{i}].url", f"must be an http:// or https:// URL, got {entry.url!r}")
        if entry.kind not in PEER_KINDS:
            raise fail(f"peers[{i}].kind", f"must be one of {', '.join(PEER_KINDS)}")
        if entry.url.rstrip("/") in {u.rstrip("/") for u in seen}:
            raise fail(f"peers[{i}].url", f"{entry.url!r} is listed twice")
        seen.add(entry.url)
    found = config.discovery
    for key in ("aredn_poll_s", "aredn_node_poll_s"):
        if getattr(found, key) <= 0:
            raise fail(f"discovery.{key}", "must be positive")
    if found.mdns_grace_s < 0:
        raise fail("discovery.mdns_grace_s", "must not be negative")
    if found.aredn_node and not found.aredn_node.startswith(("http://", "https://")):
        raise fail("discovery.aredn_node", "must be an http:// or https:// URL")
    surfacecheck.check_web(config.web, config.store, config.sync, fail)
    surfacecheck.check_files(config.files, fail)
    surfacecheck.check_legacy(config.legacy, config.node.zones, fail)
    if config.node.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise fail("node.log_level", "must be DEBUG, INFO, WARNING or ERROR")
    accessconfig.validate(config.zone, config.node.operators, fail)
    actionconfig.validate(
        config.action_runner, config.actions, config.inbound, config.gateway_senders, fail
    )
    return config
