"""Deterministic item-set generator of the Negentropy conformance vectors (vectors README)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from hashlib import sha256
from typing import Any

Item = tuple[int, bytes]


class GeneratorError(ValueError):
    """A generator recipe is malformed or uses an unknown kind."""


def _h(text: str) -> bytes:
    """Return SHA-256 of the UTF-8 text."""
    return sha256(text.encode()).digest()


def _ids(spec: Mapping[str, Any], n: int) -> list[bytes]:
    """Return the universe ids for ``generator.ids``."""
    kind, seed = spec.get("kind"), str(spec.get("seed", ""))
    if kind == "sha256_counter":
        return [_h(f"{seed}:{i}") for i in range(n)]
    if kind == "prefix31_lastbyte":
        head = _h(seed)[:31]
        return [head + bytes([i % 256]) for i in range(n)]
    if kind == "prefix30_u16be":
        head = _h(seed)[:30]
        return [head + (i % 65536).to_bytes(2, "big") for i in range(n)]
    raise GeneratorError(f"unknown ids kind {kind!r}")


def _timestamps(spec: Mapping[str, Any], n: int) -> list[int]:
    """Return the universe timestamps for ``generator.timestamps``."""
    kind = spec.get("kind")
    if kind == "step":
        start, per_ts, gap = int(spec["start"]), int(spec["per_ts"]), int(spec["gap"])
        return [start + (i // per_ts) * gap for i in range(n)]
    if kind == "explicit":
        values = [int(v) for v in spec["values"]]
        if len(values) != n:
            raise GeneratorError("explicit timestamps do not match n")
        return values
    if kind == "hash_uniform":
        start, span, seed = int(spec["start"]), int(spec["span"]), str(spec["seed"])
        return [start + int.from_bytes(_h(f"{seed}:ts:{i}")[:8], "big") % span for i in range(n)]
    raise GeneratorError(f"unknown timestamps kind {kind!r}")


def _chosen(diff: Mapping[str, Any], n: int) -> list[int]:
    """Return the ordered list L of universe indices picked for differences."""
    select = diff.get("select")
    if select == "none":
        return []
    total = int(diff["client_only"]) + int(diff["server_only"])
    if total > n:
        raise GeneratorError("more differences than items")
    if select == "recent":
        return list(range(n - 1, n - total - 1, -1))
    if select == "random":
        seed = str(diff["seed"])
        return sorted(range(n), key=lambda i: _h(f"{seed}:sel:{i}"))[:total]
    raise GeneratorError(f"unknown diff select {select!r}")


def _split_layout(diff: Mapping[str, Any], n: int) -> tuple[list[int], list[int]]:
    """Return (client indices, server indices) for layout ``split``."""
    a = int(diff.get("client_only", 0))
    b = int(diff.get("server_only", 0))
    client_only: set[int] = set()
    server_only: set[int] = set()
    for r, index in enumerate(_chosen(diff, n)):
        if (r % 2 == 0 and len(client_only) < a) or len(server_only) >= b:
            client_only.add(index)
        else:
            server_only.add(index)
    client = [i for i in range(n) if i not in server_only]
    server = [i for i in range(n) if i not in client_only]
    return client, server


def _layout(gen: Mapping[str, Any], n: int) -> tuple[Sequence[int], Sequence[int]]:
    """Return (client indices, server indices) for ``generator.layout``."""
    layout = gen.get("layout")
    if layout == "client_empty":
        return [], range(n)
    if layout == "server_empty":
        return range(n), []
    if layout == "explicit":
        return [int(i) for i in gen["client_indices"]], [int(i) for i in gen["server_indices"]]
    if layout == "split":
        return _split_layout(gen.get("diff", {"select": "none"}), n)
    raise GeneratorError(f"unknown layout {layout!r}")


def generate(gen: Mapping[str, Any]) -> tuple[list[Item], list[Item]]:
    """Return (client items, server items) in generation order; raise GeneratorError."""
    try:
        n = int(gen["n"])
        ids = _ids(gen["ids"], n)
        stamps = _timestamps(gen["timestamps"], n)
        client, server = _layout(gen, n)
        return [(stamps[i], ids[i]) for i in client], [(stamps[i], ids[i]) for i in server]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, GeneratorError):
            raise
        raise GeneratorError(f"malformed generator: {exc!r}") from exc


def set_digest(items: Sequence[Item]) -> str:
    """Return the README set digest: SHA-256 over sorted (8-byte BE ts || id), as hex."""
    h = sha256()
    for ts, item_id in sorted(items):
        h.update(ts.to_bytes(8, "big") + item_id)
    return h.hexdigest()
