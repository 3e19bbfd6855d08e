"""AREDN service lists (DESIGN §5.3): the parser, the self rule, and real nodes on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from meshchat import app
from meshchat.app import RunningNode
from meshchat.peers import Peer, PeerTable
from meshchat.sync import aredn
from meshchat.sync.discovery import PeerSink, sources
from meshchat.timing import Timing
from tests.mesh import QUICK, ZONE, count, eventually, for_config, start_nodes, stop_all
from tests.nodes import ApiClient, node_config
from tests.sync.fake_http import serve

POLL_S = 0.05
RULE = aredn.SelfRule.build(8080, ["mynode", "10.1.2.3"])


# -- parsing (no I/O) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("http://n1.local.mesh:8080/meshchat|tcp|MeshChat", ("http://n1.local.mesh:8080", ZONE)),
        ("http://n1:8080/meshchat|tcp|MeshChat [chat]", ("http://n1:8080", ZONE)),
        ("http://10.0.0.5/meshchat|tcp|MeshChat", ("http://10.0.0.5:80", ZONE)),
        ("http://n1:8080/meshchat/|tcp|MeshChat\t#10.0.0.5", ("http://n1:8080", ZONE)),
        ("http://N1:8080/meshchat|tcp|Club Net [chat]  #10.0.0.5", ("http://n1:8080", "Club Net")),
        ("http://[fd00::1]:8080/meshchat|tcp|MeshChat", ("http://[fd00::1]:8080", ZONE)),
        ("  http://n1:8080/meshchat|tcp|MeshChat  \r", ("http://n1:8080", ZONE)),
    ],
)
def test_meshchat_lines_parse(line: str, expected: tuple[str, str]) -> None:
    service = aredn.parse_line(line)
    assert service is not None
    assert (service.url, service.zone) == expected


@pytest.mark.parametrize(
    "line",
    [
        "",
        "# a comment",
        "http://n1:8080/meshchat|udp|MeshChat",
        "http://n1:8080/cgi-bin/status|tcp|Status page",
        "http://n1:8080/meshchat-old|tcp|MeshChat",
        "https://n1:8443/meshchat|tcp|MeshChat",
        "http://n1:99999/meshchat|tcp|MeshChat",
        "http://n1:port/meshchat|tcp|MeshChat",
        "http://n1:8080/meshchat|tcp|",
        "http://n1:8080/meshchat|tcp| [chat]",
        "http://n1:8080/meshchat",
        "pbx://n1:5060|udp|Phone",
        "garbage",
    ],
)
def test_other_lines_are_ignored(line: str) -> None:
    assert aredn.parse_line(line) is None


def test_a_line_olsrd_marks_as_our_own_is_not_a_peer() -> None:
    lines = [
        "http://mynode.local.mesh:8080/meshchat|tcp|MeshChat\t# my own",
        "http://other:8080/meshchat|tcp|MeshChat\t#10.9.9.9",
    ]
    assert aredn.peer_urls(lines, [ZONE], RULE) == {"http://other:8080"}


@pytest.mark.parametrize(
    ("url", "is_self"),
    [
        ("http://mynode:8080", True),
        ("http://MYNODE.local.mesh:8080", True),
        ("http://mynode.local.mesh.:8080", True),
        ("http://10.1.2.3:8080", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.0.1.1:8080", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080", True),
        ("http://mynode:8081", False),  # another meshchat on the same host
        ("http://127.0.0.1:8081", False),
        ("http://mynode-2:8080", False),
        ("http://10.1.2.4:8080", False),
        ("http://mynode", False),  # port 80
    ],
)
def test_the_self_rule_needs_our_port_and_one_of_our_names(url: str, is_self: bool) -> None:
    assert RULE.is_self(url) is is_self


def test_peer_urls_keeps_our_zones_only_and_never_us() -> None:
    lines = [
        "http://a:8080/meshchat|tcp|MeshChat",
        "http://b:8080/meshchat|tcp|MeshChat [chat]",
        "http://b:8080/meshchat|tcp|Other",
        "http://c:8080/meshchat|tcp|Other",
        "http://mynode:8080/meshchat|tcp|MeshChat",
        "http://a:8080/meshchat|tcp|MeshChat",  # listed twice by two originators
    ]
    assert aredn.peer_urls(lines, [ZONE], RULE) == {"http://a:8080", "http://b:8080"}
    assert aredn.peer_urls(lines, [ZONE, "Other"], RULE) == {
        "http://a:8080",
        "http://b:8080",
        "http://c:8080",
    }


def test_sysinfo_is_read_leniently() -> None:
    document = {
        "services": [
            {"name": "MeshChat", "protocol": "tcp", "link": "http://a:8080/meshchat"},
            {"name": "MeshChat [chat]", "link": "http://b:8080/meshchat"},  # no protocol
            {"name": "MeshChat", "protocol": "tcp"},  # no link
            {"protocol": "tcp", "link": "http://c:8080/meshchat"},  # no name
            {"name": 5, "protocol": "tcp", "link": "http://d:8080/meshchat"},
            "not an object",
        ],
        "node": "x",
    }
    lines = aredn.sysinfo_lines(document)
    assert aredn.peer_urls(lines, [ZONE], RULE) == {"http://a:8080", "http://b:8080"}
    for empty in ({}, {"services": None}, [], "x", None, {"services": {"a": 1}}):
        assert aredn.sysinfo_lines(empty) == []


def test_a_missing_list_reads_as_empty(tmp_path: Path) -> None:
    assert aredn.signature(tmp_path / "nope") is None
    assert aredn.read_lines(tmp_path / "nope") == []


def test_a_folder_is_every_file_but_dot_files(tmp_path: Path) -> None:
    (tmp_path / "10.0.0.1").write_text("http://a:8080/meshchat|tcp|MeshChat\n")
    (tmp_path / "10.0.0.2").write_text("http://b:8080/meshchat|tcp|MeshChat\n")
    (tmp_path / ".10.0.0.3.tmp").write_text("http://c:8080/meshchat|tcp|MeshChat\n")
    (tmp_path / "sub").mkdir()
    assert aredn.peer_urls(aredn.read_lines(tmp_path), [ZONE], RULE) == {
        "http://a:8080",
        "http://b:8080",
    }
    before = aredn.signature(tmp_path)
    (tmp_path / "10.0.0.2").write_text("http://b:8080/meshchat|tcp|MeshChat [chat]\n")
    assert aredn.signature(tmp_path) != before


# -- the sink ------------------------------------------------------------------------------


class FakeScheduler:
    """Records add/remove calls against a real PeerTable."""

    def __init__(self, peers: PeerTable) -> None:
        self.peers = peers
        self.calls: list[tuple[str, str]] = []

    def add_peer(self, url: str, source: str) -> Peer:
        self.calls.append(("add", url))
        return self.peers.add(url, source)[0]

    async def remove_peer(self, url: str) -> None:
        self.calls.append(("remove", url))
        self.peers.remove(url)


async def test_the_sink_never_removes_a_static_peer_and_merges_feeds() -> None:
    table = PeerTable()
    scheduler = FakeScheduler(table)
    table.add("http://s:8080", "static")
    sink = PeerSink(scheduler, table)
    await sink.update("aredn-services", "aredn", {"http://s:8080", "http://a:8080/"})
    await sink.update("mdns", "mdns", {"http://a:8080", "http://m:8080"})
    assert {p.url: p.source for p in table.all()} == {
        "http://s:8080": "static",
        "http://a:8080": "aredn",
        "http://m:8080": "mdns",
    }
    await sink.update("aredn-services", "aredn", set())
    assert [p.url for p in table.all()] == ["http://s:8080", "http://a:8080", "http://m:8080"]
    await sink.update("mdns", "mdns", set())
    assert [p.url for p in table.all()] == ["http://s:8080"]


def test_discovery_is_off_by_default(tmp_path: Path) -> None:
    cfg = node_config(tmp_path)
    assert (
        sources(
            cfg,
            "ab" * 32,
            8080,
            FakeScheduler(PeerTable()),
            PeerTable(),
            None,
            Timing(),  # type: ignore[arg-type]
        )
        == {}
    )


# -- real nodes on loopback ----------------------------------------------------------------


def service_line(node: RunningNode, zone: str = ZONE, tag: str = "") -> str:
    return f"{node.url}/meshchat|tcp|{zone}{tag}"


def other_lines() -> list[str]:
    """A node of another zone and a service that is not meshchat."""
    return [
        "http://127.0.0.1:9/meshchat|tcp|OtherZone [chat]\t#127.0.0.9",
        "http://127.0.0.1:9/cgi-bin/status|tcp|Node status",
    ]


async def aredn_peers(node: RunningNode) -> dict[str, Peer]:
    return {p.url: p for p in node.node.peers.all() if p.source == "aredn"}


async def wait_peers(node: RunningNode, expected: set[str], what: str) -> None:
    async def matches() -> bool:
        return set(await aredn_peers(node)) == expected

    await eventually(matches, 10.0, what)


async def post(node: RunningNode, text: str) -> None:
    api = ApiClient(node.url)
    try:
        await api.login("W1AW")
        assert (await api.post(text)).status == 201
    finally:
        await api.close()


@asynccontextmanager
async def two_peers(tmp_path: Path) -> AsyncIterator[list[RunningNode]]:
    """Two nodes of the zone, each holding one message of its own."""
    peers = await start_nodes(tmp_path / "peers", 2, QUICK)
    try:
        for i, peer in enumerate(peers):
            await post(peer, f"hello from peer {i}")
        yield peers
    finally:
        await stop_all(peers)


async def start_discovering(tmp_path: Path, **discovery: Any) -> RunningNode:
    overrides = {f"discovery__{k}": v for k, v in discovery.items()}
    cfg = node_config(tmp_path / "me", node__name="me", **overrides)
    return await app.start(cfg, for_config(QUICK, cfg))


async def test_a_services_file_finds_exactly_the_zone_peers_and_syncs(tmp_path: Path) -> None:
    async with two_peers(tmp_path) as (a, b):
        services = tmp_path / "services_olsr"
        services.write_text(
            "\n".join([service_line(a), service_line(b, tag=" [chat]"), *other_lines()]) + "\n"
        )
        me = await start_discovering(tmp_path, aredn_services=str(services), aredn_poll_s=POLL_S)
        try:
            await wait_peers(me, {a.url, b.url}, "both zone peers found")
            # The list also names this node itself (it is advertised too): still two.
            with services.open("a") as fh:
                fh.write(service_line(me) + "\n")

            async def synced() -> bool:
                return await count(me) == 2 + 2 + 1  # 2 messages, 2 peer node records, ours

            await eventually(synced, 15.0, "synced with both peers")
            peers = await aredn_peers(me)
            assert set(peers) == {a.url, b.url}
            assert all(p.kind == "native" for p in peers.values())
            assert len(me.node.peers.all()) == 2

            # A line goes: the peer goes; it comes back: so does the peer.
            services.write_text("\n".join([service_line(a), service_line(me)]) + "\n")
            await wait_peers(me, {a.url}, "peer b removed")
            services.write_text("\n".join([service_line(a), service_line(b)]) + "\n")
            await wait_peers(me, {a.url, b.url}, "peer b back")
            # The whole list goes away: no AREDN peers.
            services.unlink()
            await wait_peers(me, set(), "every AREDN peer removed")
        finally:
            await me.stop()


async def test_a_services_folder_works_the_same(tmp_path: Path) -> None:
    async with two_peers(tmp_path) as (a, b):
        folder = tmp_path / "services"
        folder.mkdir()
        (folder / "127.0.0.1").write_text(service_line(a) + "\n" + other_lines()[0] + "\n")
        me = await start_discovering(tmp_path, aredn_services=str(folder), aredn_poll_s=POLL_S)
        try:
            await wait_peers(me, {a.url}, "the first originator's peer")
            (folder / "127.0.0.2").write_text(service_line(b, tag=" [chat]") + "\n")
            await wait_peers(me, {a.url, b.url}, "the second originator's peer")

            async def synced() -> bool:
                return await count(me) == 5

            await eventually(synced, 15.0, "synced with both peers")
            (folder / "127.0.0.1").unlink()
            await wait_peers(me, {b.url}, "the first originator's peer removed")
        finally:
            await me.stop()


@asynccontextmanager
async def fake_aredn_node(
    services: list[dict[str, Any]], *, old_firmware: bool = False
) -> AsyncIterator[str]:
    """An AREDN node's web server listing ``services`` (a list the test may change)."""

    async def sysinfo(request: web.Request) -> web.Response:
        if request.query.get("services") != "1":
            return web.json_response({"node": "fake"})
        return web.json_response({"node": "fake", "services": services})

    path = "/cgi-bin/sysinfo.json" if old_firmware else "/a/sysinfo"
    async with serve({path: sysinfo}) as url:
        yield url


