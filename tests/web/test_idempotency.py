"""Idempotent posts: a repeated Idempotency-Key gets the first record's id, never a duplicate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from meshchat.app import RunningNode
from meshchat.web.http import ApiError
from meshchat.web.idempotency import IdempotencyKeys
from tests import factories
from tests.nodes import ApiClient


async def _post(client: ApiClient, key: str, text: str = "one copy only", **fields: Any) -> Any:
    return await client.request(
        "POST",
        "/api/v1/messages",
        json={"channel": "", "text": text, **fields},
        headers={"Idempotency-Key": key},
    )


async def test_a_repeated_key_answers_with_the_first_record(
    node: RunningNode, client: ApiClient
) -> None:
    await client.login("W1AW")
    first = await _post(client, "k-0001-aaaa")
    again = await _post(client, "k-0001-aaaa")
    assert first.status == 201
    assert again.status == 200
    assert again.body == first.body  # the same id and ts
    assert [m["text"] for m in await client.messages()] == ["one copy only"]
    # Another key is another message, even with the same text.
    other = await _post(client, "k-0002-bbbb")
    assert other.status == 201 and other.body["id"] != first.body["id"]
    assert len(await client.messages()) == 2


async def test_concurrent_repeats_make_one_record(client: ApiClient) -> None:
    await client.login("W1AW")
    replies = await asyncio.gather(*(_post(client, "same-key-123") for _ in range(5)))
    assert sorted(r.status for r in replies) == [200, 200, 200, 200, 201]
    assert len({r.body["id"] for r in replies}) == 1
    assert len(await client.messages()) == 1


async def test_keys_belong_to_a_session_and_to_one_body(
    node: RunningNode, client: ApiClient
) -> None:
    await client.login("W1AW")
    assert (await _post(client, "shared-key-1")).status == 201
    reused = await _post(client, "shared-key-1", text="something else")
    assert (reused.status, reused.body["error"]) == (422, "idempotency_key_reused")
    other = ApiClient(node.url)
    try:
        await other.login("K1ABC")
        assert (await _post(other, "shared-key-1")).status == 201  # its own key space
    finally:
        await other.close()
    assert len(await client.messages()) == 2


@pytest.mark.parametrize("key", ["short", "has space in it", "x" * 129, "bad/slash-key"])
async def test_a_malformed_key_is_a_400(client: ApiClient, key: str) -> None:
    await client.login("W1AW")
    reply = await _post(client, key)
    assert (reply.status, reply.body["error"]) == (400, "bad_idempotency_key")
    assert await client.messages() == []


async def test_a_failed_first_attempt_runs_again_and_bounds_hold() -> None:
    now = [0.0]
    keys = IdempotencyKeys(max_keys=3, ttl_s=10.0, clock=lambda: now[0])
    made: list[int] = []

    async def make() -> Any:
        made.append(1)
        return factories.make_record(text=f"r{len(made)}")

    async def broken() -> Any:
        raise ApiError(503, "down")

    with pytest.raises(ApiError):
        await keys.once("s", "k1", "p", broken)
    first = await keys.once("s", "k1", "p", make)  # the failure left no entry behind
    assert first[2] is False
    assert (await keys.once("s", "k1", "p", make))[:2] == first[:2]
    for key in ("k2", "k3", "k4"):
        await keys.once("s", key, "p", make)
    assert len(keys) == 3  # k1 was the oldest: evicted
    assert (await keys.once("s", "k1", "p", make))[2] is False
    now[0] = 11.0
    assert (await keys.once("s", "k4", "p", make))[2] is False  # expired after the TTL
    assert len(made) == 6
