"""The UI's files, read as text (no browser): no HTML sinks, no inline script or style.

Not marked ``browser``: it runs in the default suite.
"""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "meshchat" / "web" / "static"


def test_ui_sources_never_parse_html() -> None:
    """No HTML sink in the UI code and no inline script or style in the page."""
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|"
        r"new Function|DOMParser|createContextualFragment|srcdoc"
    )
    for path in STATIC.glob("*.js"):
        assert not sinks.search(path.read_text("utf-8")), path.name
    page = (STATIC / "index.html").read_text("utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page)


def _imports(name: str) -> set[str]:
    """The sibling modules ``name`` imports (``from "./x.js"``)."""
    return set(re.findall(r'from "\./([A-Za-z0-9_.-]+\.js)"', (STATIC / name).read_text("utf-8")))


def test_every_module_is_reached_from_app_js_and_preloaded() -> None:
    """index.html preloads exactly the modules app.js pulls in, and no module is orphaned."""
    reached: set[str] = set()
    todo = ["app.js"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(_imports(name))
    assert reached == {p.name for p in STATIC.glob("*.js")}
    page = (STATIC / "index.html").read_text("utf-8")
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page))
    assert preloaded == reached - {"app.js"}