@pytest.mark.parametrize("old_firmware", [False, True])
async def test_an_aredn_nodes_sysinfo_works_the_same(tmp_path: Path, old_firmware: bool) -> None:
    async with two_peers(tmp_path) as (a, b):
        listed: list[dict[str, Any]] = [
            {"name": ZONE, "protocol": "tcp", "link": f"{a.url}/meshchat"},
            {"name": f"{ZONE} [chat]", "link": f"{b.url}/meshchat"},
            {"name": "OtherZone", "protocol": "tcp", "link": "http://127.0.0.1:9/meshchat"},
            {"name": "Status", "protocol": "tcp", "link": "http://127.0.0.1:9/cgi-bin/status"},
            {"protocol": "tcp"},
        ]
        async with fake_aredn_node(listed, old_firmware=old_firmware) as aredn_url:
            me = await start_discovering(tmp_path, aredn_node=aredn_url, aredn_node_poll_s=POLL_S)
            try:
                await wait_peers(me, {a.url, b.url}, "both zone peers found")

                async def synced() -> bool:
                    return await count(me) == 5

                await eventually(synced, 15.0, "synced with both peers")
                del listed[1]
                await wait_peers(me, {a.url}, "peer b removed")
                listed.append({"name": ZONE, "protocol": "tcp", "link": f"{me.url}/meshchat"})
                listed.append({"name": ZONE, "protocol": "tcp", "link": f"{b.url}/meshchat"})
                await wait_peers(me, {a.url, b.url}, "peer b back, never this node")
            finally:
                await me.stop()


