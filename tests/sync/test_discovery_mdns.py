"""mDNS discovery without a network: TXT handling, the peer table, grace (DESIGN §5.3).

No Zeroconf is ever started here (it would send multicast); real announcements between
hosts are the netns suite's. These tests drive ``MdnsSource`` as zeroconf's browser would,
with fake resolved services.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from zeroconf import ServiceStateChange
from zeroconf.asyncio import AsyncServiceInfo

from meshchat.peers import PeerTable
from meshchat.sync import mdns
from meshchat.sync.discovery import announced_addresses, sources
from meshchat.sync.mdns import MdnsSource, MdnsTable, build_txt, parse_txt, peer_url
from meshchat.timing import Timing
from tests.mesh import eventually
from tests.nodes import node_config

ZONE = "MeshChat"
OURS = "aa" * 32
THEIRS = "bb" * 32
GRACE_S = 60.0


@dataclass
class FakeInfo:
    """What zeroconf's ServiceInfo offers once resolved."""

    properties: dict[bytes, bytes | None]
    addresses: list[str] = field(default_factory=lambda: ["192.0.2.7"])
    port: int | None = 8080

    def parsed_addresses(self) -> list[str]:
        return self.addresses


def txt(zone: str = ZONE, node_id: str = THEIRS) -> dict[bytes, bytes | None]:
    return {k.encode(): v.encode() for k, v in build_txt(zone, node_id).items()}


def info(zone: str = ZONE, node_id: str = THEIRS, **kw: object) -> FakeInfo:
    return FakeInfo(txt(zone, node_id), **kw)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- TXT -----------------------------------------------------------------------------------


def test_txt_round_trips() -> None:
    assert build_txt(ZONE, OURS) == {"zone": ZONE, "node_id": OURS, "path": "/meshchat"}
    parsed = parse_txt(txt(ZONE, THEIRS.upper()))
    assert parsed is not None
    assert (parsed.zone, parsed.node_id, parsed.path) == (ZONE, THEIRS, "/meshchat")


@pytest.mark.parametrize(
    "properties",
    [
        {},
        {b"zone": b"MeshChat", b"node_id": THEIRS.encode()},  # no path
        {b"zone": None, b"node_id": THEIRS.encode(), b"path": b"/meshchat"},
        {b"zone": b"", b"node_id": THEIRS.encode(), b"path": b"/meshchat"},
        {b"zone": b"Mesh\nChat", b"node_id": THEIRS.encode(), b"path": b"/meshchat"},
        {b"zone": b"\xff\xfe", b"node_id": THEIRS.encode(), b"path": b"/meshchat"},
        {b"zone": b"MeshChat", b"node_id": b"not hex", b"path": b"/meshchat"},
        {b"zone": b"MeshChat", b"node_id": b"ab" * 101, b"path": b"/meshchat"},
    ],
)
def test_bad_txt_is_refused(properties: dict[bytes, bytes | None]) -> None:
    assert parse_txt(properties) is None


@pytest.mark.parametrize(
    ("addresses", "port", "url"),
    [
        (["192.0.2.7"], 8080, "http://192.0.2.7:8080"),
        (["2001:db8::7", "192.0.2.7"], 8080, "http://192.0.2.7:8080"),
        (["2001:db8::7"], 80, "http://[2001:db8::7]:80"),
        (["127.0.0.1", "192.0.2.7"], 8080, "http://192.0.2.7:8080"),
        (["fe80::1%eth0", "169.254.1.1"], 8080, None),
        (["127.0.0.1"], 8080, "http://127.0.0.1:8080"),
        (["not an address"], 8080, None),
        ([], 8080, None),
        (["192.0.2.7"], None, None),
        (["192.0.2.7"], 0, None),
    ],
)
def test_peer_url_prefers_routable_ipv4(
    addresses: list[str], port: int | None, url: str | None
) -> None:
    assert peer_url(addresses, port) == url


# -- the table -----------------------------------------------------------------------------


def test_only_other_nodes_of_our_zones_are_peers() -> None:
    table = MdnsTable([ZONE, "Club"], OURS, GRACE_S)
    table.seen("a", info())
    table.seen("b", info("Club", "cc" * 32, addresses=["192.0.2.8"]))
    table.seen("mine", info(node_id=OURS, addresses=["192.0.2.1"]))
    table.seen("other zone", info("Elsewhere", "dd" * 32, addresses=["192.0.2.9"]))
    table.seen("no address", info(node_id="ee" * 32, addresses=[]))
    assert table.urls(0.0) == {"http://192.0.2.7:8080", "http://192.0.2.8:8080"}


