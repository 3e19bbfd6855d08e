"""Search through the JSON API: from:/in: filters, direct messages, a count, paging."""

from __future__ import annotations

from typing import Any

from meshchat.app import RunningNode
from tests.nodes import ApiClient


async def _search(client: ApiClient, **params: Any) -> Any:
    reply = await client.request("GET", "/api/v1/messages", params=params)
    assert reply.status == 200, reply
    return reply.body


async def test_filters_in_the_query_and_as_parameters(node: RunningNode, client: ApiClient) -> None:
    await client.login("W1AW")
    await client.post("fuel at the school", channel="ops")
    await client.post("fuel for K1ABC", to="K1ABC")
    other = ApiClient(node.url)
    try:
        await other.login("K1ABC")
        await other.post("fuel truck late", channel="logistics")
    finally:
        await other.close()

    body = await _search(client, q="fuel")
    assert [m["text"] for m in body["messages"]] == [
        "fuel at the school",
        "fuel for K1ABC",  # one's own direct messages are found too
        "fuel truck late",
    ]
    assert (body["total"], body["total_exact"], body["terms"]) == (3, True, ["fuel"])
    body = await _search(client, q="fuel from:k1abc")
    assert [m["text"] for m in body["messages"]] == ["fuel truck late"]
    assert body["filters"] == {"from": "K1ABC", "channel": None, "dm": None}
    assert [m["text"] for m in (await _search(client, q="fu in:#ops"))["messages"]] == [
        "fuel at the school"
    ]
    assert [
        m["text"] for m in (await _search(client, q="fuel", **{"from": "W1AW"}))["messages"]
    ] == [
        "fuel at the school",
        "fuel for K1ABC",
    ]
    assert [
        m["text"] for m in (await _search(client, q="fuel", channel="logistics"))["messages"]
    ] == ["fuel truck late"]
    assert [m["text"] for m in (await _search(client, q="in:@K1ABC"))["messages"]] == [
        "fuel for K1ABC"
    ]

    # Logged out: channels only, and no conversation to search.
    anonymous = ApiClient(node.url)
    try:
        body = await _search(anonymous, q="fuel")
        assert "fuel for K1ABC" not in [m["text"] for m in body["messages"]]
        reply = await anonymous.request("GET", "/api/v1/messages", params={"q": "x in:@K1ABC"})
        assert reply.status == 401
    finally:
        await anonymous.close()


async def test_bad_searches_are_400s(client: ApiClient) -> None:
    await client.login("W1AW")
    ids = [(await client.post("one")).body["id"]]
    for params in (
        {"q": "from:"},
        {"q": "x from:bad/call/"},
        {"q": "x", "after": ids[0]},
        {"q": "x", "before": ids[0], "since": "1d"},
        {"q": "!!!"},
        {"q": "x" * 201},
    ):
        reply = await client.request("GET", "/api/v1/messages", params=params)
        assert reply.status == 400, (params, reply.body)


async def test_a_search_pages_back_past_fifty(client: ApiClient) -> None:
    await client.login("W1AW")
    for i in range(57):
        await client.post(f"log entry {i}")
    first = await _search(client, q="entry")
    assert (first["total"], len(first["messages"])) == (57, 50)
    older = await _search(client, q="entry", before=first["messages"][0]["id"])
    assert older["total"] is None
    assert [m["text"] for m in older["messages"]] == [f"log entry {i}" for i in range(7)]
