"""``/cgi-bin/meshchat`` byte for byte as legacy nodes, SMS scripts and old UIs read it."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from meshchat import records
from meshchat.app import RunningNode
from meshchat.legacy import codec
from tests.factories import ZONE, make_record
from tests.legacy.fakepeer import LUA_MD5, PERL_MD5
from tests.legacy.helpers import cgi, cgi_post, start_legacy_node
from tests.nodes import ApiClient


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    running = await start_legacy_node(tmp_path, "gw-node")
    try:
        yield running
    finally:
        await running.stop()


def order(line: str) -> tuple[int, int]:
    lid, epoch, _ = line.split("\t", 2)
    return int(epoch), int(lid, 16)


async def post(
    node: RunningNode, text: str, callsign: str = "W1AW", channel: str = ""
) -> records.Record:
    outbox = node.node.outbox
    return await outbox.message(outbox.via_node(callsign), ZONE, channel, text)


async def test_version_and_raw_are_what_perl_and_lua_parse(node: RunningNode) -> None:
    mine = await post(node, 'hi <all> & "you"\nbye')
    legacy = make_record("legacy", line_id="0badc0de", text="from a legacy node")
    assert await node.node.ingestor.submit([legacy.envelope], "legacy:test") == ["ok"]
    exported = codec.export_line(mine)
    assert exported is not None
    lines = sorted([exported.to_line(), legacy.body["line"]], key=order)

    version = await cgi(node, "messages_version")
    assert version.head.startswith("HTTP/1.1 200 ")
    assert version.body == str(int(mine.id_hex[:8], 16) + 0x0BADC0DE).encode()  # no newline
    assert re.search(r"\r\nContent-Length: \d+\r\n", version.head) and not version.chunked

    raw = await cgi(node, "messages_raw")
    assert raw.body == "".join(f"{line}\n" for line in lines).encode()
    digest = hashlib.md5(raw.body).hexdigest()
    for regex in (PERL_MD5, LUA_MD5):  # the header name in exactly this case, then \r\n
        found = regex.search(raw.head)
        assert found is not None and found.group(1) == digest
    assert f"\r\nContent-Length: {len(raw.body)}\r\n" in raw.head and not raw.chunked
    assert '&lt;all&gt; &amp; \\"you\\"\\nbye' in raw.body.decode()


async def test_the_window_is_the_newest_500_and_the_version_their_sum(node: RunningNode) -> None:
    base = int(time.time()) - 1000
    recs = [make_record("legacy", epoch=base + i, line_id=f"{i + 1:08x}") for i in range(520)]
    results = await node.node.ingestor.submit([r.envelope for r in recs], "legacy:test")
    assert results == ["ok"] * 520
    raw = await cgi(node, "messages_raw")
    got = raw.body.decode().split("\n")[:-1]
    assert got == [r.body["line"] for r in recs[20:]]
    version = await cgi(node, "messages_version")
    assert version.body == str(sum(range(21, 521))).encode()
    md5 = await cgi(node, "messages_md5")
    assert md5.body == hashlib.md5(raw.body).hexdigest().encode()


async def test_errors_are_200_with_text_and_no_browser_headers(node: RunningNode) -> None:
    for answer in (await cgi(node, "bogus"), await cgi(node, "")):
        assert answer.head.startswith("HTTP/1.1 200 ")
        assert answer.body == b"error no action"
        for header in ("Content-Security-Policy", "X-Frame-Options", "Set-Cookie"):
            assert header not in answer.head
        assert "\r\nServer: meshchat\r\n" in answer.head
    bad = await cgi_post(
        node, {"action": "send_message", "message": "x", "call_sign": "not a call"}
    )
    assert bad.head.startswith("HTTP/1.1 200 ")
    reply = json.loads(bad.body)
    assert reply["status"] == 500 and "callsign" in reply["response"]
    # A form too large to read is most likely a send_message: JSON, which the old UI checks.
    huge = await cgi_post(node, {"action": "send_message", "message": "x" * 200_000})
    assert json.loads(huge.body) == {"status": 500, "response": "too large"}
    extra_field = await cgi(node, "messages_raw", padding="x" * 200)
    assert extra_field.head.startswith("HTTP/1.1 200 ")  # unknown fields are ignored
    assert (await cgi_post(node, {"action": "bogus"})).body == b"error no action"


async def test_send_message_posts_through_the_gateway(node: RunningNode) -> None:
    sent = await cgi_post(
        node,
        {
            "action": "send_message",
            "message": "via SMS\nline 2",
            "call_sign": "k1abc",
            "channel": "ops",
            "epoch": "1",
            "id": "deadbeef",
        },
    )
    assert sent.body == b'{"status":200, "response":"OK"}'
    api = ApiClient(node.url)
    try:
        await api.login("W2XYZ")
        [msg] = await api.messages(channel="ops")
    finally:
        await api.close()
    assert (msg["callsign"], msg["text"], msg["node"], msg["verified"]) == (
        "K1ABC",
        "via SMS\nline 2",
        "gw-node",
        "via",
    )
    record = await node.node.store.get_record(bytes.fromhex(msg["id"]))
    assert record is not None and record.body["gateway"] == "legacy"
    raw = await cgi(node, "messages_raw")
    assert f"{msg['id'][:8]}\t" in raw.body.decode()  # our id, not the one the form gave
    assert "\tvia SMS\\nline 2\tK1ABC\tgw-node\tpi\tops\n" in raw.body.decode()


async def test_send_message_can_be_turned_off(tmp_path: Path) -> None:
    node = await start_legacy_node(tmp_path, "closed", legacy__send_message=False)
    try:
        sent = await cgi_post(node, {"action": "send_message", "message": "x", "call_sign": "W1AW"})
        assert json.loads(sent.body)["status"] == 500
        assert await node.node.store.counts() == {ZONE: 1}  # only the node record
    finally:
        await node.stop()


async def test_users_raw_lists_this_nodes_users_and_legacy_ui_browsers(node: RunningNode) -> None:
    api = ApiClient(node.url)
    try:
        await api.login("W1AW")
        tab = await api.http.ws_connect(api.base + "/api/v1/ws")  # present: a tab open
        version = await cgi(
            node, "messages_version_ui", call_sign="k2old", id="b0b0b0b0", epoch="1"
        )
        assert json.loads(version.body) == {"messages_version": 0}
        users = await cgi(node, "users_raw", platform="node", node="somebody")
        lines = users.body.decode().split("\n")
        assert lines[-1] == "" and len(lines) == 3
        cells = sorted(line.split("\t") for line in lines[:-1])
        assert [(c[0], c[2], c[4]) for c in cells] == [
            ("K2OLD", "gw-node", "pi"),
            ("W1AW", "gw-node", "pi"),
        ]
        assert all(re.fullmatch(r"[0-9a-f]{8}", c[1]) and c[3].isdigit() for c in cells)
        assert PERL_MD5.search(users.head).group(1) == hashlib.md5(users.body).hexdigest()  # type: ignore[union-attr]
        listed = json.loads((await cgi(node, "users")).body)
        assert {u["call_sign"] for u in listed} == {"W1AW", "K2OLD"}
        await tab.close()
    finally:
        await api.close()


async def test_files_config_and_the_ui_actions(node: RunningNode) -> None:
    files = await cgi(node, "local_files_raw")
    assert files.body == b"" and LUA_MD5.search(files.head).group(1) == codec.md5_hex(b"")  # type: ignore[union-attr]
    assert (await cgi(node, "file_download", file="../../etc/passwd")).body == b"no file"
    assert (await cgi(node, "file_download")).body == b"no file"
    config = json.loads((await cgi(node, "config")).body)
    assert (config["node"], config["zone"], config["protocol_verison"]) == ("gw-node", ZONE, "1.02")
    await post(node, 'say "hi"\nthere', channel="ops")
    [message] = json.loads((await cgi(node, "messages", call_sign="W1AW", id="x", epoch="1")).body)
    assert (message["message"], message["channel"], message["platform"]) == (
        'say "hi"\nthere',
        "ops",
        "pi",
    )
    assert json.loads((await cgi(node, "files")).body)["files"] == []
    assert json.loads((await cgi(node, "sync_status")).body) == []
    assert json.loads((await cgi(node, "action_log")).body) == []


async def test_a_zone_with_a_secret_has_no_legacy_surface(tmp_path: Path) -> None:
    node = await start_legacy_node(tmp_path, "secret", sync__zone_secret="s3cret of the zone")
    try:
        answer = await cgi(node, "messages_version")
        assert answer.head.startswith("HTTP/1.1 404 ")
    finally:
        await node.stop()
