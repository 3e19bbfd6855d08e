"""The node as a service: sd_notify, journal priorities, and SIGHUP reloads."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshchat import app, logsetup, notify, reload
from tests.nodes import node_config


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(30)
    yield sock
    sock.close()


def test_notify_sends_one_datagram_or_nothing(notify_socket: socket.socket, tmp_path: Path) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify")}
    assert notify.notify("READY=1", "STATUS=hi", env=env)
    assert notify_socket.recv(4096) == b"READY=1\nSTATUS=hi"
    assert not notify.notify("READY=1", env={})
    assert not notify.notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "none")})
    assert notify.address({"NOTIFY_SOCKET": "@abstract"}) == b"\0abstract"
    assert notify.address({"NOTIFY_SOCKET": "vsock:2:1"}) is None


def test_journal_lines_carry_priorities_and_no_timestamps(tmp_path: Path) -> None:
    with (tmp_path / "journal").open("w+") as stream:
        st = os.fstat(stream.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        log = logging.getLogger("meshchat.test")
        try:
            assert logsetup.configure("DEBUG", stream, env)
            log.debug("d")
            log.info("i")
            log.warning("w")
            try:
                raise ValueError("boom")
            except ValueError:
                log.exception("e")
            log.critical("c")
        finally:
            logsetup.configure("WARNING", io.StringIO(), {})
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines[:4] == [
        "<7>meshchat.test: d",
        "<6>meshchat.test: i",
        "<4>meshchat.test: w",
        "<3>meshchat.test: e",
    ]
    assert all(line.startswith("<3>") for line in lines[4:-1])  # the traceback stays at 3
    assert lines[-1] == "<2>meshchat.test: c"
    plain = io.StringIO()
    try:
        assert not logsetup.configure("INFO", plain, {"JOURNAL_STREAM": "1:2"})
        logging.getLogger("meshchat.test").info("x")
    finally:
        logsetup.configure("WARNING", io.StringIO(), {})
    assert plain.getvalue()[:2] == "20" and " INFO meshchat.test: x" in plain.getvalue()


async def test_reload_applies_peers_discovery_and_level_and_names_the_rest(
    tmp_path: Path,
) -> None:
    peer = await app.start(node_config(tmp_path / "peer", node__name="peer"))
    other = await app.start(node_config(tmp_path / "other", node__name="other"))
    running = await app.start(node_config(tmp_path / "a"))
    try:
        services = tmp_path / "services"
        services.write_text(f"{other.url}/meshchat|tcp|MeshChat\n")
        new = node_config(
            tmp_path / "a",
            sync__peers=[peer.url],
            node__log_level="DEBUG",
            node__listen="127.0.0.1:1",
            discovery__aredn_services=str(services),
            discovery__aredn_poll_s=0.05,
        )
        outcome = await reload.apply(running, new)
        assert set(outcome.applied) == {
            "sync.peers",
            "node.log_level",
            "discovery.aredn_services",
            "discovery.aredn_poll_s",
        }
        assert outcome.need_restart == ("node.listen",)
        node = running.node
        assert peer.url in node.scheduler.links
        assert logging.getLogger().level == logging.DEBUG
        assert node.config.node.listen == "127.0.0.1:0"  # what needs a restart keeps its value
        for _ in range(200):
            if other.url in node.scheduler.links:
                break
            await asyncio.sleep(0.02)
        assert node.peers.get(other.url) is not None and node.peers.get(other.url).source == "aredn"
        # Dropping the static peer and the discovery source drops their links.
        outcome = await reload.apply(running, node_config(tmp_path / "a"))
        assert peer.url not in node.scheduler.links
        assert other.url not in node.scheduler.links and not running.discovery
    finally:
        logging.getLogger().setLevel(logging.WARNING)
        await running.stop()
        await other.stop()
        await peer.stop()


def test_serve_notifies_systemd_and_reloads_on_sighup(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    conf = tmp_path / "meshchat.toml"
    conf.write_text(f'[node]\ndata_dir = "{tmp_path / "d"}"\nlisten = "127.0.0.1:0"\n')
    read_end, write_end = os.pipe()
    st = os.fstat(write_end)
    env = dict(
        os.environ,
        NOTIFY_SOCKET=str(tmp_path / "notify"),
        JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}",
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "meshchat", "serve", "--config", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=write_end,
        env=env,
    )
    os.close(write_end)
    try:
        assert notify_socket.recv(4096).startswith(b"READY=1\nSTATUS=serving MeshChat on http://")
        conf.write_text(conf.read_text() + 'log_level = "DEBUG"\nzones = ["Other"]\n')
        proc.send_signal(signal.SIGHUP)
        assert notify_socket.recv(4096).startswith(b"RELOADING=1\nMONOTONIC_USEC=")
        assert notify_socket.recv(4096).startswith(b"READY=1")
        proc.send_signal(signal.SIGTERM)
        assert notify_socket.recv(4096).startswith(b"STOPPING=1")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with os.fdopen(read_end) as err:
        lines = err.read().splitlines()
    assert "<6>meshchat.reload: reloaded " in "\n".join(lines)
    restart = [line for line in lines if "need(s) a restart" in line]
    assert restart and restart[0].startswith("<4>") and "node.zones" in restart[0]
    assert not [line for line in lines if line and not line.startswith("<")], lines
