"""A deleted message's words are dropped on every node and never served again (issue 11).

DESIGN §2.1: a ``delete`` by the author makes nodes drop the target's body. Reproduced
before the fix: ``/sync/v1/get`` still served the deleted text verbatim.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from meshchat import records
from meshchat.app import RunningNode
from meshchat.store.models import MessageQuery
from meshchat.sync.wire import MSGPACK
from tests.mesh import QUICK, ZONE, eventually, ids, link, start_nodes, stop_all, sync_rounds

SECRET = "the repeater password is hunter2"


async def get(node: RunningNode, *wanted: bytes) -> dict[str, object]:
    body = records.pack({"zone": ZONE, "ids": list(wanted)})
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{node.url}/sync/v1/get", data=body, headers={"Content-Type": MSGPACK}) as resp,
    ):
        assert resp.status == 200
        answer: dict[str, object] = records.unpack(await resp.read())
        return answer


async def stored_bodies(node: RunningNode) -> bytes:
    """Every record's stored bytes on ``node``, back to back (what its disk holds of them)."""
    out = b""
    async for signed, sig in node.node.store.export(ZONE):
        out += signed + sig
    found = await node.node.store.get_envelopes(await ids(node))
    return out + b"".join(s for s, _ in found)


async def test_a_deleted_message_is_not_served_and_its_words_are_gone(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 3, QUICK)
    a, b, c = nodes
    try:
        link(a, b)
        signer = a.node.outbox.via_node("W1AW")
        said = await a.node.outbox.message(signer, ZONE, "", SECRET)
        edited = await a.node.outbox.edit(signer, said, SECRET + " (really)")
        kept = await a.node.outbox.message(signer, ZONE, "", "net at 19:00")

        async def on_b() -> bool:
            return {said.id, edited.id, kept.id} <= set(await ids(b))

        await eventually(on_b, what="the messages reached b")
        deleted = await a.node.outbox.delete(signer, said)

        async def deleted_on_b() -> bool:
            return deleted.id in set(await ids(b))

        await eventually(deleted_on_b, what="the delete reached b")
        for node in (a, b):
            answer = await get(node, said.id, edited.id, kept.id)
            sent = b"".join(s for s, _ in answer["records"])  # type: ignore[attr-defined]
            assert SECRET.encode() not in sent and b"net at 19:00" in sent
            assert len(answer["gone"]) == 2  # type: ignore[arg-type]
            assert SECRET.encode() not in b"".join(answer["gone"])  # type: ignore[arg-type]
            assert SECRET.encode() not in await stored_bodies(node)
            (view,) = [
                v
                for v in await node.node.store.messages(MessageQuery(ZONE, limit=50))
                if v.id == said.id_hex
            ]
            assert view.deleted and view.text == "" and view.callsign == "W1AW"
            assert await node.node.store.messages(MessageQuery(ZONE, q="hunter2")) == []

        # A node that joins later never sees the words, keeps the stubs, and then agrees.
        link(b, c)
        await eventually(
            lambda: _same(b, c), what="the newcomer holds what b holds, stubs included"
        )
        assert SECRET.encode() not in await stored_bodies(c)
        await sync_rounds(c, 2)
        assert c.node.ingestor.rejects == {}
        assert set(await ids(c)) == set(await ids(b))
    finally:
        await stop_all(nodes)


async def _same(one: RunningNode, two: RunningNode) -> bool:
    return set(await ids(one)) == set(await ids(two))
