"""Numbered migrations: applied once, atomically, and refused when the file is newer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from meshchat.errors import StoreError
from meshchat.store import schema
from meshchat.store.db import Store


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.close()
    return version


async def test_fresh_store_is_at_latest_version_and_reopen_is_idempotent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    for _ in range(3):
        store = await Store.open(path)
        try:
            await store.meta_set("opened", "yes")
            assert await store.integrity_check() == "ok"
        finally:
            await store.close()
    assert user_version(path) == schema.latest_version()


def test_migrations_are_numbered_in_order() -> None:
    versions = [v for v, _ in schema.MIGRATIONS]
    # Strictly increasing from 1; a number may be reserved for work on another branch.
    assert versions[0] == 1
    assert versions == sorted(set(versions))


async def test_failed_migration_rolls_back_and_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    store = await Store.open(path)
    await store.close()
    latest = schema.latest_version()
    broken = [*schema.MIGRATIONS, (latest + 1, "CREATE TABLE half (x);\nTHIS IS NOT SQL;")]
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    with pytest.raises(StoreError, match=f"migration {latest + 1} failed") as info:
        await Store.open(path)
    assert str(path) in str(info.value)
    assert user_version(path) == latest
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "half" not in names


async def test_next_migration_applies_on_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    store = await Store.open(path)
    await store.close()
    latest = schema.latest_version()
    monkeypatch.setattr(
        schema, "MIGRATIONS", [*schema.MIGRATIONS, (latest + 1, "CREATE TABLE t2 (x);")]
    )
    for _ in range(2):
        store = await Store.open(path)
        await store.close()
    assert user_version(path) == latest + 1


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = await Store.open(path)
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {schema.latest_version() + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this meshchat"):
        await Store.open(path)
