"""Nodes and fake legacy nodes together, on 127.0.0.1 port 0, with the legacy poll shrunk."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from meshchat import app
from meshchat.app import RunningNode
from meshchat.legacy.cgi import PREFIX
from meshchat.timing import Timing
from tests.legacy.rawhttp import RawAnswer, Traffic, curl
from tests.mesh import QUICK, for_config
from tests.nodes import node_config

# Legacy polls every 0.2 s; the native sync as tests/mesh.py's QUICK.
LEGACY_QUICK = dataclasses.replace(
    QUICK,
    legacy_poll_s=0.2,
    legacy_not_meshchat_s=1.0,
    legacy_backoff_max_s=0.5,
    backoff_base_s=0.1,
)


async def start_legacy_node(
    base: Path, name: str, timing: Timing = LEGACY_QUICK, **overrides: Any
) -> RunningNode:
    """Start a meshchat node named ``name`` with its own data dir."""
    cfg = node_config(base / name, node__name=name, **overrides)
    return await app.start(cfg, for_config(timing, cfg))


async def cgi(
    running: RunningNode, action: str, traffic: Traffic | None = None, **params: str
) -> RawAnswer:
    """GET ``/cgi-bin/meshchat?action=…`` from a node with the curl-like raw client."""
    query = urlencode({"action": action, **params})
    return await curl(f"{running.url}{PREFIX}?{query}", traffic or Traffic())


async def cgi_post(node: RunningNode, fields: dict[str, str]) -> RawAnswer:
    """POST a urlencoded form to ``/cgi-bin/meshchat`` as a legacy UI or an SMS script does."""
    return await curl(f"{node.url}{PREFIX}", Traffic(), data=fields)


def legacy_peer(node: RunningNode, url: str) -> None:
    """Make the legacy node at ``url`` a static legacy peer of ``node`` (``[[peers]]``)."""
    node.node.scheduler.add_peer(url, "static", "legacy")
