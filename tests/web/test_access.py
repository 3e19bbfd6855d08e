"""Restricted channels through the API: who sees, posts, searches and counts what (DESIGN §10)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from meshchat.app import RunningNode
from tests.nodes import ApiClient, Reply

PASS = "correct horse battery staple"


@dataclass
class Team:
    owner: ApiClient  # W1AW, founds #ops
    member: ApiClient  # K1ABC, invited
    stranger: ApiClient  # N0CALL, a key of its own, not invited
    via: ApiClient  # KD0VIA, callsign only


async def channels(api: ApiClient) -> dict[str, dict[str, Any]]:
    reply = await api.request("GET", "/api/v1/channels")
    assert reply.status == 200, reply
    return {c["name"]: c for c in reply.body["channels"]}


async def create(api: ApiClient, **body: Any) -> Reply:
    return await api.request("POST", "/api/v1/channels", json=body)


@pytest.fixture
async def team(node: RunningNode) -> AsyncIterator[Team]:
    """Four browsers: the owner of a restricted #ops, its member, a stranger, a via login."""
    made = Team(*(ApiClient(node.url) for _ in range(4)))
    await made.owner.login("W1AW", PASS)
    await made.member.login("K1ABC", PASS)
    await made.stranger.login("N0CALL", PASS)
    await made.via.login("KD0VIA")
    for api in (made.member, made.stranger):
        assert (await api.post("hello, I have a key")).status == 201  # binds the callsign
    reply = await create(made.owner, name="ops", topic="team", restricted=True, members=["K1ABC"])
    assert reply.status == 201, reply
    yield made
    for api in (made.owner, made.member, made.stranger, made.via):
        await api.close()


async def test_only_members_list_read_and_post_in_a_restricted_channel(team: Team) -> None:
    ops = (await channels(team.member))["ops"]
    assert ops["restricted"] is True and ops["topic"] == "team"
    assert ops["members"] == ["K1ABC", "W1AW"]
    assert ops["roles"] == {"W1AW": "owner", "K1ABC": "member"}
    assert ops["you"] == "member" and (await channels(team.owner))["ops"]["you"] == "owner"
    for outsider in (team.stranger, team.via):
        assert "ops" not in await channels(outsider)

    assert (await team.member.post("for the team", channel="ops")).status == 201
    refused = await team.stranger.post("let me in", channel="ops")
    assert refused.status == 403 and refused.body["error"] == "not_member"
    assert "invite" in refused.body["detail"]
    via = await team.via.post("me too", channel="ops")
    assert via.status == 403 and via.body["error"] == "key_required"
    assert "passphrase" in via.body["detail"]

    read = await team.stranger.request("GET", "/api/v1/messages", params={"channel": "ops"})
    assert read.status == 403 and read.body["error"] == "not_member"
    read = await team.via.request("GET", "/api/v1/messages", params={"channel": "ops"})
    assert read.status == 403 and read.body["error"] == "key_required"
    assert [m["text"] for m in await team.member.messages(channel="ops")] == ["for the team"]


async def test_a_non_member_finds_counts_and_threads_nothing_of_it(team: Team) -> None:
    secret = await team.member.post("zebra crossing at the depot", channel="ops")
    await team.stranger.post("zebra seen in the park")
    reply = await team.owner.post("zebra again", channel="ops", reply_to=secret.body["id"])
    assert reply.status == 201
    for outsider in (team.stranger, team.via):
        texts = [m["text"] for m in await outsider.messages()]
        assert texts and not any("depot" in t or "again" in t for t in texts)
        found = await outsider.request("GET", "/api/v1/messages", params={"q": "zebra"})
        assert [m["text"] for m in found.body["messages"]] == ["zebra seen in the park"]
        assert found.body["total"] == 1
        scoped = await outsider.request("GET", "/api/v1/messages", params={"q": "in:#ops zebra"})
        assert scoped.status == 403
        thread = await outsider.messages(thread=secret.body["id"])
        assert thread == []
        unread = await outsider.request("POST", "/api/v1/unread", json={"floor": 0})
        assert "ops" not in unread.body["channels"]
        answer = await outsider.post("re", reply_to=secret.body["id"])
        assert answer.status == 404
        react = await outsider.request(
            "POST", f"/api/v1/messages/{secret.body['id']}/reactions", json={"emoji": "+1"}
        )
        assert react.status == 404
    found = await team.member.request("GET", "/api/v1/messages", params={"q": "zebra"})
    assert found.body["total"] == 3
    unread = await team.member.request("POST", "/api/v1/unread", json={"floor": 0})
    assert unread.body["channels"]["ops"] == 1  # the other's reply; its own is not unread


