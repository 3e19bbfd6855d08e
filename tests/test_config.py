"""Typed configuration from TOML (STYLE.md 9): defaults, round trip, errors naming key and file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from meshchat import config
from meshchat.config import Config
from meshchat.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "meshchat.toml"
    path.write_text(text, encoding="utf-8")
    return path


def toml_value(value: Any) -> str:
    """Format a config value as TOML (JSON strings and lists are valid TOML here)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, tuple):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)


def dump(cfg: Config) -> str:
    lines: list[str] = []
    for name in config.SECTIONS:
        lines.append(f"[{name}]")
        section = getattr(cfg, name)
        for f in dataclasses.fields(section):
            lines.append(f"{f.name} = {toml_value(getattr(section, f.name))}")
    return "\n".join(lines) + "\n"


def test_built_in_defaults_are_valid() -> None:
    cfg = config.load(None)
    assert cfg == config.validate(Config())
    assert cfg.node.data_dir == Path("./meshchat-data")
    assert cfg.node.listen == "0.0.0.0:8080"
    assert (cfg.listen_host, cfg.listen_port) == ("0.0.0.0", 8080)
    assert cfg.node.zones == ("MeshChat",)
    assert cfg.discovery.mdns is False
    assert cfg.discovery.aredn_services == "" and cfg.discovery.aredn_node == ""
    assert cfg.sync.peers == ()
    assert cfg.source == "<built-in defaults>"


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    cfg = config.load(path)
    assert cfg.source == str(path)
    assert dataclasses.replace(cfg, source=Config().source) == config.load(None)


def test_toml_round_trip_of_every_key(tmp_path: Path) -> None:
    cfg = Config(
        node=config.NodeConfig(
            name="eoc-node",
            data_dir=Path("/var/lib/meshchat"),
            listen="[::1]:9090",
            zones=("MeshChat", 'Drill "2"'),
            default_channel="ops",
            log_level="DEBUG",
        ),
        store=config.StoreConfig(
            max_record_bytes=65536,
            max_future_skew_s=60,
            max_age_days=30,
            max_records=1000,
            pinned_channels=("ops", "net"),
            prune_interval_s=60,
            author_quota_per_hour=5,
        ),
        sync=config.SyncConfig(
            peers=("http://10.0.0.2:8080", "https://peer.local.mesh"),
            sync_interval_s=2.5,
            frame_limit=4096,
            zone_secret="s3cret",
            request_timeout_s=5.0,
            backoff_max_s=30.0,
        ),
        discovery=config.DiscoveryConfig(mdns=True, aredn_services="/x", aredn_node="http://n1"),
        web=config.WebConfig(max_text_bytes=1000, session_ttl_s=60, login_attempts_per_minute=3),
    )
    path = write(tmp_path, dump(cfg))
    loaded = config.load(path)
    assert loaded == dataclasses.replace(cfg, source=str(path))
    assert (loaded.listen_host, loaded.listen_port) == ("::1", 9090)
    assert len(config.documented_keys()) == sum(
        len(dataclasses.fields(c)) for c in config.SECTIONS.values()
    )


def test_lists_become_tuples_and_a_single_string_a_one_tuple(tmp_path: Path) -> None:
    cfg = config.load(
        write(tmp_path, '[node]\nzones = ["A", "B"]\n[store]\npinned_channels = "ops"\n')
    )
    assert cfg.node.zones == ("A", "B")
    assert cfg.store.pinned_channels == ("ops",)


