"""The files API on a real node: upload, list, download, and what a name or a type may do."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from meshchat.app import RunningNode
from tests.nodes import ApiClient, start_node

PNG = bytes.fromhex("89504e470d0a1a0a") + os.urandom(200)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    running = await start_node(tmp_path / "data", files__max_file_bytes=300_000)
    yield running
    await running.stop()


@pytest.fixture
async def client(node: RunningNode) -> AsyncIterator[ApiClient]:
    api = ApiClient(node.url)
    assert (await api.login("W1AW")).status == 200
    yield api
    await api.close()


def form(
    data: bytes, name: str = "notes.txt", mime: str = "text/plain", **fields: str
) -> aiohttp.FormData:
    """A multipart body as the UI sends it: the fields first, then the file."""
    body = aiohttp.FormData(quote_fields=False)  # as browsers send names: not %-encoded
    fields.setdefault("channel", "")
    for key, value in fields.items():
        body.add_field(key, value)
    body.add_field("file", data, filename=name, content_type=mime)
    return body


async def send(api: ApiClient, body: Any, **kw: Any) -> Any:
    return await api.request("POST", "/api/v1/files", data=body, **kw)


async def fetch(api: ApiClient, path: str) -> tuple[int, bytes, Any]:
    async with api.http.get(api.base + path) as resp:
        return resp.status, await resp.read(), resp.headers


async def test_upload_announces_the_file_and_it_downloads_back(
    node: RunningNode, client: ApiClient
) -> None:
    data = os.urandom(150_000)
    reply = await send(client, form(data, "field report.txt", channel="ops", caption="read me"))
    assert reply.status == 201, reply.body
    sha = hashlib.sha256(data).hexdigest()
    assert reply.body["sha256"] == sha
    assert reply.body["size"] == len(data)
    listed = await client.request("GET", "/api/v1/files")
    (entry,) = listed.body["files"]
    assert entry["sha256"] == sha and entry["id"] == reply.body["id"]
    assert (entry["name"], entry["size"]) == ("field report.txt", len(data))
    assert entry["mime"] == "text/plain"
    assert (entry["channel"], entry["callsign"], entry["node"]) == ("ops", "W1AW", "test-node")
    assert entry["available"] is True and entry["caption"] == "read me"
    assert listed.body["max_file_bytes"] == 300_000
    # The record is a message of the channel too (the chat shows it).
    (shown,) = await client.messages(channel="ops")
    assert shown["kind"] == "file" and shown["file"]["sha256"] == sha and shown["text"] == "read me"
    status, got, headers = await fetch(client, entry["url"])
    assert status == 200 and got == data
    assert headers["Content-Type"] == "application/octet-stream"  # text/plain is not trusted
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("attachment;")
    status, _, _ = await fetch(client, f"/api/v1/files/{sha}")  # without the record id
    assert status == 200


async def test_upload_needs_a_session_and_the_csrf_token(node: RunningNode) -> None:
    api = ApiClient(node.url)
    try:
        assert (await send(api, form(b"x"))).status == 401
        await api.login("W1AW")
        assert (await send(api, form(b"x"), csrf=False)).status == 403
        assert (await send(api, form(b"x"))).status == 201
    finally:
        await api.close()


async def test_a_file_over_the_limit_is_refused_from_its_length(client: ApiClient) -> None:
    reply = await send(client, form(os.urandom(400_000)))
    assert reply.status == 413 and reply.body["error"] == "too_large"


async def test_a_stream_without_a_length_is_cut_when_it_passes_the_limit(
    node: RunningNode, client: ApiClient
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="channel"\r\n\r\n\r\n'
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n\r\n'
        for _ in range(40):
            yield os.urandom(10_000)
        yield b"\r\n--b--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    reply = await send(client, body(), headers=headers)
    assert reply.status == 413
    assert (await client.request("GET", "/api/v1/files")).body["files"] == []
    tmp = node.node.config.node.data_dir / "blobs" / "tmp"
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"channel": "x" * 65}, "bad_channel"),
        ({"zone": "Nowhere"}, "unknown_zone"),
        ({"bogus": "1"}, "unknown_fields"),
    ],
)
async def test_bad_fields_are_refused_and_leave_nothing(
    node: RunningNode, client: ApiClient, fields: dict[str, str], error: str
) -> None:
    reply = await send(client, form(b"data", **fields))
    assert reply.status in (400, 404) and reply.body["error"] == error
    assert (await client.request("GET", "/api/v1/files")).body["files"] == []
    assert (await node.node.blobs.usage())["count"] == 0


async def test_without_the_file_part_or_channel(client: ApiClient) -> None:
    only = aiohttp.MultipartWriter("form-data")
    only.append("", {"Content-Disposition": 'form-data; name="channel"'})
    reply = await send(client, only)
    assert reply.status == 400 and reply.body["error"] == "missing_field"
    body = aiohttp.FormData()
    body.add_field("file", b"x", filename="a")
    reply = await send(client, body)
    assert reply.status == 400 and reply.body["error"] == "missing_field"
    reply = await client.request("POST", "/api/v1/files", json={"channel": ""})
    assert reply.status == 415


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", 'a"b;c=d.txt', "..\\..\\boot.ini", "résumé 日本.pdf", ".hidden"],
)
async def test_hostile_names_are_stored_and_served_safely(
    node: RunningNode, client: ApiClient, name: str
) -> None:
    data = name.encode() + b" contents"
    reply = await send(client, form(data, name))
    assert reply.status == 201
    (entry,) = (await client.request("GET", "/api/v1/files")).body["files"]
    assert entry["name"] == name  # a name is data: kept as given
    status, got, headers = await fetch(client, entry["url"])
    assert status == 200 and got == data
    disposition = headers["Content-Disposition"]
    plain = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert "/" not in plain and "\\" not in plain and '"' not in plain and ";" not in plain
    assert not plain.startswith(".")
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert all(c not in encoded for c in ' "/;\\')
    # Nothing was written anywhere but under blobs/, by hash.
    data_dir = node.node.config.node.data_dir
    assert not (data_dir / "etc").exists() and not (data_dir.parent / "etc").exists()


@pytest.mark.parametrize(
    ("mime", "shown", "served"),
    [
        ("image/png", True, "image/png"),
        ("image/svg+xml", False, "application/octet-stream"),
        ("text/html", False, "application/octet-stream"),
        ("application/pdf", False, "application/octet-stream"),
        ("not a type", False, "application/octet-stream"),
    ],
)
async def test_only_raster_images_are_served_inline(
    client: ApiClient, mime: str, shown: bool, served: str
) -> None:
    data = PNG if mime == "image/png" else SVG
    reply = await send(client, form(data, "picture", mime))
    assert reply.status == 201
    (entry,) = (await client.request("GET", "/api/v1/files")).body["files"]
    status, _, headers = await fetch(client, entry["url"])
    assert status == 200 and headers["Content-Type"] == served
    assert headers["Content-Disposition"].startswith("inline;" if shown else "attachment;")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    _, _, forced = await fetch(client, entry["url"] + "&download=1")
    assert forced["Content-Disposition"].startswith("attachment;")


async def test_downloads_are_found_by_hash_never_by_name(client: ApiClient) -> None:
    reply = await send(client, form(b"abc", "a.txt"))
    sha, rid = reply.body["sha256"], reply.body["id"]
    for path in (
        "/api/v1/files/a.txt",
        "/api/v1/files/..%2F..%2Fetc%2Fpasswd",
        f"/api/v1/files/{sha.upper()}x",
        f"/api/v1/files/{sha}?name=a.txt",
    ):
        status, _, _ = await fetch(client, path)
        assert status in (400, 404), path
    status, _, _ = await fetch(client, f"/api/v1/files/{'0' * 64}")
    assert status == 404
    other = (await send(client, form(b"other", "b.txt"))).body["id"]
    status, _, _ = await fetch(client, f"/api/v1/files/{sha}?id={other}")
    assert status == 404  # that record announces another file
    status, _, headers = await fetch(client, f"/api/v1/files/{sha}?id={rid}")
    async with client.http.get(
        f"{client.base}/api/v1/files/{sha}", headers={"If-None-Match": headers["ETag"]}
    ) as resp:
        assert resp.status == 304


async def test_an_evicted_file_stays_listed_as_not_here(
    node: RunningNode, client: ApiClient
) -> None:
    reply = await send(client, form(b"soon gone"))
    sha = bytes.fromhex(reply.body["sha256"])
    await node.node.blobs.evict(sha)
    (entry,) = (await client.request("GET", "/api/v1/files")).body["files"]
    assert entry["available"] is False
    status, _, _ = await fetch(client, entry["url"])
    assert status == 404  # no peer has it either (and replication is on: no waiting)


async def test_a_file_whose_record_is_refused_is_not_kept_pinned(tmp_path: Path) -> None:
    node = await start_node(tmp_path / "data", store__author_quota_per_hour=1)
    api = ApiClient(node.url)
    try:
        await api.login("W1AW")
        assert (await send(api, form(b"first"))).status == 201
        refused = await send(api, form(b"second"))
        assert refused.status == 429
        held = await node.node.blobs.info(hashlib.sha256(b"second").digest())
        assert held is not None and not held.pinned  # evictable: nothing announces it
        first = await node.node.blobs.info(hashlib.sha256(b"first").digest())
        assert first is not None and first.pinned
    finally:
        await api.close()
        await node.stop()


async def test_an_upload_the_quota_cannot_hold_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    node = await start_node(
        tmp_path / "data", files__quota_bytes=100_000, files__max_file_bytes=100_000
    )
    api = ApiClient(node.url)
    try:
        await api.login("W1AW")
        assert (await send(api, form(os.urandom(60_000)))).status == 201  # pinned: stays
        reply = await send(api, form(os.urandom(90_000)))
        assert reply.status == 507 and reply.body["error"] == "quota_full"
        assert (await node.node.blobs.usage())["count"] == 1
    finally:
        await api.close()
        await node.stop()
