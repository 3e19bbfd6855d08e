"""``meshchat doctor`` against a healthy node and against each fault it claims to find."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from meshchat import app, config, doctor, records
from meshchat.findings import NOTE, OK, PROBLEM, WARNING, Finding
from tests.nodes import node_config
from tests.procs import meshchat

Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve small fake peers on 127.0.0.1 port 0; return each one's base URL."""
    runners: list[web.AppRunner] = []

    async def start(application: web.Application) -> str:
        runner = web.AppRunner(application)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


def fake_native(zones: list[str], date: str | None = None) -> web.Application:
    """A peer whose /sync/v1/info answers like a meshchat node, with a ``Date`` of choice."""

    async def info(request: web.Request) -> web.Response:
        del request
        body = {"node_id": "ab" * 32, "name": "fake", "zones": [{"name": z} for z in zones]}
        resp = web.Response(body=records.pack(body), content_type="application/msgpack")
        if date:
            resp.headers["Date"] = date
        return resp

    application = web.Application()
    application.router.add_get("/sync/v1/info", info)
    return application


def fake_legacy() -> web.Application:
    async def cgi(request: web.Request) -> web.Response:
        del request
        return web.Response(text="1234567\n")

    application = web.Application()
    application.router.add_get("/cgi-bin/meshchat", cgi)
    return application


async def run(cfg: config.Config, timeout_s: float = 3.0) -> list[Finding]:
    return await doctor.diagnose(lambda: cfg, timeout_s)


def by_topic(findings: list[Finding], topic: str) -> list[Finding]:
    found = [f for f in findings if f.topic == topic]
    assert found, f"no {topic} finding in {findings}"
    return found


def level(findings: list[Finding], topic: str) -> str:
    """Return the worst level of one topic's findings."""
    order = [OK, NOTE, WARNING, PROBLEM]
    return max((f.level for f in by_topic(findings, topic)), key=order.index)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_healthy_running_node_with_a_native_peer(tmp_path: Path, serve: Serve) -> None:
    peer = await app.start(node_config(tmp_path / "peer", node__name="peer"))
    node = await app.start(node_config(tmp_path / "a", sync__peers=[peer.url]))
    try:
        cfg = node_config(tmp_path / "a", sync__peers=[peer.url], node__listen=node.url[7:])
        findings = await run(cfg)
    finally:
        await node.stop()
        await peer.stop()
    assert not [f for f in findings if f.level in (WARNING, PROBLEM)], findings
    assert "held by this node" in by_topic(findings, "port")[0].text
    # The store's lock is held by the running node: the check still read the database.
    assert "quick_check ok" in by_topic(findings, "database")[0].text
    assert "native meshchat node (peer)" in by_topic(findings, "peers")[0].text
    assert level(findings, "clock") == OK
    assert await asyncio.to_thread(doctor.report, findings, io.StringIO()) == 0


async def test_a_stopped_node_has_a_free_port_and_no_database_yet(tmp_path: Path) -> None:
    cfg = node_config(tmp_path / "new", node__listen=f"127.0.0.1:{free_port()}")
    findings = await run(cfg)
    assert level(findings, "port") == OK and "free" in by_topic(findings, "port")[0].text
    assert level(findings, "database") == NOTE
    assert level(findings, "data") == NOTE  # the node creates the folder at its first start
    assert not [f for f in findings if f.level in (WARNING, PROBLEM)], findings


async def test_a_bad_config_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[sync]\nframe_limit = "big"\n')
    findings = await doctor.diagnose(lambda: config.load(path), 1.0)
    assert [f.level for f in findings] == [PROBLEM]
    assert "sync.frame_limit" in findings[0].text and str(path) in findings[0].text


async def test_a_secret_in_a_config_everyone_can_read(tmp_path: Path) -> None:
    path = tmp_path / "meshchat.toml"
    path.write_text(f'[node]\ndata_dir = "{tmp_path / "d"}"\n[sync]\nzone_secret = "s3cret"\n')
    path.chmod(0o644)
    findings = await doctor.diagnose(lambda: config.load(path), 1.0)
    assert level(findings, "config") == WARNING
    assert f"chmod o-r {path}" in by_topic(findings, "config")[0].fix


async def made(tmp_path: Path) -> config.Config:
    """A data dir with a database and a key (the node ran once), stopped."""
    cfg = node_config(tmp_path / "data", node__listen=f"127.0.0.1:{free_port()}")
    await (await app.start(cfg)).stop()
    return cfg


async def test_a_data_dir_every_user_can_write(tmp_path: Path) -> None:
    cfg = await made(tmp_path)
    cfg.node.data_dir.chmod(0o777)
    findings = await run(cfg)
    assert level(findings, "data") == PROBLEM
    assert any(f"chmod o-w {cfg.node.data_dir}" == f.fix for f in findings)


async def test_a_node_key_others_can_read(tmp_path: Path) -> None:
    cfg = await made(tmp_path)
    (cfg.node.data_dir / "node.key").chmod(0o644)
    findings = await run(cfg)
    assert any(f.fix == f"chmod 600 {cfg.node.data_dir / 'node.key'}" for f in findings)


async def test_a_damaged_or_missing_node_key(tmp_path: Path) -> None:
    cfg = await made(tmp_path)
    key = cfg.node.data_dir / "node.key"
    key.write_bytes(b"short")
    assert level(await run(cfg), "data") == PROBLEM
    key.unlink()
    findings = await run(cfg)
    assert level(findings, "data") == WARNING
    assert "new key" in by_topic(findings, "data")[0].text


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
async def test_files_owned_by_another_user(tmp_path: Path) -> None:
    cfg = await made(tmp_path)
    os.chown(cfg.node.data_dir / "meshchat.db", 65534, 65534)  # as a root `import` would
    os.chown(cfg.node.data_dir, 0, 0)
    findings = await run(cfg)
    problem = [f for f in findings if f.topic == "data" and f.level == PROBLEM]
    assert problem and "meshchat.db" in problem[0].text and "chown -R" in problem[0].fix


