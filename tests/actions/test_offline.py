"""Contact addresses and ``mention_offline``: an offline user's address reaches the script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.actions.helpers import (
    actions_config,
    finished,
    read,
    rule,
    runner_config,
    script,
    start,
)
from tests.mesh import eventually
from tests.nodes import ApiClient


async def test_contacts_api_is_per_session_and_validated(tmp_path: Path) -> None:
    node = await start(actions_config(tmp_path / "data", []))
    alice, bob = ApiClient(node.url), ApiClient(node.url)
    try:
        assert (await alice.request("GET", "/api/v1/contacts")).status == 401
        await alice.login("W1AW")
        await bob.login("K1ABC")
        no_csrf = await alice.request(
            "POST", "/api/v1/contacts", json={"kind": "sms", "address": "+1555"}, csrf=False
        )
        assert no_csrf.status == 403
        added = await alice.request(
            "POST", "/api/v1/contacts", json={"kind": "sms", "address": "+1 555 123-4567"}
        )
        assert added.status == 201 and added.body["address"] == "+15551234567"
        mail = {"kind": "email", "address": "w1aw@example.org"}
        assert (await alice.request("POST", "/api/v1/contacts", json=mail)).status == 201
        for bad in (
            {"kind": "sms", "address": "call me"},
            {"kind": "email", "address": "x"},
            {"kind": "SMS!", "address": "+1555"},
            {"kind": "sms", "address": "+1\n5"},
        ):
            reply = await alice.request("POST", "/api/v1/contacts", json=bad)
            assert reply.status == 400, (bad, reply)
        mine = await alice.request("GET", "/api/v1/contacts")
        assert mine.body["callsign"] == "W1AW"
        assert [c["kind"] for c in mine.body["contacts"]] == ["sms", "email"]
        theirs = await bob.request("GET", "/api/v1/contacts")
        assert theirs.body["contacts"] == []
        contact_id = added.body["id"]
        assert (await bob.request("DELETE", f"/api/v1/contacts/{contact_id}")).status == 404
        assert (await alice.request("DELETE", f"/api/v1/contacts/{contact_id}")).status == 200
        assert len((await alice.request("GET", "/api/v1/contacts")).body["contacts"]) == 1
        # Contacts are this node's alone: nothing about them is in the replicated log.
        assert not [e async for e in node.node.store.export("MeshChat") if b"example.org" in e[0]]
    finally:
        await alice.close()
        await bob.close()
        await node.stop()


async def test_an_offline_users_contact_reaches_the_mention_offline_script(
    tmp_path: Path,
) -> None:
    seen = tmp_path / "seen.json"
    cmd = script(
        tmp_path / "notify.sh", f'cat > "{seen}"\nprintf "%s" "$MESHCHAT_CONTACTS" > "{seen}.env"\n'
    )
    runner = runner_config(offline_after_s=0.2)
    rules = [rule("tell", [str(cmd)], on="mention_offline", callsign=("K1ABC",))]
    node = await start(actions_config(tmp_path / "data", rules, runner=runner))
    away, talker = ApiClient(node.url), ApiClient(node.url)
    try:
        await away.login("K1ABC")
        contact = {"kind": "sms", "address": "+15551234567"}
        assert (await away.request("POST", "/api/v1/contacts", json=contact)).status == 201
        await away.request("POST", "/api/v1/logout")
        await talker.login("W1AW")
        reply = await talker.post("@K1ABC the net starts at 19:00", channel="ops")
        await talker.post("@N0CALL has no contacts here", channel="ops")
        (run,) = await finished(node)
        assert run["state"] == "ok" and run["target"] == "K1ABC"
        payload = json.loads(seen.read_text())
        assert payload["event"] == "mention_offline" and payload["id"] == reply.body["id"]
        assert payload["target"] == "K1ABC" and payload["callsign"] == "W1AW"
        assert payload["contacts"] == [{"kind": "sms", "address": "+15551234567"}]
        assert read(f"{seen}.env") == "sms:+15551234567"
    finally:
        await away.close()
        await talker.close()
        await node.stop()


async def test_no_notice_to_someone_online_or_back_in_time(tmp_path: Path) -> None:
    cmd = script(tmp_path / "notify.sh", "cat >/dev/null\n")
    runner = runner_config(offline_after_s=0.3)
    rules = [rule("tell", [str(cmd)], on="mention_offline")]
    node = await start(actions_config(tmp_path / "data", rules, runner=runner))
    user, talker = ApiClient(node.url), ApiClient(node.url)
    try:
        await user.login("K1ABC")
        # Online means a tab open (a live socket), not a login through the API.
        tab = await user.http.ws_connect(user.base + "/api/v1/ws")
        contact = {"kind": "email", "address": "k1abc@example.org"}
        await user.request("POST", "/api/v1/contacts", json=contact)
        await talker.login("W1AW")
        said = await talker.post("@K1ABC you are online", channel="ops")  # online: no notice
        seq = (await node.node.store.changes("MeshChat", 0, 1000))[-1][0]
        assert said.status == 201

        async def read_by_the_runner() -> bool:
            return node.node.actions._cursor >= seq

        await eventually(read_by_the_runner, 5.0, "the mention read while K1ABC is online")
        await tab.close()
        await user.request("POST", "/api/v1/logout")
        await talker.post("direct, while you are away", to="K1ABC", channel="")
        await user.login("K1ABC")  # back before the notice is due
        tab = await user.http.ws_connect(user.base + "/api/v1/ws")
        (run,) = await finished(node)
        await tab.close()
        assert run["state"] == "skipped" and "came back online" in run["detail"]
        assert run["event"] == "mention_offline"
    finally:
        await user.close()
        await talker.close()
        await node.stop()
