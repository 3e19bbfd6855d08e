"""The OpenWrt 24.10 ipk that openwrt/build-ipk.sh makes: its format, control, files, init.

Marked ``package`` (the first build fetches the aiosqlite wheel from PyPI); .ci/run runs it.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKEFILE = REPO / "openwrt" / "meshchat" / "Makefile"
pytestmark = [pytest.mark.package, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def ipk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ipk")
    done = subprocess.run(
        [str(REPO / "openwrt" / "build-ipk.sh")],
        env=dict(os.environ, OUT=str(out)),
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip().splitlines()[-1])


def members(blob: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def read(blob: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        handle = tar.extractfile(name)
        assert handle is not None, name
        return handle.read()


def test_the_outer_archive_is_what_opkg_reads(ipk: Path) -> None:
    assert ipk.name == "meshchat_0.1.0-r1_all.ipk"
    outer = ipk.read_bytes()
    assert list(members(outer)) == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    assert read(outer, "./debian-binary") == b"2.0\n"


def control_of(ipk: Path) -> tuple[dict[str, str], bytes, bytes]:
    outer = ipk.read_bytes()
    control = read(outer, "./control.tar.gz")
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", read(control, "./control").decode(), re.M))
    return fields, control, read(outer, "./data.tar.gz")


def test_control_fields_match_the_makefile(ipk: Path) -> None:
    fields, control, data = control_of(ipk)
    mk = MAKEFILE.read_text()
    assert fields["Package"] == "meshchat" and fields["Architecture"] == "all"
    assert fields["Version"] == "0.1.0-r1"
    assert fields["Require-User"] == re.search(r"USERID:=(\S+)", mk).group(1)  # type: ignore[union-attr]
    depends = fields["Depends"].split(", ")
    for dep in (
        "python3-light",
        "python3-asyncio",
        "python3-sqlite3",
        "python3-aiohttp",
        "python3-zeroconf",
        "python3-msgpack",
        "python3-pynacl",
        "python3-ifaddr",
    ):
        assert dep in depends
    assert "python3-aiosqlite" not in depends  # bundled: no feed has it
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        size = sum(len(tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile())  # type: ignore[union-attr]
    assert int(fields["Installed-Size"]) >= size
    names = set(members(control))
    assert {"./control", "./conffiles", "./postinst", "./prerm"} <= names
    assert read(control, "./conffiles") == b"/etc/config/meshchat\n"
    assert b"default_postinst" in read(control, "./postinst")


def test_the_file_list(ipk: Path) -> None:
    _, _, data = control_of(ipk)
    files = members(data)
    site = "./usr/lib/python3.11/site-packages/meshchat/"
    for name, mode in [
        ("./usr/bin/meshchat", 0o755),
        ("./etc/init.d/meshchat", 0o755),
        ("./etc/config/meshchat", 0o644),
        ("./lib/upgrade/keep.d/meshchat", 0o644),
        (site + "__main__.pyc", 0o644),
        (site + "web/static/index.html", 0o644),
        ("./usr/lib/meshchat/vendor/aiosqlite/__init__.pyc", 0o644),
    ]:
        assert name in files, name
        assert files[name].mode == mode, name
    assert all(m.uid == 0 and m.gid == 0 for m in files.values())
    sources = [n for n in files if n.endswith(".py")]
    assert sources and all("/actions/scripts/" in n for n in sources)  # only the gateway scripts
    assert not [n for n in files if "/tests/" in n or "__pycache__" in n]
    assert (
        read(data, "./etc/config/meshchat")
        == (MAKEFILE.parent / "files/meshchat.config").read_bytes()
    )


def test_the_byte_code_imports_and_runs(ipk: Path, tmp_path: Path) -> None:
    _, _, data = control_of(ipk)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    magic = (tmp_path / "usr/lib/python3.11/site-packages/meshchat/cli.pyc").read_bytes()[:4]
    assert magic == importlib.util.MAGIC_NUMBER  # byte-code of this Python 3.11
    env = dict(
        os.environ,
        PYTHONPATH=f"{tmp_path}/usr/lib/meshchat/vendor:"
        f"{tmp_path}/usr/lib/python3.11/site-packages",
        PYTHONDONTWRITEBYTECODE="1",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import meshchat.app, aiosqlite, meshchat.cli;"
            "print(aiosqlite.__file__); meshchat.cli.main(['--version'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "meshchat 0.1.0" in done.stdout, done.stderr
    assert "/usr/lib/meshchat/vendor/aiosqlite/" in done.stdout
    init = tmp_path / "etc/init.d/meshchat"
    assert subprocess.run(["sh", "-n", str(init)], check=False).returncode == 0