async def test_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    findings = await run(node_config(path, node__listen=f"127.0.0.1:{free_port()}"))
    assert level(findings, "data") == PROBLEM


async def test_a_damaged_database(tmp_path: Path) -> None:
    cfg = await made(tmp_path)
    db = cfg.node.data_dir / "meshchat.db"
    raw = bytearray(db.read_bytes())
    raw[4096 : 4096 * 3] = b"\xa5" * (4096 * 2)  # trample the first table pages
    db.write_bytes(bytes(raw))
    findings = await run(cfg)
    assert level(findings, "database") == PROBLEM
    assert "meshchat import" in by_topic(findings, "database")[0].fix
    db.write_bytes(b"not a database at all" * 100)
    assert level(await run(cfg), "database") == PROBLEM


async def test_little_free_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = await made(tmp_path)
    real = shutil.disk_usage

    def tiny(path: Any) -> Any:
        usage = real(path)
        return type(usage)(usage.total, usage.total - 5 * doctor.MIB, 5 * doctor.MIB)

    monkeypatch.setattr(shutil, "disk_usage", tiny)
    findings = await run(cfg)
    assert level(findings, "disk") == PROBLEM


async def test_the_port_held_by_another_program(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # It accepts and never answers: the doctor waits one timeout for it.
        findings = await run(node_config(tmp_path / "d", node__listen=f"127.0.0.1:{port}"), 0.5)
    assert level(findings, "port") == PROBLEM
    assert f"sport = :{port}" in by_topic(findings, "port")[0].fix


async def test_the_port_held_by_another_meshchat_node(tmp_path: Path) -> None:
    other = await app.start(node_config(tmp_path / "other", node__name="other"))
    try:
        cfg = node_config(tmp_path / "mine", node__listen=other.url[7:])
        findings = await run(cfg)
    finally:
        await other.stop()
    assert level(findings, "port") == PROBLEM
    assert "another meshchat node (other" in by_topic(findings, "port")[0].text


async def test_unreachable_legacy_and_misdeclared_peers(tmp_path: Path, serve: Serve) -> None:
    legacy = await serve(fake_legacy())
    closed = f"http://127.0.0.1:{free_port()}"
    cfg = config.from_mapping(
        {
            "node": {"data_dir": str(tmp_path / "d"), "listen": f"127.0.0.1:{free_port()}"},
            "sync": {"peers": [closed, legacy]},
            "peers": [{"url": await serve(fake_legacy()), "kind": "native"}],
        },
        "test.toml",
    )
    findings = by_topic(await run(cfg), "peers")
    text = {f.text.split(" ")[0].rstrip(":"): f for f in findings}
    assert text[closed].level == WARNING and "does not answer" in text[closed].text
    assert text[legacy].level == OK and "legacy MeshChat" in text[legacy].text
    assert sum("declared native but answers as a legacy" in f.text for f in findings) == 1


async def test_a_peer_that_serves_none_of_our_zones(tmp_path: Path, serve: Serve) -> None:
    url = await serve(fake_native(["OtherZone"]))
    cfg = node_config(tmp_path / "d", sync__peers=[url], node__listen=f"127.0.0.1:{free_port()}")
    findings = await run(cfg)
    assert level(findings, "peers") == WARNING
    assert "OtherZone" in by_topic(findings, "peers")[0].text


@pytest.mark.parametrize("offset_s", [3600, -3600])
async def test_a_clock_off_against_a_peer(tmp_path: Path, serve: Serve, offset_s: int) -> None:
    url = await serve(fake_native(["MeshChat"], formatdate(time.time() + offset_s, usegmt=True)))
    cfg = node_config(tmp_path / "d", sync__peers=[url], node__listen=f"127.0.0.1:{free_port()}")
    findings = await run(cfg)
    clock = by_topic(findings, "clock")[0]
    assert clock.level == WARNING
    assert ("behind" if offset_s > 0 else "ahead of") in clock.text
    assert level(findings, "peers") == OK


async def test_a_clock_within_the_skew_limit(tmp_path: Path, serve: Serve) -> None:
    url = await serve(fake_native(["MeshChat"], formatdate(time.time() + 120, usegmt=True)))
    cfg = node_config(tmp_path / "d", sync__peers=[url], node__listen=f"127.0.0.1:{free_port()}")
    assert level(await run(cfg), "clock") == OK


def test_the_command_exits_0_only_when_nothing_is_wrong(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(f'[node]\ndata_dir = "{tmp_path / "d"}"\nlisten = "127.0.0.1:{free_port()}"\n')
    result = meshchat("doctor", "--config", str(good))
    assert result.returncode == 0, result.stdout
    assert b"Nothing is wrong." in result.stdout
    closed = f"http://127.0.0.1:{free_port()}"
    result = meshchat("doctor", "--config", str(good), "--peer", closed, "--timeout", "2")
    assert result.returncode == 1
    assert b"WARNING" in result.stdout and b"does not answer" in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[node]\nlisten = 5\n")
    result = meshchat("doctor", "--config", str(bad))
    assert (
        result.returncode == 1 and b"PROBLEM" in result.stdout and b"node.listen" in result.stdout
    )
