"""The bundled gateway scripts, run by the same runner, against fakes in tmp_path."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from meshchat.actionconfig import GatewaySender
from meshchat.actions.rules import resolve_command
from meshchat.actions.runner import Outcome, run_command
from meshchat.app import RunningNode
from meshchat.store.models import MessageQuery
from tests.actions.helpers import TOKEN, actions_config, event, read, script, start

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


async def bundled(
    argv: list[str], payload: dict[str, Any] | None = None, env: dict[str, str] | None = None
) -> Outcome:
    """Run ``meshchat:NAME ...`` the way a rule does; fail the test on a non-zero exit."""
    stdin = json.dumps(payload).encode() if payload is not None else b""
    outcome = await run_command(
        resolve_command(argv, "test"), stdin, {**ENV, **(env or {})}, 20, 10_000
    )
    assert outcome.ok, outcome.output(10_000)
    return outcome


def recorder(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A fake binary that writes one argument a line, then its stdin, into a file."""
    out = tmp_path / f"{name}.calls"
    body = f'for a in "$@"; do printf "%s\\n" "$a"; done >> "{out}"\ncat >> "{out}.stdin"\n'
    return script(tmp_path / name, body), out


def payload(**fields: Any) -> dict[str, Any]:
    return event(**fields).to_json("test")


async def test_sms_out_through_a_fake_gammu_smsd_inject(tmp_path: Path) -> None:
    inject, calls = recorder(tmp_path, "gammu-smsd-inject")
    ev = payload(text="storm; $(reboot) at 6", contacts=(("sms", "+15550001111"),))
    argv = ["meshchat:sms", "send", "--inject", str(inject), "--to", "+15559998888", "--contacts"]
    outcome = await bundled(argv, ev)
    assert outcome.stdout == b"queued 2 SMS via gammu\n"
    sent = calls.read_text().splitlines()
    text = "W1AW #ops: storm; $(reboot) at 6"
    assert sent == ["TEXT", "+15559998888", "-text", text, "TEXT", "+15550001111", "-text", text]


async def test_long_and_non_ascii_sms_and_no_echo_of_sms_traffic(tmp_path: Path) -> None:
    inject, calls = recorder(tmp_path, "gammu-smsd-inject")
    argv = ["meshchat:sms", "send", "--inject", str(inject), "--to", "+1555"]
    await bundled(argv, payload(text="ü" * 200, channel=""))
    sent = calls.read_text().splitlines()
    assert sent[:5] == ["TEXT", "+1555", "-len", "206", "-unicode"]
    echo = await bundled(argv, payload(gateway="sms"))
    assert b"skipped" in echo.stdout
    assert len(calls.read_text().splitlines()) == len(sent)


async def test_sms_out_through_an_smstools_spool_dir(tmp_path: Path) -> None:
    outgoing = tmp_path / "outgoing"
    outgoing.mkdir()
    argv = ["meshchat:sms", "send", "--via", "smstools", "--outgoing", str(outgoing)]
    await bundled([*argv, "--to", "+15551234567"], payload(text="Grüße\nzweite Zeile"))
    (spooled,) = outgoing.iterdir()
    assert not spooled.name.startswith(".")
    head, _, body = spooled.read_text(encoding="utf-8").partition("\n\n")
    assert head.splitlines() == ["To: 15551234567", "Alphabet: UTF-8"]
    assert body == "W1AW #ops: Grüße\nzweite Zeile\n"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    senders = (GatewaySender(address="+15551234567", callsign="W1AW"),)
    running = await start(actions_config(tmp_path / "data", [], senders=senders))
    yield running
    await running.stop()


async def sms_channel(node: RunningNode) -> list[tuple[str, str]]:
    views = await node.node.store.messages(MessageQuery("MeshChat", channel="SMS"))
    return [(v.callsign, v.text) for v in views]


async def test_sms_in_from_gammu_run_on_receive(node: RunningNode) -> None:
    env = {
        "MESHCHAT_INBOUND_TOKEN": TOKEN,
        "SMS_MESSAGES": "2",
        "SMS_1_NUMBER": "+15551234567",
        "SMS_1_TEXT": "on my way",
        "SMS_2_NUMBER": "+15557654321",
        "SMS_2_TEXT": "$(id); who is this",
    }
    argv = ["meshchat:sms", "receive-gammu", "--url", node.url, "--callsign", "GW-1"]
    outcome = await bundled(argv, env=env)
    assert len(outcome.stdout.split()) == 2  # the two new ids
    assert await sms_channel(node) == [
        ("W1AW", "on my way"),
        ("GW-1", "[sms +15557654321] $(id); who is this"),
    ]


