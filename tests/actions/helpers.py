"""Builders for the actions tests: scripts written into tmp_path, nodes with rules, waits."""

from __future__ import annotations

import asyncio
import dataclasses
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshchat import app, config
from meshchat.actionconfig import ActionEntry, ActionRunnerConfig, GatewaySender, InboundConfig
from meshchat.actions.events import Event
from tests.nodes import node_config

TOKEN = "test-inbound-token-0123456789"
# Short enough for a fast suite, long enough for a Python start on a slow runner.
WAIT_S = 8.0


def script(path: Path, body: str) -> Path:
    """Write an executable /bin/sh script and return its path."""
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def rule(name: str, command: list[str], **fields: Any) -> ActionEntry:
    """An ``[[actions]]`` entry with short test timings by default."""
    fields.setdefault("timeout", 5.0)
    return ActionEntry(name=name, command=tuple(command), **fields)


def runner_config(**fields: Any) -> ActionRunnerConfig:
    """``[action_runner]`` with test timings: quick retries, no rate limit to speak of."""
    fields.setdefault("retry_backoff_s", 0.05)
    fields.setdefault("rate_per_minute", 600)
    return ActionRunnerConfig(**fields)


def actions_config(
    data_dir: Path,
    rules: list[ActionEntry],
    *,
    runner: ActionRunnerConfig | None = None,
    token: str = TOKEN,
    senders: tuple[GatewaySender, ...] = (),
    **overrides: Any,
) -> config.Config:
    """A test node's config with action rules, an inbound token and test timings."""
    base = node_config(data_dir, **overrides)
    cfg = dataclasses.replace(
        base,
        actions=tuple(rules),
        action_runner=runner or runner_config(),
        inbound=InboundConfig(token=token),
        gateway_senders=senders,
    )
    return config.validate(cfg)


async def start(cfg: config.Config) -> app.RunningNode:
    """Start a node from a full config."""
    return await app.start(cfg)


def read(path: Path | str) -> str:
    """Return a small file's text (test set-up may block)."""
    return Path(path).read_text(encoding="utf-8")


async def wait_for(
    probe: Callable[[], Any], what: str, limit_s: float = WAIT_S, every: float = 0.02
) -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy; fail after limit_s."""
    deadline = time.monotonic() + limit_s
    while True:
        found = probe()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


async def runs(node: app.RunningNode, **query: Any) -> list[dict[str, Any]]:
    """Return the node's action log, newest first."""
    return await node.node.actions.log(500, **query)


async def finished(node: app.RunningNode, count: int = 1, **query: Any) -> list[dict[str, Any]]:
    """Wait until ``count`` runs have ended (not queued or running); return the log."""

    async def probe() -> list[dict[str, Any]] | None:
        found = [r for r in await runs(node, **query) if r["state"] not in ("queued", "running")]
        return found if len(found) >= count else None

    result: list[dict[str, Any]] = await wait_for(probe, f"{count} finished run(s)")
    return result


def event(**fields: Any) -> Event:
    """An event with plausible defaults, for the pure matching tests."""
    values: dict[str, Any] = {
        "event": "message",
        "id": "ab" * 32,
        "zone": "MeshChat",
        "channel": "ops",
        "callsign": "W1AW",
        "text": "hello mesh",
        "node": "node-1",
        "verified": "via",
        "kind": "msg",
        "ts": 1_700_000_000_000,
        "origin": "local",
    }
    values.update(fields)
    return Event(**values)
