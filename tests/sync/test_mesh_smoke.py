"""Two nodes: a post on one reaches the other by push; anti-entropy heals the rest."""

from __future__ import annotations

from pathlib import Path

from tests.mesh import PUSH_ONLY, QUICK, count, eventually, line, start_nodes, stop_all
from tests.nodes import ApiClient


async def test_post_reaches_the_peer_by_push(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 2, PUSH_ONLY)
    try:
        line(nodes)

        async def both_native() -> bool:
            return all(p.kind == "native" and p.live for n in nodes for p in n.node.peers.all())

        await eventually(both_native, what="peers probed")
        api = ApiClient(nodes[0].url)
        try:
            await api.login("W1AW")
            posted = await api.post("over the mesh")
        finally:
            await api.close()
        assert posted.status == 201
        other = ApiClient(nodes[1].url)
        try:

            async def arrived() -> bool:
                return any(m["id"] == posted.body["id"] for m in await other.messages())

            await eventually(arrived, what="push delivery")
        finally:
            await other.close()
    finally:
        await stop_all(nodes)


async def test_anti_entropy_converges_history(tmp_path: Path) -> None:
    nodes = await start_nodes(tmp_path, 2, QUICK)
    try:
        api = ApiClient(nodes[0].url)
        try:
            await api.login("W1AW")
            for i in range(30):
                assert (await api.post(f"before the link {i}")).status == 201
        finally:
            await api.close()
        line(nodes)

        async def converged() -> bool:
            return await count(nodes[0]) == await count(nodes[1]) == 32

        await eventually(converged, what="convergence")
    finally:
        await stop_all(nodes)
