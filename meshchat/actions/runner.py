"""Running one command: an argv (never a shell), stdin, a timeout, capped output (DESIGN §7).

The command starts in a session of its own (``start_new_session``), so that at its
timeout, or when the node stops, the whole process group — the children it started too —
is killed with ``os.killpg``. stdout and stderr are drained to the end (a script that
writes megabytes is never blocked on a full pipe) but only their first ``cap`` bytes are
kept. Everything runs on the event loop without blocking it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

CHUNK = 65536
EXIT_POLL_S = 0.05
# After the command ends, how long its pipes may stay open (a child it left behind, or one
# that escaped the group, may hold them); the output read so far is kept.
DRAIN_AFTER_KILL_S = 0.5


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one run of a command ended."""

    exit_status: int | None  # the return code (negative: killed by that signal); None: no start
    duration_ms: int
    stdout: bytes
    stderr: bytes
    truncated: bool  # more output was written than was kept
    timed_out: bool = False
    error: str = ""  # why it did not start (not found, not executable)

    @property
    def ok(self) -> bool:
        """Tell whether the command ran and exited 0 within its time."""
        return self.exit_status == 0 and not self.timed_out

    def detail(self) -> str:
        """Return a one-line account of the outcome for the action log."""
        if self.error:
            return self.error
        if self.timed_out:
            return f"killed at its timeout after {self.duration_ms} ms"
        if self.exit_status is not None and self.exit_status < 0:
            return f"killed by signal {-self.exit_status}"
        return f"exit status {self.exit_status}"

    def output(self, cap: int) -> str:
        """Return the head of stdout and stderr, as text, for the action log."""
        out = self.stdout[:cap].decode("utf-8", "replace")
        if self.stderr:
            out += ("\n" if out and not out.endswith("\n") else "") + "[stderr] "
            out += self.stderr[:cap].decode("utf-8", "replace")
        if self.truncated:
            out += " […]"
        return out


class _Capture:
    """The head of one output stream; what was read survives a cancelled read."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept = bytearray()
        self.more = False

    async def read(self, stream: asyncio.StreamReader | None) -> None:
        """Read ``stream`` to its end, keeping the first ``cap`` bytes."""
        if stream is None:
            return
        while chunk := await stream.read(CHUNK):
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]
            if len(chunk) > room:
                self.more = True


async def _feed(stdin: asyncio.StreamWriter | None, data: bytes) -> None:
    """Write the payload and close stdin; a script that does not read it is no error."""
    if stdin is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(data)
        await stdin.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.close()


async def _exited(proc: asyncio.subprocess.Process, limit_s: float) -> bool:
    """Wait until the process itself has exited; False if it still runs after ``limit_s``.

    ``Process.wait()`` also waits for the pipes to close, which a child left behind can
    hold open for as long as it likes; the return code is set at the exit itself.
    """
    deadline = time.monotonic() + limit_s
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while proc.returncode is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.wait({waiter}, timeout=min(EXIT_POLL_S, left))
        return True
    finally:
        waiter.cancel()


def kill_group(pid: int) -> None:
    """Kill the process group the command leads (it and every child it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def run_command(
    argv: Sequence[str],
    stdin: bytes,
    env: Mapping[str, str],
    limit_s: float,
    cap: int,
    cwd: str | None = None,
) -> Outcome:
    """Run ``argv`` with ``stdin`` and ``env``; kill its process group after ``limit_s``."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return Outcome(None, elapsed(), b"", b"", False, error=f"cannot run {argv[0]}: {reason}")
    stdout, stderr = _Capture(cap), _Capture(cap)
    feeding = asyncio.ensure_future(_feed(proc.stdin, stdin))
    out = asyncio.ensure_future(stdout.read(proc.stdout))
    err = asyncio.ensure_future(stderr.read(proc.stderr))
    timed_out = False
    try:
        if not await _exited(proc, limit_s):
            timed_out = True
            kill_group(proc.pid)
            await _exited(proc, DRAIN_AFTER_KILL_S)
        # The command has ended; a child it left behind may still hold its stdout. Read
        # what is there, then end the group and let go of the pipes.
        left = max(0.0, limit_s - (time.monotonic() - started))
        _, pending = await asyncio.wait({out, err}, timeout=min(left, DRAIN_AFTER_KILL_S))
        if pending:
            kill_group(proc.pid)
            await asyncio.wait(pending, timeout=DRAIN_AFTER_KILL_S)
    except BaseException:
        kill_group(proc.pid)  # the node is stopping (cancelled): take the children along
        with contextlib.suppress(BaseException):
            await _exited(proc, DRAIN_AFTER_KILL_S)
        raise
    finally:
        for task in (feeding, out, err):
            if not task.done():
                task.cancel()
        await asyncio.gather(feeding, out, err, return_exceptions=True)
    kill_group(proc.pid)  # stragglers it left in the background
    return Outcome(
        proc.returncode,
        elapsed(),
        bytes(stdout.kept),
        bytes(stderr.kept),
        stdout.more or stderr.more,
        timed_out=timed_out,
    )
