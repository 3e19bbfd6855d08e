"""Fixtures of the netns suite: skip without root/TUN/iproute2; every topology torn down."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.netns import harness
from tests.netns.linkemu import leftovers, root_addresses, root_links


@pytest.fixture(autouse=True)
def _netns_requirements() -> None:
    """Skip the whole suite, with the reason, where it cannot run."""
    why = harness.missing_requirements()
    if why:
        pytest.skip(f"netns suite: {why}")


@pytest.fixture(scope="session")
def _stale_swept() -> list[str]:
    """Remove what a killed earlier run left (empty namespaces of our pattern, over 10 min old)."""
    if harness.missing_requirements():
        return []
    return harness.sweep_stale()


@pytest.fixture
def make_line(tmp_path: Path, _stale_swept: list[str]) -> Iterator[Callable[..., harness.Line]]:
    """Build lines of namespaces; each is removed at the end of the test, pass or fail."""
    stack = contextlib.ExitStack()
    made: list[harness.Line] = []

    def make(n: int, **kw: Any) -> harness.Line:
        topo = stack.enter_context(harness.line(tmp_path / f"line{len(made)}", n, **kw))
        made.append(topo)
        # The root namespace never gets an address or route of the emulated network.
        assert root_addresses(harness.NET) == []
        assert root_links(topo.prefix) == [], "a TAP stayed in the root namespace"
        return topo

    with stack:
        yield make
    for topo in made:
        assert leftovers(topo.prefix) == [], f"{topo.prefix}: namespaces or links left behind"
