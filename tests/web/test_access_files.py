"""Files of a members-only channel are for its members only: listed, fetched, shared, exported."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import aiohttp
import pytest

from meshchat.app import RunningNode
from tests.legacy.helpers import cgi
from tests.nodes import ApiClient

PASS = "correct horse battery staple"


def form(data: bytes, name: str, channel: str) -> aiohttp.FormData:
    body = aiohttp.FormData(quote_fields=False)
    body.add_field("channel", channel)
    body.add_field("file", data, filename=name, content_type="text/plain")
    return body


@pytest.fixture
async def clients(node: RunningNode) -> AsyncIterator[tuple[ApiClient, ApiClient, ApiClient]]:
    owner, stranger, via = (ApiClient(node.url) for _ in range(3))
    await owner.login("W1AW", PASS)
    await stranger.login("N0CALL", PASS)
    await via.login("KD0VIA")
    reply = await owner.request(
        "POST", "/api/v1/channels", json={"name": "ops", "restricted": True, "members": []}
    )
    assert reply.status == 201, reply
    yield owner, stranger, via
    for api in (owner, stranger, via):
        await api.close()


async def test_a_members_only_file_reaches_no_one_else(
    node: RunningNode, clients: tuple[ApiClient, ApiClient, ApiClient]
) -> None:
    owner, stranger, via = clients
    secret, open_data = os.urandom(3000), os.urandom(2000)
    up = await owner.request("POST", "/api/v1/files", data=form(secret, "plan.txt", "ops"))
    assert up.status == 201, up.body
    public = await owner.request("POST", "/api/v1/files", data=form(open_data, "map.txt", ""))
    assert public.status == 201, public.body

    listed = await owner.request("GET", "/api/v1/files")
    assert {f["name"] for f in listed.body["files"]} == {"plan.txt", "map.txt"}
    path = f"/api/v1/files/{up.body['sha256']}?id={up.body['id']}"
    async with owner.http.get(owner.base + path) as resp:
        assert resp.status == 200 and await resp.read() == secret
    for outsider in (stranger, via):
        listed = await outsider.request("GET", "/api/v1/files")
        assert [f["name"] for f in listed.body["files"]] == ["map.txt"]
        for url in (path, f"/api/v1/files/{up.body['sha256']}"):
            async with outsider.http.get(outsider.base + url) as resp:
                assert resp.status == 404 and secret not in await resp.read()
        shared = await outsider.request("POST", "/api/v1/files", data=form(b"x", "y.txt", "ops"))
        assert shared.status == 403, shared.body
    # Legacy nodes see only what anyone may see.
    raw = await cgi(node, "local_files_raw")
    assert b"map.txt" in raw.body and b"plan.txt" not in raw.body
    assert (await cgi(node, "file_download", file="plan.txt")).body == b"no file"
