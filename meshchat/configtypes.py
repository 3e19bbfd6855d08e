"""Typed TOML values for the config (STYLE.md 9): each error names the key and the file.

``build`` turns one TOML table into a frozen dataclass, checking every key against the
field's type; ``build_list`` does the same for a list of tables (``[[name]]``), naming the
entry by its index. The only conversions are lists to tuples and ints to floats.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from meshchat.errors import ConfigError


def field_type(cls: type[Any], key: str) -> Any:
    """Return the annotated type of one field of a config dataclass."""
    return typing.get_type_hints(cls)[key]


def build(cls: type[Any], where: str, table: dict[str, Any], source: str) -> Any:
    """Return ``cls`` built from ``table``; ``where`` names it in errors (``sync``)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in hints:
            raise ConfigError(f"{source}: unknown key {where}.{key}")
        values[key] = coerce(hints[key], value, f"{where}.{key}", source)
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{source}: {where}.{missing[0]} is required")
    return cls(**values)


def build_list(cls: type[Any], name: str, value: Any, source: str) -> tuple[Any, ...]:
    """Return a tuple of ``cls`` from a TOML list of tables ``[[name]]``."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(f"{source}: {name} must be a list of tables ([[{name}]])")
    return tuple(build(cls, f"{name}[{i}]", table, source) for i, table in enumerate(value))


def coerce(hint: Any, value: Any, key: str, source: str) -> Any:
    """Check ``value`` against the field's type; the only conversions are lists to tuples."""

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{source}: {key} must be {expected}, got {value!r}")

    if hint is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if hint is int:
        if type(value) is not int:
            raise bad("an integer")
        return value
    if hint is float:
        if type(value) not in (int, float):
            raise bad("a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if hint is Path:
        if not isinstance(value, str | Path):
            raise bad("a path string")
        return Path(value)
    if typing.get_origin(hint) is tuple or isinstance(hint, types.GenericAlias):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    raise bad(str(hint))  # pragma: no cover - every field type is handled above
