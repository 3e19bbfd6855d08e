"""The link emulator itself: check delay, loss and rate before trusting any figure over it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.netns import harness
from tests.netns.linkemu import LinkParams

pytestmark = [pytest.mark.netns, pytest.mark.timeout(180)]


def test_emulated_link_has_the_configured_delay_loss_and_rate(
    make_line: Callable[..., harness.Line],
) -> None:
    topo = make_line(2, params=LinkParams(rate_bps=300_000, delay_s=0.2, loss=0.05))
    check = harness.measure_link(topo, pings=200, interval=0.05, nbytes=200_000)
    print(check)
    # 200 ms each way plus two 98-byte serializations at 300 kbit/s.
    assert abs(check.rtt_median_s - check.expected_rtt_s) < 0.03, check
    # 5 % per frame each way: 9.75 % of round trips lost; 200 draws stay well inside 2-20 %.
    assert 0.02 <= check.ping_lost / check.ping_sent <= 0.20, check
    assert 0.02 <= check.frame_loss <= 0.09, check
    # TCP payload of full 1514-byte frames at 300 kbit/s is 287 kbit/s.
    assert 0.85 <= check.goodput_bps / check.expected_goodput_bps <= 1.05, check


def test_line_is_multi_hop_and_isolated_from_the_root_namespace(
    make_line: Callable[..., harness.Line],
) -> None:
    topo = make_line(5, params=LinkParams(rate_bps=1_000_000, delay_s=0.02, loss=0.0))
    far = topo.addr(3, 1)  # node 4's address on the last link
    topo.agents[4].call("udp_echo", port=7007, seconds=30)
    ping = topo.agents[0].call("udp_ping", timeout=30, host=far, port=7007, count=10, interval=0.1)
    assert ping["received"] == 10
    # Four links of 20 ms each way: 160 ms round trip, routed through nodes 1-3.
    assert 0.16 <= ping["rtts"][5] < 0.2, ping
    assert all(link.stats()[0].delivered_frames >= 10 for link in topo.links)
    # A link that is cut passes nothing.
    topo.cut(1, interface_down=False)
    ping = topo.agents[0].call("udp_ping", timeout=30, host=far, port=7007, count=5, interval=0.05)
    assert ping["received"] == 0
    assert topo.links[1].stats()[0].cut_frames >= 5
    topo.heal(1)
