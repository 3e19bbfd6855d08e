"""Node trust across hops (docs/decisions.md "Identity"): who may sign "via NODE".

A node's key is trusted as a node by the peers that synced with it, and by their peers
through what each says in its info; a key that merely signs a ``node`` record is not.
"""

from __future__ import annotations

from pathlib import Path

from nacl.signing import SigningKey

from meshchat import records
from meshchat.app import RunningNode
from tests.factories import make_record
from tests.mesh import QUICK, eventually, line, start_nodes, stop_all, wait_live
from tests.nodes import ApiClient


async def verified(node: RunningNode, text: str) -> str | None:
    """Return how ``node`` shows the message with ``text`` (None: not there yet)."""
    api = ApiClient(node.url)
    try:
        reply = await api.request("GET", "/api/v1/messages")
        found = [m["verified"] for m in reply.body["messages"] if m["text"] == text]
        return found[0] if found else None
    finally:
        await api.close()


async def test_a_node_two_hops_away_signs_via(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 3, QUICK)
    user = ApiClient(nodes[2].url)
    try:
        line(nodes)
        await wait_live(nodes)
        await user.login("K2ABC")
        assert (await user.post("from two hops")).status == 201

        async def via_far_away() -> bool:
            return await verified(nodes[0], "from two hops") == "via"

        await eventually(via_far_away, 10.0, "n2's node key trusted on n0 through n1")
    finally:
        await user.close()
        await stop_all(nodes)


async def test_signing_a_node_record_makes_no_node(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 2, QUICK)
    mallory = SigningKey(bytes([66]) * 32)
    real = ApiClient(nodes[0].url)
    try:
        line(nodes)
        await wait_live(nodes)
        await real.login("W1AW", "correct horse battery staple")
        assert (await real.post("the real W1AW")).status == 201

        async def real_arrived() -> bool:
            return await verified(nodes[1], "the real W1AW") == "key"

        await eventually(real_arrived, 10.0, "the real W1AW's post reaches n1 first")
        forged = [
            make_record("node", key=mallory, name="evil", platform="linux", version="1"),
            make_record("msg", key=mallory, callsign="W1AW", text="W1AW via evil", node="evil"),
            make_record("msg", key=mallory, callsign="K9NEW", text="K9NEW via evil", node="evil"),
        ]
        results = await nodes[1].node.ingestor.submit([r.envelope for r in forged], "peer:x")
        assert results == ["ok"] * 3

        async def shown() -> bool:
            return await verified(nodes[0], "K9NEW via evil") is not None

        await eventually(shown, 10.0, "the forged records reach n0")
        for node in nodes:
            assert await verified(node, "W1AW via evil") == "conflict"
            # Not a node: its record binds K9NEW to its own key, like any user's.
            assert await verified(node, "K9NEW via evil") == "key"
            assert bytes(mallory.verify_key) not in node.node.store.node_keys
        assert records.ZERO_AUTHOR not in nodes[0].node.store.node_keys
    finally:
        await real.close()
        await stop_all(nodes)