def test_ints_are_accepted_for_float_keys(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "[sync]\nsync_interval_s = 5\n"))
    assert cfg.sync.sync_interval_s == 5.0 and type(cfg.sync.sync_interval_s) is float


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[nodes]\nname = 'x'\n", "nodes"),
        ("stray = 1\n", "stray"),
        ("[node]\nnmae = 'x'\n", "node.nmae"),
        ("[node]\nlisten = 8080\n", "node.listen"),
        ("[node]\nzones = [1, 2]\n", "node.zones"),
        ("[node]\ndata_dir = 3\n", "node.data_dir"),
        ("[store]\nmax_age_days = '30'\n", "store.max_age_days"),
        ("[store]\nmax_age_days = 1.5\n", "store.max_age_days"),
        ("[store]\nmax_records = true\n", "store.max_records"),
        ("[sync]\nsync_interval_s = 'fast'\n", "sync.sync_interval_s"),
        ("[discovery]\nmdns = 'yes'\n", "discovery.mdns"),
        ("node = 1\n", "node"),
    ],
)
def test_unknown_keys_and_wrong_types_name_the_key_and_file(
    tmp_path: Path, text: str, key: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert key in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[node]\nlisten = '0.0.0.0'\n", "node.listen"),
        ("[node]\nlisten = 'host:'\n", "node.listen"),
        ("[node]\nlisten = 'host:65536'\n", "node.listen"),
        ("[node]\nlisten = 'host:http'\n", "node.listen"),
        ("[node]\nzones = []\n", "node.zones"),
        ("[node]\nzones = ['']\n", "node.zones"),
        ("[node]\nname = ''\n", "node.name"),
        ('[node]\ndefault_channel = "a\\tb"\n', "node.default_channel"),
        ("[node]\nlog_level = 'LOUD'\n", "node.log_level"),
        ("[store]\nmax_record_bytes = 1023\n", "store.max_record_bytes"),
        ("[store]\nmax_age_days = 0\n", "store.max_age_days"),
        ("[store]\nmax_records = -1\n", "store.max_records"),
        ("[sync]\nframe_limit = 4095\n", "sync.frame_limit"),
        ("[sync]\nframe_limit = 65537\n", "sync.frame_limit"),
        ("[sync]\nsync_interval_s = 0\n", "sync.sync_interval_s"),
        ("[sync]\npeers = ['10.0.0.2:8080']\n", "sync.peers"),
        ("[web]\nmax_text_bytes = 32000\n", "web.max_text_bytes"),
        ("[web]\nsession_ttl_s = 59\n", "web.session_ttl_s"),
        ("[web]\nlogin_attempts_per_minute = 0\n", "web.login_attempts_per_minute"),
    ],
)
def test_invalid_values_name_the_key_and_file(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert key in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("limit", [0, 4096, 16384, 65536])
def test_frame_limit_bounds(tmp_path: Path, limit: int) -> None:
    assert (
        config.load(write(tmp_path, f"[sync]\nframe_limit = {limit}\n")).sync.frame_limit == limit
    )


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match="cannot read config") as info:
        config.load(missing)
    assert str(missing) in str(info.value)
    bad = write(tmp_path, "[node\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        config.load(bad)
    assert str(bad) in str(info.value)


def test_with_overrides() -> None:
    base = config.load(None)
    cfg = config.with_overrides(
        base,
        node__listen="127.0.0.1:0",
        node__data_dir="/tmp/x",
        sync__peers=["http://a:8080"],
        discovery__mdns=True,
        node__zones=None,  # not given on the command line: keep the file's value
    )
    assert cfg.node.listen == "127.0.0.1:0"
    assert (cfg.listen_host, cfg.listen_port) == ("127.0.0.1", 0)
    assert cfg.node.data_dir == Path("/tmp/x")
    assert cfg.sync.peers == ("http://a:8080",)
    assert cfg.discovery.mdns is True
    assert cfg.node.zones == base.node.zones
    assert base.node.listen == "0.0.0.0:8080"  # the original is frozen and unchanged


def test_with_overrides_validates() -> None:
    with pytest.raises(ConfigError, match="--listen"):
        config.with_overrides(config.load(None), node__listen=8080)
    with pytest.raises(ConfigError, match=r"node\.listen"):
        config.with_overrides(config.load(None), node__listen="nohost")


def test_configs_are_frozen() -> None:
    cfg = config.load(None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.node.listen = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        (":80", ("0.0.0.0", 80)),
        ("[fe80::1]:1", ("fe80::1", 1)),
    ],
)
def test_split_listen(value: str, expected: tuple[str, int]) -> None:
    assert config.split_listen(value, "node.listen", "src") == expected


def test_lists_of_tables_become_frozen_entries(tmp_path: Path) -> None:
    cfg = config.load(
        write(
            tmp_path,
            '[sync]\npeers = ["http://a:8080"]\n'
            '[[peers]]\nurl = "http://b:8080"\n'
            '[[peers]]\nurl = "http://c:8080"\nkind = "legacy"\n',
        )
    )
    assert cfg.peers == (
        config.PeerEntry("http://b:8080"),
        config.PeerEntry("http://c:8080", kind="legacy"),
    )
    assert [(p.url, p.kind) for p in cfg.static_peers] == [
        ("http://a:8080", "auto"),
        ("http://b:8080", "auto"),
        ("http://c:8080", "legacy"),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.peers[0].kind = "native"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[[peers]]\nurl = "http://a"\n[[peers]]\nurl = "http://b"\nkind = 1\n', "peers[1].kind"),
        ('[[peers]]\nurl = "http://a"\nknid = "legacy"\n', "peers[0].knid"),
        ('[[peers]]\nkind = "legacy"\n', "peers[0].url"),
        ('[[peers]]\nurl = "10.0.0.1:8080"\n', "peers[0].url"),
        ('[[peers]]\nurl = "http://a"\nkind = "perl"\n', "peers[0].kind"),
        ('[sync]\npeers = ["http://a"]\n[[peers]]\nurl = "http://a/"\n', "peers[0].url"),
        ("peers = 1\n", "peers"),
        ('peers = ["http://a"]\n', "peers"),
    ],
)
def test_list_entry_errors_name_file_section_index_and_key(
    tmp_path: Path, text: str, where: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert where in str(info.value)
    assert str(path) in str(info.value)


def test_a_bad_flag_is_blamed_on_the_flag_not_on_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        config.with_overrides(config.load(None), node__listen="nohost")
    message = str(info.value)
    assert "--listen" in message and "node.listen" in message
    assert "built-in defaults" not in message
    with pytest.raises(ConfigError, match="--zone "):
        config.with_overrides(config.load(None), node__zones=["bad\tzone"])
    # A fault of the file itself, with an unrelated flag given, still names the file.
    cfg = dataclasses.replace(config.load(None), source="my.toml")
    cfg = dataclasses.replace(cfg, node=dataclasses.replace(cfg.node, name="bad\tname"))
    with pytest.raises(ConfigError, match=r"my\.toml: node\.name"):
        config.with_overrides(cfg, node__listen="127.0.0.1:1")
