"""The JSON API against a real node on 127.0.0.1: login, posting, reading, editing."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshchat.app import RunningNode
from tests.nodes import ApiClient, start_node


async def test_status_is_ready_with_node_and_zone(node: RunningNode, client: ApiClient) -> None:
    reply = await client.request("GET", "/api/v1/status")
    assert reply.status == 200
    assert reply.body["node"]["name"] == "test-node"
    assert reply.body["node"]["key"] == node.node.key_hex
    # The node announces itself with a signed `node` record on first start.
    assert reply.body["zones"] == [{"name": "MeshChat", "count": 1}]
    assert reply.body["rejects"] == {}
    assert reply.body["uptime_s"] >= 0


async def test_login_normalises_callsign_and_sets_a_strict_cookie(
    node: RunningNode, client: ApiClient
) -> None:
    async with client.http.post(
        client.base + "/api/v1/login", json={"callsign": "  w1aw "}
    ) as resp:
        assert resp.status == 200
        body = await resp.json()
        cookie = resp.headers["Set-Cookie"]
    assert body["callsign"] == "W1AW"
    assert body["key"] == node.node.key_hex  # callsign only: signed "via" the node key
    assert body["via_node"] is True
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


async def test_passphrase_login_gives_the_same_user_key_every_time(client: ApiClient) -> None:
    first = await client.login("K1ABC", "correct horse")
    second = await client.login("k1abc", "correct horse")
    other = await client.login("K1ABC", "another passphrase")
    assert first.body["key"] == second.body["key"] != other.body["key"]
    assert first.body["via_node"] is False


async def test_session_survives_and_logout_ends_it(client: ApiClient) -> None:
    assert (await client.request("GET", "/api/v1/session")).status == 401
    await client.login("W1AW")
    assert (await client.request("GET", "/api/v1/session")).body["callsign"] == "W1AW"
    assert (await client.request("POST", "/api/v1/logout")).status == 200
    assert (await client.request("GET", "/api/v1/session")).status == 401
    assert (await client.post("after logout")).status == 401


async def test_post_needs_login_then_csrf(client: ApiClient) -> None:
    assert (await client.post("hi")).status == 401
    await client.login("W1AW")
    no_token = await client.request(
        "POST", "/api/v1/messages", json={"channel": "", "text": "hi"}, csrf=False
    )
    assert no_token.status == 403
    wrong = await client.request(
        "POST",
        "/api/v1/messages",
        json={"channel": "", "text": "hi"},
        csrf=False,
        headers={"X-CSRF-Token": "not-the-token"},
    )
    assert wrong.status == 403
    assert (await client.post("hi")).status == 201


async def test_posted_message_reads_back_with_every_field(
    node: RunningNode, client: ApiClient
) -> None:
    await client.login("W1AW")
    created = await client.post("hello @k1abc, see you", channel="ops", geo=[42.5, -71.25])
    assert created.status == 201
    [msg] = await client.messages(channel="ops")
    assert msg["id"] == created.body["id"]
    assert msg["callsign"] == "W1AW"
    assert msg["text"] == "hello @k1abc, see you"
    assert msg["channel"] == "ops"
    assert msg["zone"] == "MeshChat"
    assert msg["node"] == "test-node"
    assert msg["author"] == node.node.key_hex
    assert msg["verified"] == "via"
    assert msg["mentions"] == ["K1ABC"]
    assert msg["geo"] == [42_500_000, -71_250_000]
    assert msg["edited"] is None and msg["deleted"] is False
    assert msg["reply_to"] is None and msg["to"] is None
    assert msg["reactions"] == []


async def test_reply_edit_delete_and_react(client: ApiClient, tmp_path: Path) -> None:
    await client.login("W1AW", "passphrase one")
    first = (await client.post("original")).body["id"]
    reply = await client.post("an answer", reply_to=first)
    assert reply.status == 201
    edit = await client.request("PATCH", f"/api/v1/messages/{first}", json={"text": "fixed"})
    assert edit.status == 201
    react = await client.request(
        "POST", f"/api/v1/messages/{first}/reactions", json={"emoji": "👍"}
    )
    assert react.status == 201
    by_id = {m["id"]: m for m in await client.messages()}
    assert by_id[first]["text"] == "fixed"
    assert by_id[first]["edited"] is not None
    assert by_id[first]["verified"] == "key"
    assert [r["emoji"] for r in by_id[first]["reactions"]] == ["👍"]
    assert by_id[reply.body["id"]]["reply_to"] == first

    retract = await client.request("DELETE", f"/api/v1/reactions/{react.body['id']}")
    assert retract.status == 201
    gone = await client.request("DELETE", f"/api/v1/messages/{first}")
    assert gone.status == 201
    by_id = {m["id"]: m for m in await client.messages()}
    assert by_id[first]["deleted"] is True
    assert by_id[first]["text"] == ""
    assert by_id[first]["reactions"] == []


async def test_only_the_author_may_edit_or_delete(node: RunningNode, client: ApiClient) -> None:
    await client.login("W1AW")
    mine = (await client.post("mine")).body["id"]
    other = ApiClient(node.url)
    try:
        # Same node key (both "via" the node), different callsign: still not the author.
        await other.login("K1ABC")
        edit = await other.request("PATCH", f"/api/v1/messages/{mine}", json={"text": "x"})
        assert edit.status == 403
        assert (await other.request("DELETE", f"/api/v1/messages/{mine}")).status == 403
        await other.login("K1ABC", "own key")
        assert (await other.request("DELETE", f"/api/v1/messages/{mine}")).status == 403
    finally:
        await other.close()
    assert [m["text"] for m in await client.messages()] == ["mine"]


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        ({"channel": "", "text": "x", "colour": "red"}, 400, "unknown_fields"),
        ({"channel": "", "text": 5}, 400, "bad_type"),
        ({"channel": 3, "text": "x"}, 400, "bad_channel"),
        ({"channel": "a\tb", "text": "x"}, 400, "bad_channel"),
        ({"text": "x"}, 400, "missing_field"),
        ({"channel": "", "text": "   "}, 400, "empty"),
        ({"channel": "", "text": "x", "reply_to": "not-hex"}, 400, "bad_id"),
        ({"channel": "", "text": "x", "reply_to": "ab" * 32}, 404, "unknown_reply_to"),
        ({"channel": "", "text": "x", "to": "W1AW\nEVIL"}, 400, "bad_callsign"),
        ({"channel": "", "text": "x", "zone": "Elsewhere"}, 404, "unknown_zone"),
        ({"channel": "", "text": "x", "geo": [91, 0]}, 400, "bad_geo"),
        ({"channel": "", "text": "x" * (30 * 1024 + 1)}, 413, "too_large"),
        ([1, 2, 3], 400, "bad_json"),
    ],
)
async def test_bad_post_input_is_a_4xx_with_a_reason(
    client: ApiClient, payload: object, status: int, error: str
) -> None:
    await client.login("W1AW")
    reply = await client.request("POST", "/api/v1/messages", json=payload)
    assert (reply.status, reply.body["error"]) == (status, error)
    assert reply.body["detail"]
    assert await client.messages() == []
    assert (await client.request("GET", "/api/v1/status")).status == 200


async def test_malformed_json_and_wrong_content_type(client: ApiClient) -> None:
    await client.login("W1AW")
    bad = await client.request(
        "POST",
        "/api/v1/messages",
        data=b'{"channel": "", "text": ',
        headers={"Content-Type": "application/json"},
    )
    assert (bad.status, bad.body["error"]) == (400, "bad_json")
    form = await client.request("POST", "/api/v1/messages", data={"channel": "", "text": "x"})
    assert form.status == 415
    huge = await client.request(
        "POST",
        "/api/v1/messages",
        data=b"x" * (1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert huge.status == 413


@pytest.mark.parametrize("callsign", ["W1AW\x07", "W1AW\nX", "", "W1 AW", "/W1AW", "A" * 21, 7])
async def test_bad_callsigns_are_refused_at_login(client: ApiClient, callsign: object) -> None:
    reply = await client.request("POST", "/api/v1/login", json={"callsign": callsign})
    assert reply.status == 400
    assert reply.body["detail"]


async def test_paging_before_after_and_limits(client: ApiClient) -> None:
    await client.login("W1AW")
    ids = [(await client.post(f"m{i}")).body["id"] for i in range(7)]
    newest = await client.messages(limit=3)
    assert [m["id"] for m in newest] == ids[4:]
    older = await client.messages(limit=3, before=ids[4])
    assert [m["id"] for m in older] == ids[1:4]
    newer = await client.messages(limit=2, after=ids[1])
    assert [m["id"] for m in newer] == ids[2:4]
    for params in (
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "x"},
        {"before": "zz"},
        {"since": "2y"},
        {"before": ids[0], "after": ids[1]},
        {"page": "2"},
    ):
        reply = await client.request("GET", "/api/v1/messages", params=params)
        assert reply.status == 400, params


async def test_since_and_search(client: ApiClient) -> None:
    await client.login("W1AW")
    await client.post("generator fuel is low")
    await client.post("water delivered to the shelter")
    assert [m["text"] for m in await client.messages(q="fuel")] == ["generator fuel is low"]
    assert await client.messages(q='"; DROP TABLE records; --') == []
    assert len(await client.messages(since="1d")) == 2


async def test_direct_messages_only_in_the_conversation(
    node: RunningNode, client: ApiClient
) -> None:
    await client.login("W1AW")
    await client.post("public")
    await client.post("just for you", to="K1ABC")
    assert [m["text"] for m in await client.messages()] == ["public"]
    [dm] = await client.messages(dm="K1ABC")
    assert (dm["text"], dm["to"]) == ("just for you", "K1ABC")
    anonymous = ApiClient(node.url)
    try:
        reply = await anonymous.request("GET", "/api/v1/messages", params={"dm": "K1ABC"})
        assert reply.status == 401
    finally:
        await anonymous.close()


async def test_channels_list_and_create(client: ApiClient) -> None:
    await client.login("W1AW")
    await client.post("in ops", channel="ops")
    created = await client.request(
        "POST", "/api/v1/channels", json={"name": "net", "topic": "Sunday net"}
    )
    assert created.status == 201
    reply = await client.request("GET", "/api/v1/channels")
    channels = {c["name"]: c for c in reply.body["channels"]}
    assert channels["ops"]["count"] == 1
    assert channels["net"]["topic"] == "Sunday net"
    bad = await client.request("POST", "/api/v1/channels", json={"name": "x", "topic": "a\x00"})
    assert bad.status == 400


async def test_login_is_rate_limited(tmp_path: Path) -> None:
    node = await start_node(tmp_path / "d", web__login_attempts_per_minute=3)
    api = ApiClient(node.url)
    try:
        statuses = [(await api.login("W1AW")).status for _ in range(5)]
    finally:
        await api.close()
        await node.stop()
    assert statuses == [200, 200, 200, 429, 429]


async def test_ui_path_answers_with_security_headers(client: ApiClient) -> None:
    async with client.http.get(client.base + "/") as resp:
        assert resp.status == 200
        assert resp.url.path == "/meshchat/"
        csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


async def test_reactions_carry_the_ids_that_retract_them(client: ApiClient) -> None:
    await client.login("W1AW")
    target = (await client.post("react to me")).body["id"]
    path = f"/api/v1/messages/{target}/reactions"
    first = await client.request("POST", path, json={"emoji": "73"})
    again = await client.request("POST", path, json={"emoji": "73"})
    assert (first.status, again.status) == (201, 200)
    assert again.body["id"] == first.body["id"]  # no second reaction record
    [msg] = await client.messages()
    assert msg["reactions"] == [
        {"emoji": "73", "count": 1, "callsigns": ["W1AW"], "ids": [first.body["id"]]}
    ]
    assert (await client.request("DELETE", f"/api/v1/reactions/{first.body['id']}")).status == 201
    [msg] = await client.messages()
    assert msg["reactions"] == []


async def test_thread_lists_the_root_and_its_replies(node: RunningNode, client: ApiClient) -> None:
    await client.login("W1AW")
    root = (await client.post("net tonight?")).body["id"]
    await client.post("unrelated")
    answers = [(await client.post(f"yes {i}", reply_to=root)).body["id"] for i in range(3)]
    private = (await client.post("only for K1ABC", reply_to=root, to="K1ABC")).body["id"]
    reply = await client.request("GET", "/api/v1/messages", params={"thread": root})
    assert [m["id"] for m in reply.body["messages"]] == [root, *answers, private]
    stranger = ApiClient(node.url)
    try:
        await stranger.login("N0CALL")
        seen = await stranger.request("GET", "/api/v1/messages", params={"thread": root})
        assert [m["id"] for m in seen.body["messages"]] == [root, *answers]
    finally:
        await stranger.close()
    bad = await client.request("GET", "/api/v1/messages", params={"thread": root, "q": "x"})
    assert bad.status == 400


async def test_direct_message_conversations(client: ApiClient) -> None:
    assert (await client.request("GET", "/api/v1/dms")).status == 401
    await client.login("W1AW")
    await client.post("one", to="K1ABC")
    await client.post("two", to="K1ABC")
    await client.post("three", to="N0CALL")
    reply = await client.request("GET", "/api/v1/dms")
    found = {c["callsign"]: c["count"] for c in reply.body["conversations"]}
    assert found == {"K1ABC": 2, "N0CALL": 1}
    assert reply.body["conversations"][0]["callsign"] == "N0CALL"  # newest first


async def test_ui_files_carry_an_etag_and_revalidate_with_a_304(client: ApiClient) -> None:
    async with client.http.get(client.base + "/meshchat/app.js") as resp:
        assert resp.status == 200
        etag = resp.headers["ETag"]
        body = await resp.read()
    assert body
    headers = {"If-None-Match": etag}
    async with client.http.get(client.base + "/meshchat/app.js", headers=headers) as resp:
        assert resp.status == 304
        assert await resp.read() == b""
    async with client.http.get(client.base + "/meshchat/", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 200  # another file, another tag
        assert resp.headers["Cache-Control"] == "no-cache"


async def test_the_advertised_path_answers_200_for_arednss_service_check(
    client: ApiClient,
) -> None:
    async with client.http.get(client.base + "/meshchat", allow_redirects=False) as resp:
        assert resp.status == 200
        assert "/meshchat/" in await resp.text()
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
