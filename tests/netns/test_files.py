"""Files over a line of shaped radio links: two hops by replication, chat before files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.netns import harness
from tests.netns.harness import eventually
from tests.netns.linkemu import LinkParams

pytestmark = [pytest.mark.netns, pytest.mark.timeout(600)]

RADIO = LinkParams(rate_bps=300_000, delay_s=0.2, loss=0.02)
FILE_AGENT = Path(harness.__file__).with_name("fileagent.py")


@pytest.fixture(autouse=True)
def _file_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every agent of these tests can upload and wait for files (the same protocol)."""
    monkeypatch.setattr(harness, "AGENT", FILE_AGENT)


def test_a_file_crosses_two_radio_hops_and_chat_goes_first(
    make_line: Callable[..., harness.Line], tmp_path: Path
) -> None:
    topo = make_line(3, params=RADIO)
    topo.start_all(sync={"sync_interval_s": 30, "request_timeout_s": 10})
    for i in range(3):
        eventually(lambda i=i: topo.live_with_neighbours(i), 60, what=f"n{i} live")
    eventually(lambda: all(topo.count(i) == 3 for i in range(3)), 90, what="node records")

    # Idle link: how long a message takes n0 -> n1.
    idle = []
    for k in range(3):
        text = f"idle {k}"
        topo.agents[1].send("wait_texts", texts=[text], seconds=20)
        posted = topo.post(0, text)[0]
        seen = topo.agents[1].receive(30)
        assert not seen["missing"]
        idle.append(seen["seen"][text] - posted["t0"])

    up = topo.agents[0].call("upload", timeout=120, size=600_000, seed=7)

    def fetched() -> int:
        current = topo.agents[1].call("fetch_status")["replication"]["fetching"]
        return int(current["have"]) if current else 0

    # Once the transfer n0 -> n1 is under way (about 25 s in all here), messages posted
    # between its chunks still cross at once.
    eventually(lambda: fetched() > 0, 30, interval=0.2, what="the first chunk on n1")
    before = fetched()
    busy = []
    for k in range(4):
        text = f"while replicating {k}"
        topo.agents[1].send("wait_texts", texts=[text], seconds=20)
        posted = topo.post(0, text)[0]
        seen = topo.agents[1].receive(30)
        assert not seen["missing"], f"{text!r} did not reach n1: {topo.tail(1)}"
        busy.append(seen["seen"][text] - posted["t0"])
        time.sleep(1.5)  # a chunk or so between messages
    after = fetched()
    print(f"chat n0 -> n1: idle {idle}, while replicating {busy}; fetched {before} -> {after}")
    assert after > before, "the file did not move while the messages were timed"
    # "Within a second or two of an idle link": at most one 32 KiB chunk (~0.9 s) ahead.
    assert max(busy) < max(idle) + 2.0, (idle, busy)

    # Two hops: n2 gets it from n1, verified.
    seen = topo.agents[2].call("wait_file", timeout=320, sha256=up["sha256"], seconds=300)
    assert seen["seen"] is not None, topo.tail(2)
    assert topo.agents[2].call("fetch_status")["replication"]["mismatches"] == 0
