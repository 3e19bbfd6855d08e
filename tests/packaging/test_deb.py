"""The .deb in a clean Debian bookworm root: install, serve, upgrade, remove, purge.

Slow (debootstrap once, then apt from Debian's mirror): marked ``package`` and run by
``.ci/run`` section f. Needs root, debootstrap, unshare and nsenter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging import debroot

pytestmark = [
    pytest.mark.package,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (debootstrap, chroot, unshare)"),
]
OLD = "0.0.9-1"
CONFIG = "etc/meshchat/meshchat.toml"


def build(out: Path, version: str | None = None) -> Path:
    """Build the .deb into ``out`` (``version`` overrides the Debian version)."""
    env = dict(os.environ, OUT=str(out))
    if version:
        env["DEB_VERSION"] = version
    done = subprocess.run(
        [str(debroot.REPO / "rpi" / "build-deb.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("deb") / "root"
    yield debroot.fresh_root(where)
    shutil.rmtree(where, ignore_errors=True)


def set_key(root: Path, key: str, value: str) -> None:
    """Uncomment (or replace) ``key = …`` in the installed config."""
    path = root / CONFIG
    text = path.read_text()
    text, n = re.subn(rf"^#? ?{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
    assert n == 1, key
    path.write_text(text)


def install(root: Path, deb: Path) -> None:
    shutil.copy(deb, root / "tmp" / deb.name)
    debroot.run(
        root, "apt-get", "install", "-y", "-q", "--no-install-recommends", f"/tmp/{deb.name}"
    )


def test_install_serve_upgrade_remove_purge(root: Path, tmp_path: Path) -> None:
    old, new = build(tmp_path / "old", OLD), build(tmp_path / "new")
    debroot.run(root, "apt-get", "update", "-q")

    # A fresh install: the user, the folders, the conffile, the command on the PATH.
    install(root, old)
    passwd = (root / "etc/passwd").read_text()
    assert re.search(r"^meshchat:x:\d+:\d+:.*:/var/lib/meshchat:/usr/sbin/nologin$", passwd, re.M)
    data = root / "var/lib/meshchat"
    assert data.is_dir() and data.stat().st_mode & 0o777 == 0o750
    conf = root / CONFIG
    assert conf.stat().st_mode & 0o777 == 0o640
    assert "mdns = true" in conf.read_text()
    assert (
        debroot.run(root, "sh", "-c", "command -v meshchat").stdout.strip() == "/usr/bin/meshchat"
    )
    assert "meshchat 0.1.0" in debroot.run(root, "meshchat", "--version").stdout

    # The packaged config, changed to listen on loopback: the node serves as `meshchat`.
    port = 18080
    set_key(root, "listen", f'"127.0.0.1:{port}"')
    set_key(root, "name", '"pkg-test"')
    log = tmp_path / "serve.log"
    node = debroot.Daemon(root, port, log)
    try:
        checked = node.probe("check")
        assert checked.returncode == 0, checked.stderr
        assert '"pkg-test"' in checked.stdout
        posted = node.probe("post", "kept across the upgrade")
        assert posted.returncode == 0, posted.stderr
    finally:
        assert node.stop() == 0, log.read_text()
    assert (data / "meshchat.db").stat().st_uid == (data / "node.key").stat().st_uid
    key = (data / "node.key").read_bytes()

    # An upgrade keeps the changed config and the posted message.
    install(root, new)
    status = debroot.run(root, "dpkg-query", "-W", "-f=${Version}", "meshchat").stdout
    assert status == new.name.split("_")[1]
    assert f'listen = "127.0.0.1:{port}"' in conf.read_text()
    assert (data / "node.key").read_bytes() == key
    node = debroot.Daemon(root, port, log)
    try:
        assert node.probe("check").returncode == 0
        assert node.probe("has", "kept across the upgrade").returncode == 0
    finally:
        assert node.stop() == 0, log.read_text()

    # The unit passes systemd-analyze verify against the installed files.
    verify_unit(root)

    # remove keeps the data and the config; purge deletes both and the user.
    debroot.run(root, "apt-get", "remove", "-y", "-q", "meshchat")
    assert (data / "meshchat.db").exists() and conf.exists()
    assert not (root / "usr/bin/meshchat").exists()
    debroot.run(root, "apt-get", "purge", "-y", "-q", "meshchat")
    assert not data.exists()
    assert not (root / "etc/meshchat").exists()
    assert "meshchat:" not in (root / "etc/passwd").read_text()
    assert not list((root / "usr/lib/python3/dist-packages").glob("meshchat*"))


def verify_unit(root: Path) -> None:
    """``systemd-analyze verify`` the installed unit, with the host's units to resolve targets."""
    units = root / "lib/systemd/system"
    for unit in Path("/lib/systemd/system").iterdir():
        target = units / unit.name
        if not target.exists() and not target.is_symlink():
            if unit.is_dir():
                shutil.copytree(unit, target, symlinks=True)
            else:
                shutil.copy(unit, target, follow_symlinks=False)
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "/lib/systemd/system/meshchat.service"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
