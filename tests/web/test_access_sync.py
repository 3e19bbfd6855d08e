"""Rights across sync: a newcomer takes its source's genesis, and every node agrees (§10)."""

from __future__ import annotations

from pathlib import Path

from nacl.signing import SigningKey

from meshchat import records
from meshchat.app import RunningNode
from meshchat.clock import wall_ms
from meshchat.store import rights
from meshchat.store.models import MessageQuery
from tests.mesh import PUSH_ONLY, eventually, same_ids, start_nodes, stop_all
from tests.mesh import count as record_count

ZONE = "MeshChat"
OWNER = SigningKey(bytes([21]) * 32)
SQUATTER = SigningKey(bytes([22]) * 32)
MEMBER = SigningKey(bytes([23]) * 32)


def pub(key: SigningKey) -> bytes:
    return bytes(key.verify_key)


async def add(at: RunningNode, key: SigningKey, ts: int, kind: str, **body: object) -> bytes:
    record = records.sign(key, ZONE, kind, ts, body)
    await at.node.ingestor.add_local(record)
    return record.id


async def shown_to(node: RunningNode, key: SigningKey) -> list[str]:
    access = await node.node.store.access(ZONE)
    page = await node.node.store.messages(MessageQuery(ZONE, limit=500), access.reader(pub(key)))
    return [m.text for m in page]


async def test_a_newcomer_inherits_the_genesis_a_back_dated_record_does_not_move(
    tmp_path: Path,
) -> None:
    (old,) = await start_nodes(tmp_path / "old", 1, PUSH_ONLY)
    nodes = [old]
    try:
        now = wall_ms()
        body = rights.genesis_body("ops", "W1OWN", pub(OWNER), "team", True, {pub(MEMBER): "K1M"})
        await add(old, OWNER, now - 1000, "channel", **body)
        # Arrives second, stamped a minute earlier: range paging alone would show it first.
        squat = rights.genesis_body("ops", "W1BAD", pub(SQUATTER), "mine", False, {})
        await add(old, SQUATTER, now - 60_000, "channel", **squat)
        for key, text in ((MEMBER, "inside"), (SQUATTER, "intruder")):
            await add(old, key, now, "msg", callsign="X1X", channel="ops", text=text, node="n")
        (new,) = await start_nodes(tmp_path / "new", 1, PUSH_ONLY)
        nodes.append(new)
        new.node.scheduler.add_peer(old.url, "static")  # it bootstraps from the old node
        held = await record_count(old)
        await eventually(lambda: same_ids(nodes, held + 1), what="the newcomer bootstrapped")
        for node in nodes:
            channel = (await node.node.store.access(ZONE)).channel("ops")
            assert channel is not None and channel.owner == pub(OWNER)
            assert channel.restricted and channel.contested
            assert await shown_to(node, MEMBER) == ["inside"]
            assert await shown_to(node, SQUATTER) == []
    finally:
        await stop_all(nodes)
