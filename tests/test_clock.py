"""The hybrid logical clock (DESIGN §2.1): timestamps only ever go up."""

from __future__ import annotations

import time

from meshchat.clock import HybridClock, wall_ms


class FakeWall:
    """A wall clock the test sets by hand."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_follows_the_wall_clock_when_it_moves_forward() -> None:
    wall = FakeWall(1_000)
    clock = HybridClock(wall)
    assert clock.now() == 1_000
    wall.now = 5_000
    assert clock.now() == 5_000


def test_monotonic_when_the_wall_clock_goes_backwards() -> None:
    wall = FakeWall(10_000)
    clock = HybridClock(wall)
    first = clock.now()
    wall.now = 2_000  # an NTP step back of 8 s
    stamps = [clock.now() for _ in range(5)]
    assert stamps == [first + 1 + i for i in range(5)]
    wall.now = 20_000
    assert clock.now() == 20_000


def test_strictly_increasing_within_one_millisecond() -> None:
    clock = HybridClock(FakeWall(7))
    stamps = [clock.now() for _ in range(100)]
    assert stamps == sorted(set(stamps))


def test_observe_moves_past_a_stored_timestamp() -> None:
    clock = HybridClock(FakeWall(1_000))
    clock.observe(1_500)  # within the drag bound (a stamp far ahead: see below)
    assert clock.now() == 1_501
    clock.observe(10)  # an older timestamp never moves it back
    assert clock.now() == 1_502


def test_wall_ms_is_unix_milliseconds() -> None:
    before = time.time() * 1000
    now = wall_ms()
    assert isinstance(now, int)
    assert before - 1 <= now <= time.time() * 1000 + 1
    assert HybridClock().now() >= now


def test_a_stamp_far_ahead_drags_the_clock_only_a_little() -> None:
    wall = 1_700_000_000_000
    clock = HybridClock(lambda: wall)
    clock.observe(wall + 9 * 60_000 + 50_000)  # a pushed record stamped now + 9 min 50 s
    assert clock.now() <= wall + clock.max_drag_ms + 1
