"""The runner on a real node: once and only once, retries, rate, staleness, legacy rules."""

from __future__ import annotations

import json
from pathlib import Path

from meshchat import app
from meshchat.clock import wall_ms
from meshchat.records import Record
from tests import factories
from tests.actions.helpers import (
    actions_config,
    finished,
    read,
    rule,
    runner_config,
    runs,
    script,
    start,
    wait_for,
)
from tests.nodes import ApiClient


def appender(tmp_path: Path, name: str = "log.sh", extra: str = "") -> tuple[Path, Path]:
    """A script that appends ``$MESHCHAT_RULE $MESHCHAT_ID`` to a file; return both paths."""
    out = tmp_path / f"{name}.out"
    body = f'printf "%s %s\\n" "$MESHCHAT_RULE" "$MESHCHAT_ID" >> "{out}"\n{extra}'
    return script(tmp_path / name, body), out


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def posted(node: app.RunningNode, text: str, channel: str = "ops") -> str:
    client = ApiClient(node.url)
    try:
        await client.login("W1AW")
        reply = await client.post(text, channel=channel)
        assert reply.status == 201, reply
        return str(reply.body["id"])
    finally:
        await client.close()


async def test_a_match_fires_once_and_only_once_across_restarts_and_resyncs(
    tmp_path: Path,
) -> None:
    cmd, out = appender(tmp_path)
    cfg = actions_config(tmp_path / "data", [rule("ops", [str(cmd)], channel=("ops",))])
    node = await start(cfg)
    try:
        first = await posted(node, "hello ops")
        await posted(node, "elsewhere", channel="chat")
        (run,) = await finished(node)
        assert run["state"] == "ok" and run["exit_status"] == 0 and run["attempts"] == 1
        assert run["record"]["id"] == first and run["duration_ms"] is not None
        record = await node.node.store.get_record(bytes.fromhex(first))
        assert record is not None
        envelope = [(record.signed, record.sig)]
        # The same record again, as a peer's push and as an import: a duplicate.
        assert await node.node.ingestor.submit(envelope, "peer:ab") == ["dup"]
        assert await node.node.ingestor.submit(envelope, "import") == ["dup"]
    finally:
        await node.stop()
    node = await start(cfg)
    try:
        second = await posted(node, "after the restart")
        await finished(node, 2)
        assert lines(out) == [f"ops {first}", f"ops {second}"]
        assert len(await runs(node)) == 2
    finally:
        await node.stop()


async def test_records_are_read_from_the_cursor_after_a_restart(tmp_path: Path) -> None:
    """A record stored while the runner was not running is still run after the restart."""
    cmd, out = appender(tmp_path)
    cfg = actions_config(tmp_path / "data", [rule("all", [str(cmd)])])
    node = await start(cfg)
    await node.stop()  # the cursor now exists
    stopped = await app.open_node(cfg)
    try:
        record = factories.make_record("msg", channel="ops", text="while down")
        assert await stopped.ingestor.submit([(record.signed, record.sig)], "import") == ["ok"]
    finally:
        await app.close_node(stopped)
    node = await start(cfg)
    try:
        (run,) = await finished(node)
        assert run["record"]["id"] == record.id_hex
        assert lines(out) == [f"all {record.id_hex}"]
    finally:
        await node.stop()


async def test_a_failing_script_is_retried_with_backoff_then_logged_failed(
    tmp_path: Path,
) -> None:
    cmd, out = appender(tmp_path, extra='echo "no modem" >&2\nexit 3\n')
    cfg = actions_config(tmp_path / "data", [rule("flaky", [str(cmd)], retries=2)])
    node = await start(cfg)
    try:
        record_id = await posted(node, "try me")
        (run,) = await finished(node)
        assert run["state"] == "failed" and run["attempts"] == 3
        assert run["exit_status"] == 3 and run["detail"] == "exit status 3"
        assert "no modem" in run["output"]
        assert lines(out) == [f"flaky {record_id}"] * 3
    finally:
        await node.stop()


async def test_a_missing_command_fails_without_retries(tmp_path: Path) -> None:
    cfg = actions_config(tmp_path / "data", [rule("gone", [str(tmp_path / "nope")], retries=5)])
    node = await start(cfg)
    try:
        await posted(node, "x")
        (run,) = await finished(node)
        assert run["state"] == "failed" and run["attempts"] == 1
        assert run["exit_status"] is None and "cannot run" in run["detail"]
    finally:
        await node.stop()


