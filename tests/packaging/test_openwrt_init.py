"""The procd init script, run against a stub of procd's and UCI's shell functions."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from meshchat import config

OPENWRT = Path(__file__).resolve().parents[2] / "openwrt" / "meshchat"
INIT = OPENWRT / "files" / "meshchat.init"
UCI = OPENWRT / "files" / "meshchat.config"
STUB = Path(__file__).with_name("procd") / "rc.common"


@dataclass
class Run:
    calls: list[str]
    toml: Path


def uci(tmp_path: Path, **options: str) -> Path:
    """The packaged UCI file with the data dir moved into ``tmp_path`` and ``options`` set."""
    text = UCI.read_text().replace("'/etc/meshchat'", f"'{tmp_path / 'data'}'")
    for key, value in options.items():
        text, n = re.subn(
            rf"^(\s*)#?(option|list) {key} '.*'$",
            lambda m, key=key, value=value: f"{m.group(1)}{m.group(2)} {key} '{value}'",
            text,
            count=1,
            flags=re.M,
        )
        if not n:
            text += f"\toption {key} '{value}'\n"
    path = tmp_path / "meshchat.uci"
    path.write_text(text)
    return path


def run(tmp_path: Path, action: str, uci_file: Path) -> Run:
    log = tmp_path / "procd.log"
    log.write_text("")
    done = subprocess.run(
        ["sh", str(STUB), str(INIT), action],
        env={
            "PATH": "/usr/bin:/bin",
            "UCI_FILE": str(uci_file),
            "PROCD_LOG": str(log),
            "STUB_ROOT": str(tmp_path / "root"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not done.stderr, done.stderr
    return Run(log.read_text().splitlines(), tmp_path / "root" / "var" / "etc" / "meshchat.toml")


def test_the_init_script_is_valid_sh() -> None:
    assert subprocess.run(["sh", "-n", str(INIT)], check=False).returncode == 0
    assert INIT.read_text().startswith("#!/bin/sh /etc/rc.common\n")


def test_start_asks_procd_for_a_respawning_instance_as_meshchat(tmp_path: Path) -> None:
    result = run(tmp_path, "start", uci(tmp_path))
    conf = result.toml
    calls = result.calls
    assert calls[0] == "open_service meshchat" and calls[-1] == "close_service"
    assert "open_instance meshchat" in calls
    assert f"set_param command /usr/bin/meshchat serve --config {conf}" in calls
    assert "set_param user meshchat" in calls and "set_param group meshchat" in calls
    assert "set_param respawn 3600 5 5" in calls
    assert "set_param stdout 1" in calls and "set_param stderr 1" in calls
    env = next(c for c in calls if c.startswith("set_param env "))
    assert f"MESHCHAT_CONFIG={conf}" in env and "MESHCHAT_RESTART_KEY=" in env
    assert "add_reload_trigger meshchat" in calls
    assert f"chown meshchat:meshchat {tmp_path / 'data'}" in calls
    cfg = config.load(conf)  # what the script wrote is a valid meshchat config
    assert cfg.node.listen == "0.0.0.0:8080" and cfg.node.zones == ("MeshChat",)
    assert cfg.node.data_dir == tmp_path / "data"
    assert cfg.discovery.mdns and cfg.discovery.aredn_services == ""
    assert cfg.store.max_age_days == 365 and cfg.sync.peers == ()


def test_options_lists_and_awkward_strings_reach_the_toml(tmp_path: Path) -> None:
    path = uci(tmp_path, name='kd0 "q" \\x', mdns="0", zone_secret="s3cr3t", max_records="5000")
    text = (
        path.read_text()
        .replace("\tlist zone 'MeshChat'\n", "\tlist zone 'MeshChat'\n\tlist zone 'Ops'\n")
        .replace(
            "\t#list peer 'http://10.1.2.3:8080'\n",
            "\tlist peer 'http://10.1.2.3:8080'\n\tlist peer 'http://10.1.2.4:8080'\n",
        )
    )
    path.write_text(text)
    cfg = config.load(run(tmp_path, "start", path).toml)
    assert cfg.node.name == 'kd0 "q" \\x'
    assert cfg.node.zones == ("MeshChat", "Ops")
    assert cfg.sync.peers == ("http://10.1.2.3:8080", "http://10.1.2.4:8080")
    assert cfg.sync.zone_secret == "s3cr3t" and not cfg.discovery.mdns
    assert cfg.store.max_records == 5000


def test_aredn_service_lists_are_found_when_the_router_has_them(tmp_path: Path) -> None:
    services = tmp_path / "root" / "var" / "run" / "arednlink" / "services"
    services.mkdir(parents=True)
    cfg = config.load(run(tmp_path, "start", uci(tmp_path)).toml)
    assert cfg.discovery.aredn_services == str(services)
    cfg = config.load(run(tmp_path, "start", uci(tmp_path, aredn_services="off")).toml)
    assert cfg.discovery.aredn_services == ""


def test_a_disabled_node_asks_for_no_instance(tmp_path: Path) -> None:
    calls = run(tmp_path, "start", uci(tmp_path, enabled="0")).calls
    assert not [c for c in calls if c.startswith("open_instance")]


def test_a_config_file_of_ones_own_is_used_as_it_is(tmp_path: Path) -> None:
    own = tmp_path / "own.toml"
    own.write_text('[node]\nlisten = "0.0.0.0:8080"\n')
    result = run(tmp_path, "start", uci(tmp_path, config_file=str(own)))
    assert f"set_param command /usr/bin/meshchat serve --config {own}" in result.calls
    assert not result.toml.exists()


@pytest.mark.parametrize(
    ("change", "hup"),
    [
        ({"peer": "http://10.9.9.9:8080", "log_level": "DEBUG", "mdns": "0"}, True),
        ({"listen": "0.0.0.0:9090"}, False),
        ({"zone_secret": "new"}, False),
    ],
)
def test_reload_signals_what_sighup_applies_and_restarts_for_the_rest(
    tmp_path: Path, change: dict[str, str], hup: bool
) -> None:
    first = run(tmp_path, "start", uci(tmp_path))
    key = next(c for c in first.calls if c.startswith("set_param env "))
    text = uci(tmp_path, **change).read_text()
    if "peer" in change:
        text = text.replace("\t#list peer 'http://10.1.2.3:8080'\n", "")
    path = tmp_path / "meshchat.uci"
    path.write_text(text)
    again = run(tmp_path, "reload", path)
    assert ("send_signal meshchat meshchat HUP" in again.calls) is hup
    same = next(c for c in again.calls if c.startswith("set_param env ")) == key
    assert same is hup  # a changed key changes the instance: procd restarts it
