"""Nodes as real ``meshchat serve`` processes, for the CLI and crash tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

URL_LINE = re.compile(r"open (http://\S+?)/meshchat/")
START_TIMEOUT_S = 30.0


def meshchat(
    *args: str, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m meshchat ARGS`` to completion and return its result."""
    return subprocess.run(
        [sys.executable, "-m", "meshchat", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


class ServeProcess:
    """A ``meshchat serve`` child process; ``url`` is read from what it prints."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meshchat", "serve", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.stopped_line = ""
        self.url = self._read_url()

    def _read_url(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        seen = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            seen.append(line)
            match = URL_LINE.search(line)
            if match:
                return match.group(1)
        self.kill()
        err = self.proc.stderr.read().decode() if self.proc.stderr else ""
        raise RuntimeError(f"node did not start: {''.join(seen)} {err}")

    def kill(self) -> None:
        """SIGKILL the node (the crash under test) and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_pipes()

    def stop(self) -> int:
        """SIGTERM the node, wait for a clean exit, and return its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        err = self.proc.stderr.read().decode() if self.proc.stderr else ""
        self.stopped_line = next((ln for ln in err.splitlines() if "stopped" in ln), "")
        self._close_pipes()
        return code

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def data_args(data_dir: Path) -> list[str]:
    """Return the flags that point a command at ``data_dir``."""
    return ["--data-dir", str(data_dir)]