def test_a_removed_announcement_stays_for_the_grace_period() -> None:
    table = MdnsTable([ZONE], OURS, GRACE_S)
    table.seen("a", info())
    assert table.next_expiry(0.0) is None
    table.gone("a", 100.0)
    table.gone("a", 130.0)  # a second goodbye does not extend the grace
    assert table.urls(159.0) == {"http://192.0.2.7:8080"}
    assert table.next_expiry(159.0) == pytest.approx(1.0)
    assert table.urls(160.0) == set()
    assert table.next_expiry(160.0) is None


def test_an_announcement_back_within_the_grace_keeps_the_peer() -> None:
    table = MdnsTable([ZONE], OURS, GRACE_S)
    table.seen("a", info())
    table.gone("a", 100.0)
    table.seen("a", info())
    assert table.urls(1000.0) == {"http://192.0.2.7:8080"}


def test_an_update_to_a_zone_we_do_not_serve_drops_the_peer_at_once() -> None:
    table = MdnsTable([ZONE], OURS, GRACE_S)
    table.seen("a", info())
    table.seen("a", info("Elsewhere"))
    assert table.urls(0.0) == set()


def test_one_node_announcing_two_zones_is_one_peer() -> None:
    table = MdnsTable([ZONE, "Club"], OURS, GRACE_S)
    table.seen("n 0", info(ZONE))
    table.seen("n 1", info("Club"))
    assert table.urls(0.0) == {"http://192.0.2.7:8080"}
    table.gone("n 0", 0.0)
    assert table.urls(GRACE_S) == {"http://192.0.2.7:8080"}


def test_a_gone_unknown_name_is_ignored() -> None:
    table = MdnsTable([ZONE], OURS, GRACE_S)
    table.gone("never seen", 0.0)
    assert table.urls(0.0) == set()


# -- the source, driven like zeroconf's browser --------------------------------------------


class FakeSink:
    def __init__(self) -> None:
        self.updates: list[set[str]] = []
        self.changed = asyncio.Event()

    async def update(self, feed: str, source: str, urls: object) -> None:
        assert (feed, source) == ("mdns", "mdns")
        self.updates.append(set(urls))  # type: ignore[call-overload]
        self.changed.set()

    async def next(self) -> set[str]:
        await asyncio.wait_for(self.changed.wait(), 5.0)
        self.changed.clear()
        return self.updates[-1]


def make_source(sink: FakeSink, resolved: dict[str, FakeInfo | None], grace_s: float) -> MdnsSource:
    source = MdnsSource([ZONE], "me", OURS, 8080, ["192.0.2.1"], sink, grace_s)

    async def resolve(service_type: str, name: str) -> FakeInfo | None:
        assert service_type == mdns.SERVICE_TYPE
        await asyncio.sleep(0)
        return resolved.get(name)

    source.resolver = resolve
    return source


def change(source: MdnsSource, name: str, state: ServiceStateChange) -> None:
    source.on_change(zeroconf=None, service_type=mdns.SERVICE_TYPE, name=name, state_change=state)


async def test_the_source_adds_and_removes_peers_after_the_grace() -> None:
    sink = FakeSink()
    name = f"them 1.{mdns.SERVICE_TYPE}"
    resolved: dict[str, FakeInfo | None] = {
        name: info(),
        f"me.{mdns.SERVICE_TYPE}": info(node_id=OURS),
        f"unresolvable.{mdns.SERVICE_TYPE}": None,
    }
    source = make_source(sink, resolved, grace_s=0.2)
    follow = asyncio.create_task(source.follow())
    try:
        assert await sink.next() == set()
        change(source, f"me.{mdns.SERVICE_TYPE}", ServiceStateChange.Added)
        change(source, f"unresolvable.{mdns.SERVICE_TYPE}", ServiceStateChange.Added)
        change(source, name, ServiceStateChange.Added)
        while await sink.next() != {"http://192.0.2.7:8080"}:
            pass
        resolved[name] = info(addresses=["192.0.2.70"])
        change(source, name, ServiceStateChange.Updated)
        while await sink.next() != {"http://192.0.2.70:8080"}:
            pass
        loop = asyncio.get_running_loop()
        gone_at = loop.time()
        change(source, name, ServiceStateChange.Removed)
        assert await sink.next() == {"http://192.0.2.70:8080"}  # still there: grace
        assert await sink.next() == set()
        assert loop.time() - gone_at >= 0.2
    finally:
        follow.cancel()
        await asyncio.gather(follow, return_exceptions=True)
        await source.close()


