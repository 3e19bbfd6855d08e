"""The UI's ES modules agree on their names: every named import is exported by its module.

A browser refuses the whole module graph over one missing export (the page then never
starts); this finds it without a browser, in the default suite.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).parents[2] / "meshchat" / "web" / "static"
IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w-]+\.js)";', re.M)
EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([\w$]+)", re.M)
MODULES = sorted(STATIC.glob("*.js"))


def exports(path: Path) -> set[str]:
    return set(EXPORT.findall(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_named_import_is_exported(path: Path) -> None:
    for names, module in IMPORT.findall(path.read_text(encoding="utf-8")):
        target = STATIC / module
        assert target.is_file(), f"{path.name} imports {module}, which does not exist"
        wanted = {n.split(" as ")[0].strip() for n in names.split(",") if n.strip()}
        missing = wanted - exports(target)
        assert not missing, f"{path.name} imports {sorted(missing)} that {module} does not export"


def test_the_checker_sees_the_imports() -> None:
    found = [m for p in MODULES for m in IMPORT.findall(p.read_text(encoding="utf-8"))]
    assert len(found) > 50  # a regex that matched nothing would pass every module
