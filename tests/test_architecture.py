"""The import rules of docs/architecture.md, checked by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "meshchat"
# The rooms of the house and which other rooms each may import (docs/architecture.md).
# Modules directly in meshchat/ are "base" (values, codec, config: no store), "services"
# (built on the store) or "root" (the composition root and the command line).
SURFACES = {"base", "store", "services"}
ALLOWED: dict[str, set[str]] = {
    "base": {"base"},
    "store": {"base", "store"},
    "services": {"base", "store", "services"},
    "sync": SURFACES | {"sync"},
    "web": SURFACES | {"web"},
    "legacy": SURFACES | {"legacy"},
    "actions": SURFACES | {"actions"},
    "root": SURFACES | {"sync", "web", "legacy", "actions", "root"},
}
ROOT_MODULES = {"app", "mount", "cli", "__main__", "daemon", "doctor", "doctornet", "reload"}
SERVICE_MODULES = {"ingest", "outbox", "retention", "nodeinfo"}
# Protocol logic has no I/O (STYLE.md 1): these import no event loop, HTTP or database.
SANS_IO = [
    "sync/negentropy.py",
    "sync/negentropy_arrays.py",
    "sync/negentropy_storage.py",
    "sync/session.py",
    "presence.py",
]
IO_MODULES = {"asyncio", "aiohttp", "aiosqlite", "sqlite3", "socket", "zeroconf"}
# The store is the only room with SQL (STYLE.md 8).
SQL_MODULES = {"aiosqlite", "sqlite3"}


def top_room(stem: str) -> str:
    """Return the room of a module directly in meshchat/."""
    if stem in ROOT_MODULES:
        return "root"
    return "services" if stem in SERVICE_MODULES else "base"


def room_of(path: Path) -> str:
    """Return the room of a module file: its sub-package, or its top-level room."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else top_room(rel.stem)


def room_of_module(name: str) -> str | None:
    """Return the room a ``meshchat.x.y`` import lands in, or None for other packages."""
    parts = name.split(".")
    if parts[0] != "meshchat":
        return None
    if len(parts) == 1:
        return "base"  # the package itself: __version__
    if (PACKAGE / parts[1]).is_dir():
        return parts[1]
    if (PACKAGE / f"{parts[1]}.py").is_file():
        return top_room(parts[1])
    return "base"  # ``from meshchat import x`` names the module x in ``meshchat.x``


def imports(path: Path) -> set[str]:
    """Return every module name ``path`` imports (``from a import b`` gives a and a.b)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_room_imports_only_what_it_may(path: Path) -> None:
    room = room_of(path)
    for name in imports(path):
        target = room_of_module(name)
        if target is None:
            continue
        assert target in ALLOWED[room], f"{path.relative_to(PACKAGE)} ({room}) imports {name}"


@pytest.mark.parametrize("name", SANS_IO)
def test_protocol_cores_do_no_io(name: str) -> None:
    used = {n.split(".")[0] for n in imports(PACKAGE / name)}
    assert not used & IO_MODULES, f"{name} imports {sorted(used & IO_MODULES)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sql_lives_in_the_store(path: Path) -> None:
    if room_of(path) == "store":
        return
    used = {n.split(".")[0] for n in imports(path)}
    assert not used & SQL_MODULES, f"{path.relative_to(PACKAGE)} opens the database itself"


def test_no_module_is_over_350_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in MODULES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 350
    }
    assert not long, f"split these (docs/architecture.md): {long}"
