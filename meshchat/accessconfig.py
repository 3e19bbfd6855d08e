"""The access-control part of the config: which operators' keys this node trusts.

``[zone] operators`` are the zone operators whose signed hides and bans this node applies
(docs/decisions.md "Access control"); ``node.operators`` may hide records on this node
only. Both are lists of 64-hex-digit Ed25519 keys, a passphrase login's ``key``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from meshchat.errors import ConfigError


@dataclass(frozen=True)
class ZoneConfig:
    """[zone]: the zone operators this node trusts to moderate."""

    operators: tuple[str, ...] = ()  # hex Ed25519 keys


def hex_keys(values: tuple[str, ...]) -> frozenset[bytes]:
    """Return validated hex keys (``zone.operators``, ``node.operators``) as bytes."""
    return frozenset(bytes.fromhex(v) for v in values)


def _is_key(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


def validate(
    zone: ZoneConfig, node_operators: tuple[str, ...], fail: Callable[[str, str], ConfigError]
) -> None:
    """Raise the ConfigError ``fail`` builds for a list that holds something not a key."""
    for key, keys in (("zone.operators", zone.operators), ("node.operators", node_operators)):
        for value in keys:
            if not _is_key(value):
                raise fail(key, f"must list keys of 64 hex digits, got {value!r}")