async def test_the_text_reaches_the_script_only_as_data(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    text = f"; rm -rf / ; $(touch {marker}) `touch {marker}` && echo $HOME"
    seen = tmp_path / "seen.json"
    cmd = script(
        tmp_path / "show.sh", f'cat > "{seen}"\nprintf "%s" "$MESHCHAT_TEXT" > "{seen}.env"\n'
    )
    cfg = actions_config(tmp_path / "data", [rule("show", [str(cmd)], match=r"rm -rf")])
    node = await start(cfg)
    try:
        record_id = await posted(node, text)
        (run,) = await finished(node)
        assert run["state"] == "ok"
        payload = json.loads(seen.read_text())
        assert payload["text"] == text and payload["id"] == record_id
        assert payload["event"] == "message" and payload["rule"] == "show"
        assert payload["callsign"] == "W1AW" and payload["verified"] == "via"
        assert payload["origin"] == "local" and payload["channel"] == "ops"
        assert read(f"{seen}.env") == text
        assert not marker.exists()
    finally:
        await node.stop()


async def test_a_backlog_waits_for_the_rate_limit(tmp_path: Path) -> None:
    cmd, _ = appender(tmp_path)
    runner = runner_config(rate_per_minute=2)
    cfg = actions_config(tmp_path / "data", [rule("slow", [str(cmd)])], runner=runner)
    node = await start(cfg)
    try:
        for i in range(4):
            await posted(node, f"burst {i}")
        await finished(node, 2)

        async def four() -> list[str] | None:
            states = sorted(r["state"] for r in await runs(node))
            return states if len(states) == 4 else None

        # The rest waits its turn (a token every 30 s), queued in the store.
        assert await wait_for(four, "four runs") == ["ok", "ok", "queued", "queued"]
        assert node.node.actions.rules_json()[0]["name"] == "slow"
    finally:
        await node.stop()


async def test_an_old_record_does_not_fire(tmp_path: Path) -> None:
    cmd, out = appender(tmp_path)
    runner = runner_config(max_age_s=60, offline_after_s=30)
    cfg = actions_config(tmp_path / "data", [rule("fresh", [str(cmd)])], runner=runner)
    node = await start(cfg)
    try:
        old = factories.make_record("msg", ts=wall_ms() - 7_200_000, channel="ops")
        new = factories.make_record("msg", channel="ops", text="now")
        assert await node.node.ingestor.submit(
            [(old.signed, old.sig), (new.signed, new.sig)], "peer:ab"
        ) == ["ok", "ok"]
        (run,) = await finished(node)
        assert run["record"]["id"] == new.id_hex
        assert node.node.actions.stale["fresh"] == 1
        assert lines(out) == [f"fresh {new.id_hex}"]
    finally:
        await node.stop()


async def test_origin_filters_local_from_remote(tmp_path: Path) -> None:
    cmd, out = appender(tmp_path)
    rules = [rule("mine", [str(cmd)], origin="local"), rule("theirs", [str(cmd)], origin="remote")]
    node = await start(actions_config(tmp_path / "data", rules))
    try:
        local_id = await posted(node, "from here")
        remote: Record = factories.make_record("msg", channel="ops", text="from a peer")
        assert await node.node.ingestor.submit([(remote.signed, remote.sig)], "peer:ab") == ["ok"]
        await finished(node, 2)
        assert sorted(lines(out)) == sorted([f"mine {local_id}", f"theirs {remote.id_hex}"])
    finally:
        await node.stop()


async def test_a_legacy_rule_gets_the_message_as_a_tsv_line_file(tmp_path: Path) -> None:
    copy = tmp_path / "line.txt"
    cmd = script(tmp_path / "legacy.sh", f'cp "$1" "{copy}"\n')
    legacy = tmp_path / "meshchat_actions.conf"
    legacy.write_text(f"# old rules\nops:#sms:{cmd}:5\n", encoding="utf-8")
    runner = runner_config(legacy_file=str(legacy))
    node = await start(actions_config(tmp_path / "data", [], runner=runner))
    try:
        await posted(node, "no tag here")
        record_id = await posted(node, 'please #sms "them"\nnow')
        (run,) = await finished(node)
        assert run["rule"] == "legacy:2" and run["state"] == "ok"
        fields = copy.read_text().rstrip("\n").split("\t")
        assert fields[0] == record_id[:8]
        assert fields[2:] == ['please #sms \\"them\\"\\nnow', "W1AW", "test-node", "pi", "ops"]
    finally:
        await node.stop()


async def test_actions_log_and_status_show_the_runs(tmp_path: Path) -> None:
    cmd, _ = appender(tmp_path, extra="echo sent\n")
    node = await start(actions_config(tmp_path / "data", [rule("show", [str(cmd)])]))
    client = ApiClient(node.url)
    try:
        await posted(node, "visible")
        await finished(node)
        reply = await client.request("GET", "/api/v1/actions")
        assert reply.status == 200
        (run,) = reply.body["runs"]
        assert run["rule"] == "show" and run["output"] == "sent\n"
        assert run["record"]["text"] == "visible" and run["record"]["callsign"] == "W1AW"
        assert {"started_at", "finished_at", "duration_ms", "exit_status"} <= set(run)
        assert reply.body["rules"][0]["command"] == [str(cmd)]
        status = await client.request("GET", "/api/v1/status")
        assert status.body["actions"]["rules"] == ["show"]
        assert status.body["actions"]["runs"][0]["run"] == run["run"]
        bad = await client.request("GET", "/api/v1/actions", params={"limit": "0"})
        assert bad.status == 400 and bad.body["error"] == "bad_limit"
        none = await client.request("GET", "/api/v1/actions", params={"state": "failed"})
        assert none.body["runs"] == []
    finally:
        await client.close()
        await node.stop()


async def test_a_node_without_rules_runs_no_loop(tmp_path: Path) -> None:
    node = await start(actions_config(tmp_path / "data", []))
    try:
        assert not node.node.actions.rules
        names = {t.get_name() for t in node.node.tasks._tasks}
        assert "actions" not in names
    finally:
        await node.stop()
    await wait_for(lambda: True, "nothing")