async def test_sms_in_from_an_smstools_eventhandler(node: RunningNode, tmp_path: Path) -> None:
    received = tmp_path / "GSM1.abc"
    received.write_bytes(
        b"From: 15557654321\nSent: 24-05-01 10:00:00\nAlphabet: UCS2\n\n"
        + "Grüße aus dem Tal".encode("utf-16-be")
    )
    argv = ["meshchat:sms", "receive-smstools", "--url", node.url, "--callsign", "GW-1"]
    env = {"MESHCHAT_INBOUND_TOKEN": TOKEN}
    await bundled([*argv, "SENT", str(received)], env=env)  # not a received message
    await bundled([*argv, "RECEIVED", str(received)], env=env)
    assert await sms_channel(node) == [("GW-1", "[sms +15557654321] Grüße aus dem Tal")]


async def test_sms_in_with_a_wrong_token_fails(node: RunningNode) -> None:
    env = {"SMS_MESSAGES": "1", "SMS_1_NUMBER": "+1555", "SMS_1_TEXT": "x"}
    argv = ["meshchat:sms", "receive-gammu", "--url", node.url, "--callsign", "GW-1"]
    outcome = await run_command(
        resolve_command([*argv, "--token", "wrong"], "t"), b"", {**ENV, **env}, 20, 1000
    )
    assert outcome.exit_status == 1 and b"403" in outcome.stderr


async def test_webhook_posts_the_event(tmp_path: Path) -> None:
    got: list[tuple[dict[str, Any], str]] = []

    async def hook(request: web.Request) -> web.Response:
        got.append((await request.json(), request.headers.get("X-Token", "")))
        return web.Response(text="ok")

    hook_app = web.Application()
    hook_app.router.add_post("/hook", hook)
    runner = web.AppRunner(hook_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        argv = ["meshchat:webhook", "--url", f"http://127.0.0.1:{port}/hook"]
        await bundled([*argv, "--header", "X-Token: s3cret"], payload(text="to the hook"))
        ((body, token),) = got
        assert body["text"] == "to the hook" and token == "s3cret"
        failing = await run_command(
            resolve_command(["meshchat:webhook", "--url", f"http://127.0.0.1:{port}/nope"], "t"),
            b"{}",
            ENV,
            20,
            1000,
        )
        assert failing.exit_status == 1 and b"HTTP 404" in failing.stderr
    finally:
        await runner.cleanup()


async def test_mail_through_a_fake_sendmail(tmp_path: Path) -> None:
    sendmail, calls = recorder(tmp_path, "sendmail")
    ev = payload(
        event="mention_offline",
        target="K1ABC",
        text="net at 19:00\nBcc: evil@example.org",
        contacts=(("email", "k1abc@example.org"), ("sms", "+1555")),
    )
    argv = ["meshchat:mail", "--sendmail", str(sendmail), "--contacts", "--from", "n@mesh.local"]
    await bundled(argv, ev)
    assert calls.read_text().splitlines() == ["-i", "--", "k1abc@example.org"]
    mail = read(f"{calls}.stdin")
    headers = mail.split("\n\n", 1)[0]
    assert "Subject: [meshchat MeshChat] W1AW mentioned K1ABC in #ops" in headers
    assert "Bcc" not in headers and "net at 19:00\nBcc: evil@example.org" in mail


async def test_archive_appends_to_a_daily_file(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    await bundled(["meshchat:archive", "--dir", str(folder)], payload(text="one\ttwo\nthree"))
    await bundled(["meshchat:archive", "--dir", str(folder)], payload(text="four"))
    (daily,) = folder.iterdir()
    assert daily.name == "2023-11-14.log"
    first, second = daily.read_text(encoding="utf-8").splitlines()
    assert first.split("\t") == [
        "2023-11-14T22:13:20Z",
        "MeshChat",
        "ops",
        "W1AW",
        "node-1",
        "one two\\nthree",
    ]
    assert second.endswith("\tfour")


async def test_a_rule_runs_a_bundled_script_through_the_node(tmp_path: Path) -> None:
    from tests.actions.helpers import finished, rule
    from tests.nodes import ApiClient

    folder = tmp_path / "archive"
    rules = [rule("archive", ["meshchat:archive", "--dir", str(folder)], timeout=20)]
    running = await start(actions_config(tmp_path / "data", rules))
    client = ApiClient(running.url)
    try:
        await client.login("W1AW")
        await client.post("kept for the record", channel="log")
        (run,) = await finished(running)
        assert run["state"] == "ok" and run["output"].startswith("archived to ")
        (daily,) = folder.iterdir()
        assert daily.read_text(encoding="utf-8").rstrip("\n").endswith("\tkept for the record")
    finally:
        await client.close()
        await running.stop()


def test_meshchat_scripts_lists_the_bundled_files() -> None:
    from tests.procs import meshchat

    result = meshchat("scripts")
    assert result.returncode == 0
    rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
    names = ("sms", "webhook", "mail", "archive")
    assert [name for name, _ in rows] == [f"meshchat:{n}" for n in names]
    assert all(Path(path).is_file() for _, path in rows)