async def test_an_unreadable_aredn_node_keeps_the_last_peers(tmp_path: Path) -> None:
    broken = False
    listed = [{"name": ZONE, "protocol": "tcp", "link": "http://127.0.0.1:9/meshchat"}]

    async def sysinfo(request: web.Request) -> web.Response:
        del request
        if broken:
            return web.Response(text="{not json", content_type="application/json")
        return web.json_response({"services": listed})

    async with serve({"/a/sysinfo": sysinfo}) as aredn_url:
        me = await start_discovering(tmp_path, aredn_node=aredn_url, aredn_node_poll_s=POLL_S)
        try:
            await wait_peers(me, {"http://127.0.0.1:9"}, "peer found")
            broken = True
            polls = 0

            async def polled_twice() -> bool:
                nonlocal polls
                polls += 1
                return polls > 10 and set(await aredn_peers(me)) == {"http://127.0.0.1:9"}

            await eventually(polled_twice, 5.0, "peer kept through failed polls")
        finally:
            await me.stop()


def test_sysinfo_json_round_trips_through_the_lines() -> None:
    raw = json.dumps({"services": [{"name": ZONE, "protocol": "tcp", "link": "http://x/meshchat"}]})
    assert aredn.peer_urls(aredn.sysinfo_lines(json.loads(raw)), [ZONE], RULE) == {"http://x:80"}
