"""Where a zone's history starts: the age horizon or the record cap's floor, and it only rises."""

from __future__ import annotations

from meshchat.horizon import AGE_SLACK_MS, Horizon

DAY = 86_400_000
NOW = 1_800_000_000_000


def test_the_start_is_the_later_of_the_age_horizon_and_the_floor() -> None:
    horizon = Horizon(7 * DAY)
    assert horizon.start("z", NOW) == NOW - 7 * DAY
    assert horizon.span_ms("z", NOW) == 7 * DAY
    assert horizon.raise_floor("z", NOW - DAY)
    assert horizon.start("z", NOW) == NOW - DAY and horizon.span_ms("z", NOW) == DAY
    assert horizon.start("other", NOW) == NOW - 7 * DAY  # floors are per zone
    # Once the age horizon passes the floor, the age decides again.
    assert horizon.start("z", NOW + 7 * DAY) == NOW


def test_the_floor_only_rises() -> None:
    horizon = Horizon(7 * DAY, {"z": NOW - DAY})
    assert not horizon.raise_floor("z", NOW - 2 * DAY)
    assert horizon.floor("z") == NOW - DAY
    assert horizon.raise_floor("z", NOW - 1)
    assert horizon.floor("z") == NOW - 1 and horizon.floor("other") == 0


def test_a_reconcile_is_answered_from_a_little_before_the_age_but_not_below_the_floor() -> None:
    horizon = Horizon(7 * DAY)
    assert horizon.reconcile_start("z", NOW) == NOW - 7 * DAY - AGE_SLACK_MS
    horizon.raise_floor("z", NOW - DAY)
    assert horizon.reconcile_start("z", NOW) == NOW - DAY
    assert Horizon(10 * DAY).start("z", 5 * DAY) == 0
