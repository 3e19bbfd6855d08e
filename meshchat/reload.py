"""SIGHUP: apply what a re-read config may change without a restart, name what it may not.

Applied at once: static peers (``sync.peers``), every ``discovery.*`` setting and
``node.log_level``. Anything else that changed (the listen address, zones, the data dir,
the zone secret, ``[[actions]]`` — the action service has no reload) is logged as needing
a restart and keeps its running value.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass

from meshchat import app, logsetup
from meshchat.config import LIST_SECTIONS, SECTIONS, Config

log = logging.getLogger(__name__)

RELOADABLE = frozenset(
    {"sync.peers", "node.log_level"}
    | {f"discovery.{f.name}" for f in dataclasses.fields(SECTIONS["discovery"])}
)
# Discovery intervals live in the node's Timing (timing.py); a reload refreshes them.
_DISCOVERY_TIMING = ("aredn_poll_s", "aredn_node_poll_s", "mdns_grace_s")


@dataclass(frozen=True)
class Outcome:
    """What a reload applied and what only a restart will."""

    applied: tuple[str, ...]
    need_restart: tuple[str, ...]


def changed_keys(old: Config, new: Config) -> list[str]:
    """Return every ``section.key`` (and ``[[list]]``) whose value differs."""
    keys = [
        f"{name}.{f.name}"
        for name in SECTIONS
        for f in dataclasses.fields(SECTIONS[name])
        if getattr(getattr(old, name), f.name) != getattr(getattr(new, name), f.name)
    ]
    keys += [f"[[{name}]]" for name in LIST_SECTIONS if getattr(old, name) != getattr(new, name)]
    return keys


def merged(old: Config, new: Config) -> Config:
    """Return the running config with the reloadable values of ``new`` taken over."""
    return dataclasses.replace(
        old,
        node=dataclasses.replace(old.node, log_level=new.node.log_level),
        sync=dataclasses.replace(old.sync, peers=new.sync.peers),
        discovery=new.discovery,
    )


async def apply(running: app.RunningNode, new: Config) -> Outcome:
    """Apply ``new`` to a serving node as far as it can be without a restart."""
    node = running.node
    changed = changed_keys(node.config, new)
    applied = tuple(k for k in changed if k in RELOADABLE)
    later = tuple(k for k in changed if k not in RELOADABLE)
    config = merged(node.config, new)
    if "node.log_level" in applied:
        logsetup.set_level(config.node.log_level)
    node.config = config
    if "sync.peers" in applied:
        await node.scheduler.reload(config)
    if any(k.startswith("discovery.") for k in applied):
        await _restart_discovery(running, config)
    if applied:
        log.info("reloaded %s: applied %s", new.source, ", ".join(applied))
    else:
        log.info("reloaded %s: nothing that can change without a restart changed", new.source)
    if later:
        log.warning(
            "reloaded %s: %s changed and need(s) a restart to take effect",
            new.source,
            ", ".join(later),
        )
    return Outcome(applied, later)


async def _restart_discovery(running: app.RunningNode, config: Config) -> None:
    """Stop the discovery loops, forget what they found, start the ones ``config`` asks for."""
    node = running.node
    tasks, running.discovery = running.discovery, []
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # The new sources find again whatever is still announced; stale finds must not stay.
    for peer in node.peers.all():
        if peer.source != "static":
            await node.scheduler.remove_peer(peer.url)
    node.timing = dataclasses.replace(
        node.timing, **{k: getattr(config.discovery, k) for k in _DISCOVERY_TIMING}
    )
    running.discovery = app.start_discovery(node, config, running.port)
