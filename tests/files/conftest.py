"""Fixtures of the files tests: a store and a blob store in tmp_path, closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from meshchat.store.blobs import BlobStore
from meshchat.store.db import Store
from tests import factories
from tests.files.helpers import blob_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open store whose own node key is the test node key."""
    opened = await Store.open(
        tmp_path / "meshchat.db", node_key=bytes(factories.node_key().verify_key)
    )
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def blobs(store: Store, tmp_path: Path) -> BlobStore:
    """A blob store with a 64 MiB quota and a 16 MiB file limit."""
    return await blob_store(store, tmp_path / "blobs")
