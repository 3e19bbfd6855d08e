"""JSON replies are gzipped for clients that accept it; sockets offer permessage-deflate."""

from __future__ import annotations

from meshchat.app import RunningNode
from tests.nodes import ApiClient


async def test_a_page_of_messages_comes_gzipped(node: RunningNode, client: ApiClient) -> None:
    assert (await client.login("W1AW")).status == 200
    for i in range(50):
        assert (await client.post(f"message {i}: " + "all stations copy " * 40)).status == 201
    async with client.http.get(
        client.base + "/api/v1/messages?limit=50", headers={"Accept-Encoding": "gzip"}
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Encoding"] == "gzip"
        wire = int(resp.headers.get("Content-Length", "0") or 0)
        body = await resp.json()
    assert len(body["messages"]) == 50
    assert 0 < wire < 8000  # ~40 KB of JSON
    async with client.http.get(
        client.base + "/api/v1/messages?limit=50", headers={"Accept-Encoding": "identity"}
    ) as resp:
        assert "Content-Encoding" not in resp.headers


async def test_the_live_socket_takes_permessage_deflate(client: ApiClient) -> None:
    assert (await client.login("W1AW")).status == 200
    ws = await client.http.ws_connect(client.base + "/api/v1/ws", compress=15)
    try:
        assert ws.compress == 15  # negotiated: frames are deflated
        hello = await ws.receive_json()
        assert hello["type"] == "hello"
    finally:
        await ws.close()
