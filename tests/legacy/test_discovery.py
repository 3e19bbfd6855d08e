"""Legacy nodes found in AREDN service lists (current and older firmware) reach the poller."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from meshchat.app import RunningNode
from meshchat.sync import aredn
from tests.legacy.fakepeer import FakeLegacyNode
from tests.legacy.helpers import start_legacy_node
from tests.legacy.test_poller import has_text
from tests.mesh import eventually
from tests.sync.fake_http import serve

POLL_S = 0.05
RULE = aredn.SelfRule.build(8080, ["mynode"])


def test_arednlink_files_hold_title_lines_and_port_zero_entries() -> None:
    lines = [
        "##10.1.2.3##",
        "http://leg-a.local.mesh:8080/meshchat|tcp|MeshChat [chat]",
        "http://leg-b.local.mesh:0/meshchat|tcp|MeshChat",  # no link: port 0
        "##10.1.2.4##",
        "http://leg-c.local.mesh:8080/meshchat|tcp|MeshChat",
        "http://leg-d.local.mesh:8080/meshchat|tcp|Other",
    ]
    assert aredn.peer_urls(lines, ["MeshChat"], RULE) == {
        "http://leg-a.local.mesh:8080",
        "http://leg-c.local.mesh:8080",
    }


def test_sysinfo_2_0_lists_services_with_ip_and_empty_links() -> None:
    document = {
        "api_version": "2.0",
        "services": [
            {
                "name": "MeshChat [chat]",
                "ip": "10.1.2.3",
                "link": "http://leg-a:8080/meshchat",
                "protocol": "tcp",
            },
            {"name": "MeshChat", "ip": "10.1.2.4", "link": "", "protocol": "tcp"},
        ],
    }
    lines = aredn.sysinfo_lines(document)
    assert aredn.peer_urls(lines, ["MeshChat"], RULE) == {"http://leg-a:8080"}


@pytest.fixture
async def legacy_nodes() -> AsyncIterator[list[tuple[FakeLegacyNode, str]]]:
    found = []
    for name, flavour in (("leg-perl", "perl"), ("leg-lua", "lua")):
        fake = FakeLegacyNode(name, flavour)
        fake.post(f"hello from {name}")
        found.append((fake, await fake.start()))
    yield found
    for fake, _ in found:
        await fake.stop()


def service(url: str, tag: str = "") -> str:
    return f"{url}/meshchat|tcp|MeshChat{tag}"


async def both_pulled(node: RunningNode) -> bool:
    return await has_text(node, "hello from leg-perl") and await has_text(
        node, "hello from leg-lua"
    )


async def test_a_services_folder_of_current_firmware(
    tmp_path: Path, legacy_nodes: list[tuple[FakeLegacyNode, str]]
) -> None:
    (perl, url_p), (lua, url_l) = legacy_nodes
    folder = tmp_path / "services"
    folder.mkdir()
    (folder / "10.0.0.1").write_text(
        f"##10.0.0.1##\n{service(url_p, ' [chat]')}\n##10.0.0.9##\n{service(url_l)}\n"
    )
    node = await start_legacy_node(
        tmp_path, "gw", discovery__aredn_services=str(folder), discovery__aredn_poll_s=POLL_S
    )
    try:
        await eventually(lambda: both_pulled(node), 10, "both legacy nodes pulled")
        kinds = {p.url: (p.kind, p.source) for p in node.node.peers.all()}
        assert kinds == {url_p: ("legacy", "aredn"), url_l: ("legacy", "aredn")}
        (folder / "10.0.0.1").write_text(f"{service(url_l)}\n")  # leg-perl's route went away

        async def gone() -> bool:
            return {p.url for p in node.node.legacy.poller.legacy_peers()} == {url_l}

        await eventually(gone, 10, "the vanished legacy node no longer polled")
    finally:
        await node.stop()
    del perl, lua


async def test_services_olsr_of_older_firmware(
    tmp_path: Path, legacy_nodes: list[tuple[FakeLegacyNode, str]]
) -> None:
    (_, url_p), (_, url_l) = legacy_nodes
    services = tmp_path / "services_olsr"
    services.write_text(f"{service(url_p)}\t#10.0.0.1\n{service(url_l, ' [chat]')}\t#10.0.0.2\n")
    node = await start_legacy_node(
        tmp_path, "gw", discovery__aredn_services=str(services), discovery__aredn_poll_s=POLL_S
    )
    try:
        await eventually(lambda: both_pulled(node), 10, "both legacy nodes pulled")
    finally:
        await node.stop()


async def test_a_lan_host_reads_an_aredn_nodes_sysinfo(
    tmp_path: Path, legacy_nodes: list[tuple[FakeLegacyNode, str]]
) -> None:
    (_, url_p), (_, url_l) = legacy_nodes
    document: dict[str, Any] = {
        "api_version": "2.0",
        "services": [
            {"name": "MeshChat", "ip": "127.0.0.1", "link": f"{url_p}/meshchat", "protocol": "tcp"},
            {
                "name": "MeshChat [chat]",
                "ip": "127.0.0.1",
                "link": f"{url_l}/meshchat",
                "protocol": "tcp",
            },
            {"name": "Phone", "ip": "127.0.0.1", "link": "", "protocol": "udp"},
        ],
    }

    async def sysinfo(request: web.Request) -> web.Response:
        del request
        return web.Response(text=json.dumps(document), content_type="application/json")

    async with serve({"/a/sysinfo": sysinfo}) as aredn_node:
        node = await start_legacy_node(
            tmp_path, "gw", discovery__aredn_node=aredn_node, discovery__aredn_node_poll_s=POLL_S
        )
        try:
            await eventually(lambda: both_pulled(node), 10, "both legacy nodes pulled")
        finally:
            await node.stop()
