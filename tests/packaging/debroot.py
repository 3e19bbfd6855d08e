"""A clean Debian bookworm root for the package tests, and ways to run things in it.

The base root (``debootstrap --variant=minbase``, from Debian's mirror) is made once and
kept in ``build/debroot/base`` (an ignored folder); each test gets a fresh copy. Every
command runs through ``unshare --mount`` so /proc is mounted only inside that process's
own mount namespace and nothing is left mounted; a node runs with ``--net`` too, in a
private network namespace holding only ``lo``, and is reached there through ``nsenter``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "build" / "debroot"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
PROBE = Path(__file__).with_name("nodeprobe.py")
ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND": "noninteractive",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}


def base_root() -> Path:
    """Return the cached minbase root, bootstrapping it on the first call."""
    base = CACHE / "base"
    if (CACHE / "complete").exists():
        return base
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", "bookworm", str(base), MIRROR],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (CACHE / "complete").write_text("ok\n")
    return base


def fresh_root(where: Path) -> Path:
    """Return a new copy of the base root at ``where``, ready for apt."""
    subprocess.run(["cp", "-a", str(base_root()), str(where)], check=True)
    shutil.copy("/etc/resolv.conf", where / "etc" / "resolv.conf")
    return where


def _wrapper(root: Path, net: bool) -> list[str]:
    flags = ["--mount", "--fork", *(["--net"] if net else [])]
    lo = "ip link set lo up && " if net else ""
    script = f'{lo}mount -t proc proc "$0/proc" && exec chroot "$@"'
    return ["unshare", *flags, "sh", "-c", script, str(root)]


def run(root: Path, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` as root inside the root (with the host's network: apt needs the mirror)."""
    result = subprocess.run(
        [*_wrapper(root, net=False), str(root), *cmd],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


class Daemon:
    """``meshchat serve`` in the root as the ``meshchat`` user, in its own network namespace."""

    def __init__(self, root: Path, port: int, log: Path) -> None:
        self.port = port
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                *_wrapper(root, net=True),
                "--userspec=meshchat:meshchat",
                str(root),
                "/usr/bin/meshchat",
                "serve",
            ],
            env=ENV,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"
        # nsenter must not run before unshare has made the namespace (it would probe ours).
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if os.readlink(f"/proc/{self.proc.pid}/ns/net") != own:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        waited = self.probe("wait")
        if waited.returncode != 0:
            self.stop()
            raise AssertionError(f"the node did not answer: {waited.stderr}\n{log.read_text()}")

    def probe(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run tests/packaging/nodeprobe.py in the node's network namespace."""
        return subprocess.run(
            [
                "nsenter",
                "-t",
                str(self.proc.pid),
                "-n",
                sys.executable,
                str(PROBE),
                args[0],
                self.url,
                *args[1:],
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def stop(self) -> int:
        """SIGTERM the node (the process unshare forked) and wait for it to end."""
        deadline = time.monotonic() + 30
        children: list[str] = []
        while not children and self.proc.poll() is None and time.monotonic() < deadline:
            path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            children = path.read_text().split() if path.exists() else []
        for pid in children:
            os.kill(int(pid), signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code
