"""A meshchat node and fake legacy nodes (Perl- and Lua-like) pull from each other and converge."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from meshchat import app
from meshchat.app import RunningNode
from meshchat.config import PeerEntry
from meshchat.store.models import MessageQuery
from tests.factories import ZONE
from tests.legacy.fakepeer import FakeLegacyNode
from tests.legacy.helpers import LEGACY_QUICK, cgi, legacy_peer, start_legacy_node
from tests.legacy.rawhttp import CgiReply, RawServer
from tests.mesh import eventually, for_config
from tests.nodes import ApiClient, node_config


async def texts(node: RunningNode) -> list[str]:
    """The texts of the zone's messages on ``node``, oldest first."""
    views = await node.node.store.messages(MessageQuery(ZONE, limit=500))
    return [v.text for v in views]


def events(node: RunningNode) -> dict[str, int]:
    return dict(node.node.legacy.stats.events)


def refused(node: RunningNode) -> dict[str, int]:
    return dict(node.node.legacy.stats.refused)


async def post(node: RunningNode, text: str, callsign: str = "W1AW") -> None:
    outbox = node.node.outbox
    await outbox.message(outbox.via_node(callsign), ZONE, "", text)


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[RunningNode]:
    node = await start_legacy_node(tmp_path, "gw")
    try:
        yield node
    finally:
        await node.stop()


@pytest.fixture
async def fakes() -> AsyncIterator[list[FakeLegacyNode]]:
    started: list[FakeLegacyNode] = []
    yield started
    for fake in started:
        await fake.stop()


async def fake_node(
    fakes: list[FakeLegacyNode], name: str, **kw: Any
) -> tuple[FakeLegacyNode, str]:
    fake = FakeLegacyNode(name, **kw)
    fakes.append(fake)
    return fake, await fake.start()


async def has_text(node: RunningNode, text: str) -> bool:
    return text in await texts(node)


@pytest.mark.parametrize("flavour", ["perl", "lua"])
async def test_a_node_and_a_legacy_node_converge(
    gateway: RunningNode, fakes: list[FakeLegacyNode], flavour: str
) -> None:
    fake, url = await fake_node(fakes, "leg-1", flavour=flavour)
    fake.peers = [gateway.url]
    fake.post('from "legacy"\nline two', "K1LEG")
    fake.login("K1LEG")
    legacy_peer(gateway, url)
    await post(gateway, "from <meshchat> & co")

    await eventually(lambda: has_text(gateway, 'from "legacy"\nline two'), 5, "the node pulled")
    await fake.poll_once()
    assert "from &lt;meshchat&gt; &amp; co" in fake.messages()
    ours = (await cgi(gateway, "messages_version")).body.decode()
    assert fake.version() == ours and len(fake.lines) == 2
    assert not fake.seen_chunked

    # Converged: the node asks for the version only; the legacy node too (even a Lua one,
    # whose version ends in a newline: meshchat's never does).
    pulls = events(gateway).get("pulls", 0)
    polls = events(gateway)["polls"]
    await eventually(lambda: _more(gateway, "polls", polls + 3), 5, "three more polls")
    assert events(gateway).get("pulls", 0) == pulls
    exchanges = fake.client_traffic.exchanges
    await fake.poll_once()
    assert fake.client_traffic.exchanges - exchanges == 3  # users, files, version: no raw

    # A new legacy message: the node pulls the whole file and knows its own line in it.
    fake.post("second from legacy", "K1LEG")
    await eventually(lambda: has_text(gateway, "second from legacy"), 5, "the second pull")
    assert events(gateway)["returned"] >= 1
    assert (await texts(gateway)).count("from <meshchat> & co") == 1  # never imported back

    # Users both ways; the legacy node's user is on its own node in meshchat's presence.
    present = {(e.callsign, e.node) for e in gateway.node.presence.zone(ZONE)}
    assert ("K1LEG", "leg-1") in present
    api = ApiClient(gateway.url)
    try:
        await api.login("W9GW")
        tab = await api.http.ws_connect(api.base + "/api/v1/ws")  # present: a tab open
        await fake.poll_once()
        await tab.close()
    finally:
        await api.close()
    assert "W9GW" in fake.user_calls()


async def _more(node: RunningNode, event: str, at_least: int) -> bool:
    return events(node).get(event, 0) >= at_least


async def test_forged_lines_are_refused_and_counted(
    gateway: RunningNode, fakes: list[FakeLegacyNode]
) -> None:
    fake, url = await fake_node(fakes, "evil")  # Perl: keeps whatever it is given
    now = int(time.time())
    fake.lines = [
        f"0000000a\t{now}\tok line\tK1ABC\tevil\tpi\t",
        f"0000000b\t{now}\tinjected\tK1ABC\tX\tevil\tpi\t",  # a TAB in the callsign
        f"0000000c\t{now}\thalf",  # the first half of a line a newline was injected into
        "\tevil\tpi\t",
        f"nothex!!\t{now}\tbad id\tK1ABC\tevil\tpi\t",
        f"0000000d\t{now + 10 * 365 * 86400}\tfrom the future\tK1ABC\tevil\tpi\t",
        f"0000000e\t{now}\tnot utf-8 \udcff\tK1ABC\tevil\tpi\t",  # a byte 0xff
    ]
    legacy_peer(gateway, url)
    await eventually(lambda: has_text(gateway, "ok line"), 5, "the good line imported")
    got = refused(gateway)
    assert got == {"fields": 3, "id": 1, "future": 1, "utf8": 1}, got
    assert await texts(gateway) == ["ok line"]
    # The same answer again costs no second look: counted once.
    fake.post("another", "K1ABC")
    await eventually(lambda: has_text(gateway, "another"), 5, "the next pull")
    assert refused(gateway) == got


