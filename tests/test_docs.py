"""Docs that cannot drift (STYLE.md 16): every config key is documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshchat import config

README = Path(__file__).parents[1] / "README.md"


@pytest.mark.parametrize("key", config.documented_keys())
def test_config_key_is_documented_in_the_readme(key: str) -> None:
    assert f"`{key}`" in README.read_text(encoding="utf-8"), f"README.md does not document {key}"


@pytest.mark.parametrize("key", config.documented_list_keys())
def test_list_key_is_documented_in_the_readme(key: str) -> None:
    assert f"`{key}`" in README.read_text(encoding="utf-8"), f"README.md does not document {key}"


def test_readme_names_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "./scripts/serve" in text
    assert "./scripts/test" in text
