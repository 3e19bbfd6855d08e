"""Fixtures for the web tests: one running node and a client logged out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from meshchat.app import RunningNode
from tests.nodes import ApiClient, start_node


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    """A running node on 127.0.0.1 with an ephemeral port."""
    running = await start_node(tmp_path / "data")
    yield running
    await running.stop()


@pytest.fixture
async def client(node: RunningNode) -> AsyncIterator[ApiClient]:
    """An API client for ``node``, not logged in."""
    api = ApiClient(node.url)
    yield api
    await api.close()
