"""Meshchat over a line of shaped radio links: push end to end, a cut link, a partition."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.netns import harness
from tests.netns.harness import eventually
from tests.netns.linkemu import LinkParams

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

RADIO = LinkParams(rate_bps=300_000, delay_s=0.2, loss=0.05)
# Short rounds so a cut link is noticed and healed within a test; the back-off cap equals
# the interval, so a peer that comes back is retried within one interval.
FAST = {"sync_interval_s": 5, "backoff_max_s": 5, "request_timeout_s": 5}


def wait_all_live(topo: harness.Line, timeout: float) -> None:
    """Wait until every node has a live peer for each neighbour."""
    for i in range(topo.n):
        eventually(lambda i=i: topo.live_with_neighbours(i), timeout, what=f"n{i} live")


def assert_each_once(topo: harness.Line, texts: list[str], nodes: list[int]) -> None:
    """Every text is shown exactly once on each node: nothing lost, nothing duplicated."""
    for i in nodes:
        shown = Counter(topo.texts(i))
        wrong = {t: shown[t] for t in texts if shown[t] != 1}
        assert not wrong, f"n{i}: texts shown other than once: {wrong}"


def test_five_node_line_converges_and_a_message_crosses_it_by_push(
    make_line: Callable[..., harness.Line],
) -> None:
    topo = make_line(5, params=RADIO)
    # Rounds every 30 s: a message that crosses four hops in a few seconds came by push.
    topo.start_all(sync={"sync_interval_s": 30, "backoff_max_s": 5, "request_timeout_s": 10})
    wait_all_live(topo, 60)
    # Each node's own `node` record reaches every other node.
    eventually(lambda: all(topo.count(i) == 5 for i in range(5)), 90, what="5 node records")
    assert topo.converged()

    took = []
    for round_ in range(3):
        text = f"end to end {round_}"
        topo.agents[4].send("wait_texts", texts=[text], seconds=20)
        posted = topo.post(0, text)[0]
        seen = topo.agents[4].receive(30)
        assert not seen["missing"], f"{text!r} did not reach n4: {topo.tail(4)}"
        took.append(seen["seen"][text] - posted["t0"])
    print(f"n0 -> n4 over 4 radio hops: {[round(t, 2) for t in took]} s")
    assert max(took) < 8, took  # far below the 30 s anti-entropy interval

    # Both ends at once: every node ends with every message, once.
    texts = [f"from n0 #{k}" for k in range(3)] + [f"from n4 #{k}" for k in range(3)]
    topo.post(0, *texts[:3])
    topo.post(4, *texts[3:], callsign="W4AW")
    eventually(topo.converged, 30, what="convergence")
    assert_each_once(topo, texts, list(range(5)))


@pytest.mark.parametrize(
    ("backoff_max_s", "cut_s"),
    [
        pytest.param(FAST["backoff_max_s"], 6, id="cap-equals-interval"),
        # The default cap (300 s) is far past the interval: the wait is still capped at
        # one interval, and a peer that calls first triggers the other side at once.
        pytest.param(None, 40, id="default-cap-long-cut"),
    ],
)
def test_a_cut_link_recovers_within_one_interval_with_nothing_lost_or_doubled(
    make_line: Callable[..., harness.Line], backoff_max_s: float | None, cut_s: float
) -> None:
    topo = make_line(3, params=RADIO)
    sync = {k: v for k, v in FAST.items() if k != "backoff_max_s"}
    if backoff_max_s is not None:
        sync["backoff_max_s"] = backoff_max_s
    topo.start_all(sync=sync)
    wait_all_live(topo, 60)
    eventually(topo.converged, 60, what="initial convergence")

    topo.cut(0)  # n0 | n1 - n2, the interfaces down on both sides
    left = [f"left {k}" for k in range(5)]
    right = [f"right {k}" for k in range(5)]
    topo.post(0, *left)
    topo.post(2, *right, callsign="W2AW")
    eventually(lambda: set(right) <= set(topo.texts(1)), 20, what="right half push")

    def backed_off() -> bool:
        peers = {p["url"]: p for p in topo.peer_status(0)}
        return peers[topo.url(1, 0)]["failures"] >= 3

    eventually(backed_off, 30, what="n0 backing off from n1")
    assert not set(right) & set(topo.texts(0)), "the cut link passed messages"
    time.sleep(cut_s)  # let the back-off grow to its cap (or far past the interval)

    healed = time.monotonic()
    topo.heal(0)
    # Bounded a little past what the test allows, so a failure says "not within".
    eventually(
        lambda: topo.live_with_neighbours(0) and topo.live_with_neighbours(1),
        FAST["sync_interval_s"] + 6,
        interval=0.2,
        what="peers live again",
    )
    live_after = time.monotonic() - healed
    eventually(topo.converged, 30, interval=0.5, what="convergence after the cut")
    converged_after = time.monotonic() - healed
    print(
        f"after the link came back: live in {live_after:.1f} s, "
        f"converged in {converged_after:.1f} s (interval {FAST['sync_interval_s']} s)"
    )
    # The back-off is capped at one interval; a round over the radio link takes a few RTTs.
    assert live_after <= FAST["sync_interval_s"] + 3, live_after
    assert_each_once(topo, left + right, [0, 1, 2])


def test_a_partitioned_line_heals_to_identical_logs(
    make_line: Callable[..., harness.Line],
) -> None:
    topo = make_line(5, params=RADIO)
    topo.start_all(sync=FAST)
    wait_all_live(topo, 60)
    eventually(topo.converged, 60, what="initial convergence")

    # Silent cut between n1 and n2, as when a radio path fades: requests time out.
    topo.cut(1, interface_down=False)
    posts = {0: "W0AW", 1: "W1AW", 3: "W3AW", 4: "W4AW"}
    texts: dict[int, list[str]] = {}
    for round_ in range(3):
        for i, callsign in posts.items():
            text = f"n{i} during partition #{round_}"
            texts.setdefault(i, []).append(text)
            topo.post(i, text, callsign=callsign)
        time.sleep(1)
    west = texts[0] + texts[1]
    east = texts[3] + texts[4]
    eventually(
        lambda: topo.converged([0, 1]) and topo.converged([2, 3, 4]), 30, what="each half converged"
    )
    assert not set(east) & set(topo.texts(0))
    assert not set(west) & set(topo.texts(4))

    healed = time.monotonic()
    topo.heal(1)
    eventually(topo.converged, 60, interval=0.5, what="convergence after healing")
    print(f"partition healed: identical logs on 5 nodes after {time.monotonic() - healed:.1f} s")
    assert_each_once(topo, west + east, list(range(5)))
