"""One-way peering over a radio link: n1 can call n0, n0 cannot open a connection to n1.

n1's namespace drops every new inbound TCP connection (nftables, inside the namespace
this test made), as a LAN host behind an AREDN node in NAT mode would be. n1 peers n0;
n0 is told to peer n1 too, and fails. Records still cross both ways within seconds:
n1's pushes go out on its own connections, and n0's come back on the watch n1 holds.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.netns import harness
from tests.netns.harness import eventually
from tests.netns.linkemu import IP, LinkParams, run

pytestmark = [pytest.mark.netns, pytest.mark.timeout(300)]

RADIO = LinkParams(rate_bps=300_000, delay_s=0.2, loss=0.05)
# Anti-entropy far slower than the test: what arrives within seconds came by push or watch.
SLOW = {"sync_interval_s": 600, "backoff_max_s": 5, "request_timeout_s": 10}
NO_INBOUND = """
table inet oneway {
    chain input {
        type filter hook input priority 0; policy accept;
        ct state established,related accept
        iifname "mcl" tcp flags syn ct state new drop
    }
}
"""


def test_records_cross_a_link_that_only_one_side_can_open(
    make_line: Callable[..., harness.Line],
) -> None:
    topo = make_line(2, params=RADIO)
    rules = topo.base / "oneway.nft"
    rules.write_text(NO_INBOUND)
    run(IP, "netns", "exec", topo.ns(1), "nft", "-f", str(rules))
    topo.start_all(sync=SLOW)
    eventually(lambda: topo.live_with_neighbours(1), 60, what="n1 reaches n0")
    eventually(lambda: topo.count(0) == 2 and topo.count(1) == 2, 60, what="first round")
    assert not topo.live_with_neighbours(0), "n0 must not reach n1 in this test"

    def watched() -> bool:
        inbound = topo.status(0)["inbound"]
        return [e["watching"] for e in inbound if e["address"] == topo.addr(0, 1)] == [True]

    eventually(watched, 30, what="n1 holds a watch on n0, listed as inbound there")

    for k in range(3):
        for sender, receiver in ((0, 1), (1, 0)):
            text = f"one way {k} from n{sender}"
            topo.agents[receiver].send("wait_texts", texts=[text], seconds=20)
            posted = topo.post(sender, text)[0]
            seen = topo.agents[receiver].receive(30)
            assert not seen["missing"], f"{text!r} did not reach n{receiver}"
            took = seen["seen"][text] - posted["t0"]
            print(f"n{sender} -> n{receiver}: {took:.2f} s")
            assert took < 5, took  # far below the 600 s anti-entropy interval
