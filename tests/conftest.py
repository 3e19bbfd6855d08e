"""Shared fixtures and loop guards (STYLE.md 12): a test fails when it leaks a thread or task."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from blockbuster import blockbuster_ctx
from nacl.signing import SigningKey

from meshchat.records import Record
from tests import factories

# aiosqlite connection threads and the loop's default executor finish shortly after
# close(); give them this long before calling a thread leaked.
THREAD_GRACE_S = 2.0
# Loop iterations granted to tasks that are already finishing (done callbacks, cancellation).
TASK_GRACE_ITERATIONS = 5


def _ignored_thread(thread: threading.Thread) -> bool:
    """Tell whether ``thread`` belongs to the test tooling rather than to the code under test."""
    # pytest-timeout's "thread" method arms a threading.Timer per test.
    return isinstance(thread, threading.Timer) and getattr(
        thread.function, "__module__", ""
    ).startswith("pytest_timeout")


def _leaked_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not _ignored_thread(t)
    ]


@pytest.fixture(autouse=True)
def _no_thread_leak() -> Iterator[None]:
    """Fail the test if a thread it started is still running once it is over."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
    leaked = _leaked_threads(before)
    while leaked and time.monotonic() < deadline:
        time.sleep(0.01)
        leaked = _leaked_threads(before)
    if leaked:
        pytest.fail(f"test leaked threads: {[t.name for t in leaked]}", pytrace=False)


@pytest.fixture(autouse=True)
async def _no_pending_tasks(_no_thread_leak: None) -> AsyncIterator[None]:
    """Fail the test if asyncio tasks it started are still pending at its end.

    It runs in the test's loop for function-scoped loops (the default); tests that ask for a
    wider ``loop_scope`` are not covered. Set up before the test's other fixtures, it is torn
    down after them, so tasks a fixture cancels in its teardown do not count. It depends on
    the thread guard so that the loop (and its default executor) is closed before threads
    are counted.
    """
    yield
    current = asyncio.current_task()
    pending: set[asyncio.Task[Any]] = set()
    for _ in range(TASK_GRACE_ITERATIONS):
        pending = {t for t in asyncio.all_tasks() if t is not current}
        if not pending:
            return
        await asyncio.sleep(0)
    described = sorted(repr(t.get_coro()) for t in pending)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    pytest.fail(f"test left {len(pending)} asyncio task(s) pending: {described}", pytrace=False)


@pytest.fixture
def node_key() -> SigningKey:
    """The test node key, from a fixed seed."""
    return factories.node_key()


@pytest.fixture
def user_key() -> SigningKey:
    """A second fixed key, for a user who is not the node."""
    return factories.user_key()


@pytest.fixture
def make_record() -> Callable[..., Record]:
    """The ``factories.make_record`` builder: ``make_record(kind, zone, ts, key=..., **body)``."""
    return factories.make_record


@pytest.fixture(autouse=True)
def _no_blocking_calls() -> Iterator[None]:
    """Fail a test in which meshchat's code makes a blocking call on the event loop.

    blockbuster (as python-zeroconf's suite uses it) raises BlockingError from file,
    socket, sleep and sqlite calls made on the loop's thread with a frame of the package on
    the stack; the tests' own set-up may block. Threads (aiosqlite's, executors) may block.
    """
    with blockbuster_ctx(["meshchat"]):
        yield
