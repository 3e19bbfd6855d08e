"""The argv runner: timeouts kill the whole process group, output is capped, text is data."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from meshchat.actions.runner import run_command
from tests.actions.helpers import script, wait_for

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def gone(pid: int) -> bool:
    """Tell whether ``pid`` has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


async def test_exit_status_stdin_and_environment(tmp_path: Path) -> None:
    cmd = script(tmp_path / "echo.sh", 'cat; printf "%s" "$GREETING"; echo oops >&2; exit 3\n')
    outcome = await run_command([str(cmd)], b"from stdin ", {**ENV, "GREETING": "hi"}, 5, 1000)
    assert outcome.exit_status == 3 and not outcome.ok
    assert outcome.stdout == b"from stdin hi"
    assert outcome.stderr == b"oops\n"
    assert outcome.detail() == "exit status 3"
    assert outcome.output(1000) == "from stdin hi\n[stderr] oops\n"


async def test_a_hanging_script_is_killed_at_its_timeout_with_its_children(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "child.pid"
    cmd = script(tmp_path / "hang.sh", f'sleep 30 &\necho $! > "{pidfile}"\nsleep 30\n')
    started = time.monotonic()
    outcome = await run_command([str(cmd)], b"", ENV, 0.3, 1000)
    assert time.monotonic() - started < 2.5
    assert outcome.timed_out and not outcome.ok
    assert outcome.exit_status is not None and outcome.exit_status < 0  # killed by a signal
    assert "timeout" in outcome.detail()
    child = int(pidfile.read_text())
    await wait_for(lambda: gone(child), "the backgrounded child to die", limit_s=2)


async def test_a_script_printing_megabytes_is_capped(tmp_path: Path) -> None:
    cmd = script(tmp_path / "loud.sh", "yes xxxxxxxxxxxxxxxxxxx | head -c 6000000\nexit 0\n")
    started = time.monotonic()
    outcome = await run_command([str(cmd)], b"", ENV, 10, 4096)
    assert time.monotonic() - started < 2.5
    assert outcome.ok
    assert len(outcome.stdout) == 4096 and outcome.truncated
    assert outcome.output(4096).endswith("[…]")


async def test_a_missing_command_does_not_start(tmp_path: Path) -> None:
    outcome = await run_command([str(tmp_path / "nope")], b"", ENV, 1, 100)
    assert outcome.exit_status is None and "cannot run" in outcome.error


async def test_a_script_that_ignores_stdin_is_fine(tmp_path: Path) -> None:
    cmd = script(tmp_path / "quiet.sh", "exit 0\n")
    outcome = await run_command([str(cmd)], b"x" * 300_000, ENV, 5, 100)
    assert outcome.ok


async def test_cancelling_a_run_kills_its_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "leader.pid"
    cmd = script(tmp_path / "hang.sh", f'echo $$ > "{pidfile}"\nsleep 30\n')
    task = asyncio.ensure_future(run_command([str(cmd)], b"", ENV, 30, 100))
    await wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), "the script")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    leader = int(pidfile.read_text())
    await wait_for(lambda: gone(leader), "the script to die", limit_s=2)


async def test_shell_syntax_in_the_text_reaches_the_script_only_as_data(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    text = f'hi; rm -rf / ; $(touch {marker}) `touch {marker}` "quoted" \\ $HOME'
    out = tmp_path / "env.txt"
    cmd = script(tmp_path / "data.sh", f'printf "%s" "$MESHCHAT_TEXT" > "{out}"\ncat\n')
    payload = json.dumps({"text": text}).encode()
    outcome = await run_command([str(cmd)], payload, {**ENV, "MESHCHAT_TEXT": text}, 5, 10_000)
    assert outcome.ok
    assert out.read_text() == text
    assert json.loads(outcome.stdout)["text"] == text
    assert not marker.exists()


async def test_a_child_left_holding_stdout_is_ended_with_the_commands_own_status(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "child.pid"
    cmd = script(tmp_path / "bg.sh", f'sleep 30 &\necho $! > "{pidfile}"\necho done\nexit 0\n')
    started = time.monotonic()
    outcome = await run_command([str(cmd)], b"", ENV, 10, 1000)
    assert time.monotonic() - started < 2.5
    assert outcome.ok and not outcome.timed_out and outcome.stdout == b"done\n"
    child = int(pidfile.read_text())
    await wait_for(lambda: gone(child), "the left-behind child to die", limit_s=2)
