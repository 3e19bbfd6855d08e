"""Gateways posting in: ``POST /api/v1/inbound`` with a bearer token, and ``meshchat post``."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from meshchat.actionconfig import GatewaySender
from meshchat.app import RunningNode
from meshchat.store.models import MessageQuery
from tests.actions.helpers import TOKEN, actions_config, start
from tests.nodes import ApiClient

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SENDERS = (GatewaySender(address="+1 (555) 123-4567", callsign="W1AW"),)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    running = await start(actions_config(tmp_path / "data", [], senders=SENDERS))
    yield running
    await running.stop()


@pytest.fixture
async def client(node: RunningNode) -> AsyncIterator[ApiClient]:
    api = ApiClient(node.url)
    yield api
    await api.close()


async def inbound(client: ApiClient, body: dict[str, object], headers: dict[str, str] = AUTH):
    return await client.request("POST", "/api/v1/inbound", json=body, headers=headers)


async def body_of(node: RunningNode, record_id: str) -> dict[str, object]:
    record = await node.node.store.get_record(bytes.fromhex(record_id))
    assert record is not None
    return dict(record.body)


async def test_a_gateway_posts_with_the_token(node: RunningNode, client: ApiClient) -> None:
    reply = await inbound(client, {"channel": "SMS", "callsign": "k1abc", "text": "hi @W1AW"})
    assert reply.status == 201, reply
    body = await body_of(node, reply.body["id"])
    assert body["callsign"] == "K1ABC" and body["gateway"] == "api"
    assert body["node"] == "test-node" and body["mentions"] == ["W1AW"]
    (view,) = await node.node.store.messages(MessageQuery("MeshChat", channel="SMS"))
    assert view.verified == "via" and view.text == "hi @W1AW"


async def test_the_wrong_token_or_none_is_refused(node: RunningNode, client: ApiClient) -> None:
    message = {"channel": "", "callsign": "K1ABC", "text": "x"}
    wrong = await inbound(client, message, {"Authorization": "Bearer not-the-token"})
    assert wrong.status == 403 and wrong.body["error"] == "bad_token"
    missing = await inbound(client, message, {})
    assert missing.status == 401 and missing.body["error"] == "no_token"
    basic = await inbound(client, message, {"Authorization": f"Basic {TOKEN}"})
    assert basic.status == 401
    # A browser session is no substitute for the token.
    await client.login("K1ABC")
    assert (await inbound(client, message, {})).status == 401
    assert await node.node.store.messages(MessageQuery("MeshChat")) == []


async def test_inbound_is_refused_entirely_without_a_configured_token(tmp_path: Path) -> None:
    running = await start(actions_config(tmp_path / "data", [], token=""))
    client = ApiClient(running.url)
    try:
        message = {"channel": "", "callsign": "K1ABC", "text": "x"}
        for headers in (AUTH, {"Authorization": "Bearer "}, {}):
            reply = await inbound(client, message, headers)
            assert reply.status == 403 and reply.body["error"] == "inbound_disabled"
    finally:
        await client.close()
        await running.stop()


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"channel": "x", "callsign": "K1ABC"}, "missing_field"),
        ({"channel": "x", "callsign": "not a call", "text": "x"}, "bad_request"),
        ({"channel": "x\ty", "callsign": "K1ABC", "text": "x"}, "bad_channel"),
        ({"channel": "x", "callsign": "K1ABC", "text": "  "}, "bad_text"),
        ({"channel": "x", "callsign": "K1ABC", "text": "x", "zone": "Other"}, "unknown_zone"),
        ({"channel": "x", "callsign": "K1ABC", "text": "x", "gateway": "SMS!"}, "bad_gateway"),
        ({"channel": "x", "callsign": "K1ABC", "text": "x", "sender": "a\nb"}, "bad_sender"),
        ({"channel": "x", "callsign": "K1ABC", "text": "x", "admin": True}, "unknown_fields"),
    ],
)
async def test_bad_posts_are_4xx(client: ApiClient, message: dict[str, object], error: str) -> None:
    reply = await inbound(client, message)
    assert reply.status == 400 and reply.body["error"] == error, reply


async def test_a_mapped_sender_posts_as_its_callsign_others_as_the_gateway(
    node: RunningNode, client: ApiClient
) -> None:
    base = {"channel": "SMS", "callsign": "GW-1", "gateway": "sms"}
    mapped = await inbound(client, {**base, "text": "on my way", "sender": "+15551234567"})
    body = await body_of(node, mapped.body["id"])
    assert body["callsign"] == "W1AW" and body["text"] == "on my way"
    assert body["gateway"] == "sms" and "sender" not in body  # the number stays here
    other = await inbound(client, {**base, "text": "who is this", "sender": "+15557654321"})
    body = await body_of(node, other.body["id"])
    assert body["callsign"] == "GW-1" and body["sender"] == "+15557654321"
    assert body["text"] == "[sms +15557654321] who is this"


async def test_gateway_post_is_the_function_the_legacy_surface_uses(node: RunningNode) -> None:
    record = await node.node.gateway.post(None, "", "k1abc", "from send_message", gateway="legacy")
    assert record.zone == "MeshChat" and record.body["gateway"] == "legacy"
    assert record.body["callsign"] == "K1ABC"


async def meshchat_post(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "meshchat",
        "post",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_meshchat_post_with_a_token_is_a_gateway_path(node: RunningNode) -> None:
    code, out, err = await meshchat_post(
        "--url",
        node.url + "/meshchat/",
        "--callsign",
        "GW-1",
        "--channel",
        "SMS",
        "--gateway",
        "sms",
        "--sender",
        "+1 555 123 4567",
        "hello",
        "there",
        env={"MESHCHAT_INBOUND_TOKEN": TOKEN},
    )
    assert code == 0, err
    body = await body_of(node, out.strip())
    assert body["callsign"] == "W1AW" and body["gateway"] == "sms" and body["text"] == "hello there"
    code, out, err = await meshchat_post(
        "--url", node.url, "--callsign", "GW-1", "--token", "wrong-token-wrong-token", "x"
    )
    assert code == 1 and "403" in err