async def test_a_bad_md5_or_an_oversized_body_imports_nothing(
    tmp_path: Path, fakes: list[FakeLegacyNode]
) -> None:
    gateway = await start_legacy_node(tmp_path, "gw", legacy__max_body_bytes=65536)
    try:
        broken, broken_url = await fake_node(fakes, "broken", broken_md5=True)
        broken.post("never seen")
        huge, huge_url = await fake_node(fakes, "huge")
        for i in range(800):
            huge.post("x" * 100 + str(i))
        legacy_peer(gateway, broken_url)
        legacy_peer(gateway, huge_url)
        await eventually(lambda: _more(gateway, "bad_md5", 2), 5, "bad MD5 seen")
        await eventually(lambda: _more(gateway, "too_large", 1), 5, "oversized body seen")
        assert await texts(gateway) == []
        peer = gateway.node.peers.get(huge_url)
        assert peer is not None and peer.failures >= 1 and "over 65536" in peer.last_error
        status = (await _status(gateway))["legacy"]
        assert status["events"]["bad_md5"] >= 2 and status["events"]["too_large"] >= 1
    finally:
        await gateway.stop()


async def test_colliding_ids_are_both_kept_and_served_once_each(
    gateway: RunningNode, fakes: list[FakeLegacyNode]
) -> None:
    fake, url = await fake_node(fakes, "lua-1", flavour="lua", collide=True)
    fake.post("first of two", "K1ABC", epoch=int(time.time()) - 5)
    fake.post("second of two", "K1ABC", epoch=int(time.time()) - 5)
    assert len({line.split("\t")[0] for line in fake.lines}) == 1
    legacy_peer(gateway, url)
    await eventually(lambda: has_text(gateway, "second of two"), 5, "both imported")
    assert sorted(await texts(gateway)) == ["first of two", "second of two"]
    raw = (await cgi(gateway, "messages_raw")).body.decode().split("\n")[:-1]
    assert sorted(raw) == sorted(fake.lines)


async def test_a_404_leaves_the_peer_alone_for_a_while(gateway: RunningNode) -> None:
    async def not_found(method: str, params: dict[str, str]) -> CgiReply:
        del method, params
        return CgiReply(["Content-type: text/html"], b"<h1>404 Not Found</h1>", "404 Not Found")

    server = RawServer(not_found)
    url = await server.start()
    try:
        legacy_peer(gateway, url)
        await eventually(lambda: _more(gateway, "not_meshchat", 1), 5, "the 404 seen")
        asked = len(server.targets)
        started = time.monotonic()
        await eventually(lambda: _more(gateway, "not_meshchat", 2), 5, "asked again")
        assert time.monotonic() - started >= 0.5  # not every 0.2 s poll: after the back-off
        assert len(server.targets) == asked + 1
    finally:
        await server.stop()


async def test_a_static_legacy_peer_gets_no_native_probe_or_link(
    tmp_path: Path, fakes: list[FakeLegacyNode]
) -> None:
    fake, url = await fake_node(fakes, "leg-static", flavour="lua")
    fake.post("hello over legacy")
    fake.files = [("map.png", 1234, 1_795_314_416)]
    base = node_config(tmp_path / "gw", node__name="gw")
    cfg = dataclasses.replace(base, peers=(PeerEntry(url, "legacy"),))
    node = await app.start(cfg, for_config(LEGACY_QUICK, cfg))
    try:
        await eventually(lambda: has_text(node, "hello over legacy"), 5, "pulled")
        assert url not in node.node.scheduler.links
        assert not [t for t in fake.targets if t.startswith("/sync/")]
        [offered] = node.node.legacy.poller.files()
        assert (offered.name, offered.size, offered.platform) == ("map.png", 1234, "node")
        [peer] = (await _status(node))["peers"]
        assert (peer["kind"], peer["source"], peer["name"]) == ("legacy", "static", "leg-static")
    finally:
        await node.stop()


async def test_a_probed_legacy_peer_is_polled_on_the_legacy_schedule_only(
    gateway: RunningNode, fakes: list[FakeLegacyNode]
) -> None:
    fake, url = await fake_node(fakes, "leg-found")
    fake.post("found by probing")
    gateway.node.scheduler.add_peer(url, "aredn")  # as discovery adds it: kind unknown
    await eventually(lambda: has_text(gateway, "found by probing"), 5, "pulled")
    polls = events(gateway)["polls"]
    await eventually(lambda: _more(gateway, "polls", polls + 5), 5, "more polls")
    native = [t for t in fake.targets if t.startswith("/sync/")]
    assert native == ["/sync/v1/info"]  # the one probe, never a round or a push
    link = gateway.node.scheduler.links[url]
    assert link.idle and not gateway.node.peers.get(url).live  # type: ignore[union-attr]


async def _status(node: RunningNode) -> dict[str, Any]:
    api = ApiClient(node.url)
    try:
        reply = await api.request("GET", "/api/v1/status")
        assert reply.status == 200
        result: dict[str, Any] = reply.body
        return result
    finally:
        await api.close()
