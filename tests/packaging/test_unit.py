"""rpi/meshchat.service: Type=notify, the user, the sandbox, and what systemd says of it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "rpi" / "meshchat.service"
REQUIRED = {
    "Type": "notify",
    "Restart": "on-failure",
    "User": "meshchat",
    "StateDirectory": "meshchat",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
    "CapabilityBoundingSet": "",
    "ExecReload": "/bin/kill -HUP $MAINPID",
}
ANALYZE = shutil.which("systemd-analyze")


def settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        match = re.match(r"^(\w+)=(.*)$", line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


def test_the_unit_sets_what_the_service_needs() -> None:
    found = settings()
    for key, value in REQUIRED.items():
        assert value in found.get(key, []), f"{key}={value}"
    assert "@system-service" in found["SystemCallFilter"]
    assert found["ExecStart"] == ["/usr/bin/meshchat serve --config /etc/meshchat/meshchat.toml"]


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_rates_the_sandbox_ok() -> None:
    done = subprocess.run(
        [str(ANALYZE), "security", "--offline=yes", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.0 and match.group(2) == "OK", match.group(0)