async def test_a_resolver_that_fails_does_not_end_discovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = FakeSink()
    source = make_source(sink, {}, grace_s=0.1)

    async def broken(service_type: str, name: str) -> FakeInfo | None:
        raise RuntimeError("malformed packet")

    source.resolver = broken
    change(source, f"x.{mdns.SERVICE_TYPE}", ServiceStateChange.Added)

    async def logged() -> bool:
        return "resolving the mDNS service" in caplog.text

    await eventually(logged, within=5.0, what="the resolver failure logged")
    await source.close()
    assert source.table.urls(0.0) == set()


async def test_close_cancels_resolutions_in_flight() -> None:
    sink = FakeSink()
    source = make_source(sink, {}, grace_s=0.1)
    started = asyncio.Event()

    async def hangs(service_type: str, name: str) -> FakeInfo | None:
        started.set()
        await asyncio.sleep(3600)
        return None

    source.resolver = hangs
    change(source, f"x.{mdns.SERVICE_TYPE}", ServiceStateChange.Added)
    await started.wait()
    await source.close()


# -- what would be announced (built, never sent) -------------------------------------------


def test_one_announcement_per_zone_with_txt_and_port() -> None:
    source = MdnsSource(
        [ZONE, "Club Net", "z" * 64], "my node!", OURS, 8080, ["192.0.2.1"], FakeSink(), 60
    )
    infos = source.announcements()
    assert len(infos) == 3
    names = {i.name for i in infos}
    assert len(names) == 3
    for index, (zone, announced) in enumerate(zip(source.zones, infos, strict=True)):
        assert announced.type == mdns.SERVICE_TYPE
        assert announced.name == mdns.instance_name("my node!", OURS, index)
        assert len(announced.name.removesuffix("." + mdns.SERVICE_TYPE).encode()) <= 63
        assert announced.port == 8080
        assert announced.parsed_addresses() == ["192.0.2.1"]
        # As a browser gets it: from the wire form of the TXT record.
        received = AsyncServiceInfo(mdns.SERVICE_TYPE, announced.name, properties=announced.text)
        parsed = parse_txt(received.properties)
        assert parsed is not None
        assert (parsed.zone, parsed.node_id, parsed.path) == (zone, OURS, "/meshchat")


def test_a_zone_too_long_for_a_txt_string_is_not_announced() -> None:
    long_zone = "é" * 64  # 128 bytes: fine; the limit is per TXT string
    source = MdnsSource([long_zone], "n", OURS, 8080, ["192.0.2.1"], FakeSink(), 60)
    assert len(source.announcements()) == 1
    source = MdnsSource(["😀" * 64], "n", OURS, 8080, ["192.0.2.1"], FakeSink(), 60)
    assert source.announcements() == []


def test_announced_addresses_follow_the_listen_address(tmp_path: Path) -> None:
    cfg = node_config(tmp_path, node__listen="192.0.2.5:8080")
    assert announced_addresses(cfg) == ["192.0.2.5"]
    wildcard = node_config(tmp_path, node__listen="0.0.0.0:8080")
    found = announced_addresses(wildcard)
    assert found
    assert all(not a.startswith("127.") for a in found) or found == ["127.0.0.1"]


def test_mdns_is_a_source_only_when_configured(tmp_path: Path) -> None:
    table = PeerTable()

    class NoScheduler:
        def add_peer(self, url: str, source: str) -> object:
            raise AssertionError("never called")

        async def remove_peer(self, url: str) -> None:
            raise AssertionError("never called")

    assert sources(node_config(tmp_path), OURS, 8080, NoScheduler(), table, None, Timing()) == {}  # type: ignore[arg-type]
    loops = sources(
        node_config(tmp_path, discovery__mdns=True),
        OURS,
        8080,
        NoScheduler(),  # type: ignore[arg-type]
        table,
        None,  # type: ignore[arg-type]
        Timing(),
    )
    assert list(loops) == ["discovery mdns"]
    for loop in loops.values():
        loop.close()  # never run: it would start a real Zeroconf
