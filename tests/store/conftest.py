"""Fixtures for store tests: a real SQLite file in tmp_path, closed after every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from meshchat.store.db import Store


@pytest.fixture
async def store(tmp_path: Path, node_key: SigningKey) -> AsyncIterator[Store]:
    """An open store whose own node key is the test node key."""
    opened = await Store.open(
        tmp_path / "db" / "meshchat.sqlite", node_key=bytes(node_key.verify_key)
    )
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def alice() -> SigningKey:
    """A user key that posts as ALICE."""
    return SigningKey(bytes([7]) * 32)


@pytest.fixture
def mallory() -> SigningKey:
    """A user key that tries to post as someone else."""
    return SigningKey(bytes([9]) * 32)
