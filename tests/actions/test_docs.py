"""Docs that cannot drift (STYLE.md 16): events, variables and bundled scripts in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshchat.actions.events import EVENTS
from meshchat.actions.rules import BUNDLED, BUNDLED_PREFIX, SCRIPTS
from tests.actions.helpers import event

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_event_is_documented(name: str) -> None:
    assert f"| `{name}` |" in README, f"README.md does not document the event {name}"


@pytest.mark.parametrize("name", sorted(event().environment("r")))
def test_every_environment_variable_is_documented(name: str) -> None:
    assert f"`{name}`" in README


@pytest.mark.parametrize("key", sorted(event().to_json("r")))
def test_every_payload_key_is_documented(key: str) -> None:
    start = README.index("**What a command gets.**")
    assert key in README[start : start + 400]


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_script_is_documented_and_has_a_usage_note(name: str) -> None:
    assert f"`{BUNDLED_PREFIX}{name}" in README
    head = (SCRIPTS / f"{name}.py").read_text(encoding="utf-8").split('"""')[1]
    assert f"{BUNDLED_PREFIX}{name}" in head or f"{name}.py" in head