async def test_posts_by_non_members_are_shown_nowhere(node: RunningNode, team: Team) -> None:
    # A node signs for a callsign-only user: such a post in #ops (from an old or a
    # modified node) is not shown, not even to members.
    signer = node.node.outbox.via_node("KD0VIA")
    await node.node.outbox.message(signer, "MeshChat", "ops", "injected")
    await team.member.post("real", channel="ops")
    assert [m["text"] for m in await team.owner.messages(channel="ops")] == ["real"]
    assert [m["text"] for m in await team.owner.messages() if m["channel"] == "ops"] == ["real"]


async def test_founding_refusals_say_why(team: Team) -> None:
    via = await create(team.via, name="nets", restricted=True)
    assert via.status == 403 and via.body["error"] == "key_required"
    unbound = await create(team.owner, name="nets", restricted=True, members=["W9NEW"])
    assert unbound.status == 409 and unbound.body["error"] == "not_bound"
    assert "passphrase" in unbound.body["detail"]
    await team.stranger.post("busy here", channel="busy")
    taken = await create(team.owner, name="busy", restricted=True)
    assert taken.status == 409 and taken.body["error"] == "channel_in_use"
    # A callsign-only login still founds a public channel, as before.
    assert (await create(team.via, name="chat", topic="open")).status == 201
    assert (await channels(team.stranger))["chat"]["restricted"] is False


async def test_owner_operator_and_member_rights(team: Team) -> None:
    members = "/api/v1/channels/ops/members"
    made = await team.owner.request(
        "POST", members, json={"callsign": "N0CALL", "role": "operator"}
    )
    assert made.status == 201
    ops = (await channels(team.stranger))["ops"]
    assert ops["roles"]["N0CALL"] == "operator" and ops["you"] == "operator"
    # The operator sets the topic and kicks a member, but names no operator and never
    # removes the owner.
    assert (await create(team.stranger, name="ops", topic="by the operator")).status == 201
    promote = await team.stranger.request(
        "POST", members, json={"callsign": "K1ABC", "role": "operator"}
    )
    assert promote.status == 403 and promote.body["error"] == "not_channel_owner"
    owner_out = await team.stranger.request("DELETE", members + "/W1AW")
    assert owner_out.status == 403
    opened = await create(team.stranger, name="ops", restricted=False)
    assert opened.status == 403 and opened.body["error"] == "not_channel_owner"
    # A plain member changes nothing.
    topic = await create(team.member, name="ops", topic="mine")
    assert topic.status == 403 and topic.body["error"] == "not_channel_owner"
    again = await team.owner.request("POST", members, json={"callsign": "K1ABC"})
    assert again.status == 200 and again.body["unchanged"] is True
    kicked = await team.stranger.request("DELETE", members + "/K1ABC")
    assert kicked.status == 201
    assert "ops" not in await channels(team.member)
    assert (await channels(team.owner))["ops"]["topic"] == "by the operator"
    missing = await team.stranger.request("DELETE", members + "/K1ABC")
    assert missing.status == 404


async def test_a_kicked_member_sees_no_new_message_and_its_old_posts_stay(team: Team) -> None:
    before = await team.member.post("posted while a member", channel="ops")
    assert before.status == 201
    kick = await team.owner.request("DELETE", "/api/v1/channels/ops/members/K1ABC")
    assert kick.status == 201
    await team.owner.post("after the kick", channel="ops")
    read = await team.member.request("GET", "/api/v1/messages", params={"channel": "ops"})
    assert read.status == 403
    texts = [m["text"] for m in await team.member.messages()]
    assert "after the kick" not in texts and "posted while a member" not in texts
    # What it posted before the kick stays in the channel's history.
    shown = [m["text"] for m in await team.owner.messages(channel="ops")]
    assert shown == ["posted while a member", "after the kick"]
    refused = await team.member.post("still here?", channel="ops")
    assert refused.status == 403
