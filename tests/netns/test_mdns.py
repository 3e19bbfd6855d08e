"""mDNS discovery between namespaces with no static peers, and no multicast leaving them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.netns import harness
from tests.netns.harness import eventually
from tests.netns.linkemu import LinkParams

pytestmark = [pytest.mark.netns, pytest.mark.timeout(240)]

RADIO = LinkParams(rate_bps=300_000, delay_s=0.2, loss=0.05)
FAST = {"sync_interval_s": 5, "backoff_max_s": 5, "request_timeout_s": 5}


def has_mdns_flag() -> bool:
    """Tell whether ``meshchat serve`` knows ``--mdns`` (the discovery work has landed)."""
    done = subprocess.run(
        [sys.executable, "-m", "meshchat", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "--mdns" in done.stdout


def nft_packets(table: str) -> int:
    """Return the packets counted by every rule of the nft ``table``."""
    done = subprocess.run(
        ["nft", "-j", "list", "table", "inet", table],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    total = 0
    for item in json.loads(done.stdout)["nftables"]:
        for expr in item.get("rule", {}).get("expr", []):
            if "counter" in expr:
                total += expr["counter"]["packets"]
    return total


@pytest.fixture
def root_mdns_counter() -> Iterator[Callable[[], int]]:
    """Count mDNS and emulated-network packets seen by the root namespace's netfilter.

    Our nodes live in other namespaces, so their packets never pass the root namespace's
    hooks unless they leak out: any count here is a leak (or another mDNS speaker on this
    host, which would show in the count before the nodes start).
    """
    if subprocess.run(["nft", "--version"], capture_output=True, check=False).returncode:
        pytest.skip("needs nft to watch the root namespace")
    table = f"mcguard{os.getpid()}"
    chains = "\n".join(
        f"  chain {name} {{\n    type filter hook {hook} priority 0; policy accept;\n"
        f"    udp dport 5353 counter\n    udp sport 5353 counter\n"
        f"    ip saddr {harness.NET}0.0/16 counter\n    ip daddr {harness.NET}0.0/16 counter\n  }}"
        for name, hook in (("guard_out", "output"), ("guard_in", "input"), ("guard_fwd", "forward"))
    )
    script = f"table inet {table} {{\n{chains}\n}}\n"
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True, timeout=20)
    try:
        yield lambda: nft_packets(table)
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], check=False, timeout=20)


def test_nodes_find_their_neighbours_by_mdns_alone_and_no_multicast_leaves(
    make_line: Callable[..., harness.Line], root_mdns_counter: Callable[[], int]
) -> None:
    if not has_mdns_flag():
        pytest.skip("discovery has not landed: meshchat serve has no --mdns")
    assert root_mdns_counter() == 0, "the root namespace already sees mDNS: cannot tell leaks"
    # A LAN of two segments: n0 - n1 - n2. Multicast stays on its segment (no mDNS
    # reflector), so n0 and n2 each find n1 and only n1; n1 finds both.
    topo = make_line(3, params=RADIO, ipv6=True)
    topo.start_all(sync=FAST, static_peers=False, args=("--mdns",))
    keys = [topo.status(i)["node"]["key"] for i in range(3)]

    def found(i: int) -> bool:
        peers = topo.peer_status(i)
        live = {p["node_id"] for p in peers if p["kind"] == "native" and p["failures"] == 0}
        return live >= {keys[j] for j in topo.neighbours(i)}

    for i in range(3):
        eventually(lambda i=i: found(i), 90, what=f"n{i} found its neighbours over mDNS")
    for i in range(3):
        peers = topo.peer_status(i)
        assert all("mdns" in p["source"] for p in peers), peers
        # Multicast stays on its segment: each node finds its neighbours and no one else.
        assert {p["node_id"] for p in peers} == {keys[j] for j in topo.neighbours(i)}, peers

    topo.agents[2].send("wait_texts", texts=["found by mDNS"], seconds=30)
    topo.post(0, "found by mDNS")
    assert not topo.agents[2].receive(40)["missing"]

    # mDNS crossed every emulated link, inside the namespaces...
    for link in topo.links:
        a, b = link.stats()
        assert a.mdns_frames > 0 and b.mdns_frames > 0, (a, b)
    for node in topo.nodes:
        node.stop()
    # ...and never reached the root namespace.
    assert root_mdns_counter() == 0
