"""legacy L1 → meshchat A → meshchat B → legacy L2, and back: one message per direction."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from meshchat.app import RunningNode
from meshchat.store.models import MessageQuery
from tests.factories import ZONE
from tests.legacy.fakepeer import FakeLegacyNode
from tests.legacy.helpers import cgi, legacy_peer, start_legacy_node
from tests.legacy.test_poller import has_text, texts
from tests.mesh import eventually, link, stop_all, wait_live


@pytest.fixture
async def chain(
    tmp_path: Path,
) -> AsyncIterator[tuple[FakeLegacyNode, RunningNode, RunningNode, FakeLegacyNode]]:
    l1, l2 = FakeLegacyNode("leg-one", "perl"), FakeLegacyNode("leg-two", "lua")
    url1, url2 = await l1.start(), await l2.start()
    a = await start_legacy_node(tmp_path, "mesh-a")
    b = await start_legacy_node(tmp_path, "mesh-b")
    try:
        link(a, b)
        await wait_live([a, b])
        l1.peers, l2.peers = [a.url], [b.url]
        legacy_peer(a, url1)
        legacy_peer(b, url2)
        yield l1, a, b, l2
    finally:
        await stop_all([a, b])
        await l1.stop()
        await l2.stop()


async def until_legacy_has(node: FakeLegacyNode, text: str, within: float = 10.0) -> None:
    """Let a legacy node poll until its file holds ``text`` (bounded)."""
    deadline = time.monotonic() + within
    while text not in node.messages():
        assert time.monotonic() < deadline, f"{node.name} never got {text!r}"
        await node.poll_once()


async def test_a_message_crosses_both_protocols_each_way(
    chain: tuple[FakeLegacyNode, RunningNode, RunningNode, FakeLegacyNode],
) -> None:
    l1, a, b, l2 = chain
    l1.post("hello from leg-one", "K1ONE")
    await eventually(lambda: has_text(b, "hello from leg-one"), 10, "L1 → A → B")
    await until_legacy_has(l2, "hello from leg-one")

    l2.post("hello from leg-two", "K2TWO")
    await eventually(lambda: has_text(a, "hello from leg-two"), 10, "L2 → B → A")
    await until_legacy_has(l1, "hello from leg-two")

    outbox = b.node.outbox
    await outbox.message(outbox.via_node("W1MESH"), ZONE, "", "hello from mesh-b")
    await until_legacy_has(l1, "hello from mesh-b")
    await until_legacy_has(l2, "hello from mesh-b")

    # Everyone holds the same three lines; the four versions agree; nothing came back twice.
    await l1.poll_once()
    await l2.poll_once()
    assert sorted(l1.lines) == sorted(l2.lines) and len(l1.lines) == 3
    versions = {l1.version(), l2.version()}
    for node in (a, b):
        versions.add((await cgi(node, "messages_version")).body.decode())
        assert sorted(await texts(node)) == sorted(
            ["hello from leg-one", "hello from leg-two", "hello from mesh-b"]
        )
    assert len(versions) == 1
    # The legacy lines synced natively are the same records on A and B (same ids).
    ids_a = {v.id for v in await a.node.store.messages(_query())}
    ids_b = {v.id for v in await b.node.store.messages(_query())}
    assert ids_a == ids_b


async def test_legacy_users_reach_the_far_meshchat_node(
    chain: tuple[FakeLegacyNode, RunningNode, RunningNode, FakeLegacyNode],
) -> None:
    l1, a, b, _ = chain
    l1.login("K1ONE")

    async def seen_on_b() -> bool:
        return ("K1ONE", "leg-one") in {(e.callsign, e.node) for e in b.node.presence.zone(ZONE)}

    await eventually(seen_on_b, 10, "L1's user in B's presence (via A's gossip)")
    assert ("K1ONE", "leg-one") in {(e.callsign, e.node) for e in a.node.presence.remote(ZONE)}


def _query() -> MessageQuery:
    return MessageQuery(ZONE, limit=500)
