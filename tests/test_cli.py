"""The ``meshchat`` command: serve, post, export/import, and its errors."""

from __future__ import annotations

import socket
from pathlib import Path

from meshchat import __version__, cli, records
from tests import factories
from tests.procs import ServeProcess, data_args, meshchat


def test_version() -> None:
    result = meshchat("--version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"meshchat {__version__}"


def test_bad_flag_is_a_usage_error() -> None:
    result = meshchat("serve", "--no-such-flag")
    assert result.returncode == 2
    assert b"unrecognized arguments" in result.stderr


def test_unreadable_and_invalid_config_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = meshchat("serve", "--config", str(missing))
    assert result.returncode == 2
    assert str(missing).encode() in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[sync]\nframe_limit = "big"\n')
    result = meshchat("serve", "--config", str(bad))
    assert result.returncode == 2
    assert b"sync.frame_limit" in result.stderr and str(bad).encode() in result.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = meshchat("serve", *data_args(tmp_path), "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert b"address already in use" in result.stderr


def test_serve_prints_url_and_data_dir_then_post_and_locked_export(tmp_path: Path) -> None:
    data = tmp_path / "data"
    node = ServeProcess(*data_args(data), "--node-name", "cli-node")
    try:
        posted = meshchat(
            "post",
            "--url",
            node.url,
            "--callsign",
            "w1aw",
            "--channel",
            "ops",
            "hello",
            "from",
            "the",
            "CLI",
        )
        assert posted.returncode == 0, posted.stderr
        assert len(posted.stdout.strip()) == 64
        # The running node holds the database: export must say so, not corrupt anything.
        locked = meshchat("export", *data_args(data))
        assert locked.returncode == 1
        assert b"in use" in locked.stderr
        refused = meshchat("post", "--url", node.url, "--callsign", "bad call", "x")
        assert refused.returncode == 1
        assert b"callsign" in refused.stderr
        # The URL `serve` prints for the browser works as --url too.
        shown = meshchat("post", "--url", node.url + "/meshchat/", "--callsign", "W1AW", "hi")
        assert shown.returncode == 0, shown.stderr
    finally:
        assert node.stop() == 0
    assert node.stopped_line, "the node logs a line when it stops"
    out = tmp_path / "zone.msgpack"
    exported = meshchat("export", *data_args(data), "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    with out.open("rb") as fh:
        envelopes = list(records.read_stream(fh))
    texts = [records.decode(s, g).body.get("text") for s, g in envelopes]
    assert "hello from the CLI" in texts


def test_post_to_a_node_that_is_not_there() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = meshchat("post", "--url", f"http://127.0.0.1:{port}", "--callsign", "W1AW", "x")
    assert result.returncode == 1
    assert b"cannot reach" in result.stderr


def test_export_import_round_trip_verifies_every_record(tmp_path: Path) -> None:
    signed = [factories.make_record("msg", text=f"sneakernet {i}") for i in range(20)]
    stream = records.dumps_stream(r.envelope for r in signed)
    first = meshchat("import", *data_args(tmp_path / "a"), stdin=stream)
    assert first.returncode == 0, first.stderr
    assert b"imported 20 new" in first.stderr
    again = meshchat("import", *data_args(tmp_path / "a"), stdin=stream)
    assert b"imported 0 new, 20 already present" in again.stderr

    dump = tmp_path / "a.msgpack"
    assert meshchat("export", *data_args(tmp_path / "a"), "-o", str(dump)).returncode == 0
    into_b = meshchat("import", *data_args(tmp_path / "b"), str(dump))
    assert into_b.returncode == 0, into_b.stderr
    # B verifies every signature again on the way in.
    assert b"imported 20 new, 0 already present" in into_b.stderr


def test_import_counts_rejects_and_stops_on_a_broken_stream(tmp_path: Path) -> None:
    good = factories.make_record("msg", text="kept")
    tampered = bytearray(factories.make_record("msg", text="forged").sig)
    tampered[0] ^= 1
    other_zone = factories.make_record("msg", zone="Elsewhere")
    stream = records.dumps_stream(
        [good.envelope, (factories.make_record("msg").signed, bytes(tampered)), other_zone.envelope]
    )
    result = meshchat("import", *data_args(tmp_path), stdin=stream + b"\xc1garbage")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "imported 1 new" in err
    assert "1 signature" in err and "1 zone" in err
    assert "malformed" in err


def test_corrupt_database_is_reported(tmp_path: Path) -> None:
    tmp_path.joinpath("meshchat.db").write_bytes(b"this is not sqlite" * 512)
    result = meshchat("export", *data_args(tmp_path))
    assert result.returncode == 1
    assert b"corrupt" in result.stderr or b"not a meshchat database" in result.stderr


def test_discovery_and_zone_secret_flags_map_to_config_keys(tmp_path: Path) -> None:
    args = cli.parser().parse_args(
        [
            "serve",
            "--data-dir",
            str(tmp_path),
            "--mdns",
            "--aredn-services",
            "/var/run/arednlink/services",
            "--aredn-node",
            "http://node.local.mesh",
            "--zone-secret",
            "s3cret",
        ]
    )
    cfg = cli.load_config(args)
    assert cfg.discovery.mdns is True
    assert cfg.discovery.aredn_services == "/var/run/arednlink/services"
    assert cfg.discovery.aredn_node == "http://node.local.mesh"
    assert cfg.sync.zone_secret == "s3cret"
    plain = cli.load_config(cli.parser().parse_args(["serve", "--data-dir", str(tmp_path)]))
    assert plain.discovery == type(plain.discovery)()  # off unless configured
    assert plain.sync.zone_secret == ""


def test_a_bad_aredn_node_url_is_a_usage_error(tmp_path: Path) -> None:
    code = cli.main(["serve", "--data-dir", str(tmp_path), "--aredn-node", "node.local.mesh"])
    assert code == cli.EXIT_USAGE


def test_export_of_a_directory_with_no_database_refuses(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    result = meshchat("export", *data_args(empty))
    assert result.returncode == 1
    assert b"no meshchat database" in result.stderr
    assert not (empty / "meshchat.db").exists()


def test_import_whose_every_record_is_rejected_fails(tmp_path: Path) -> None:
    other_zone = [factories.make_record("msg", zone="Elsewhere", text=str(i)) for i in range(3)]
    result = meshchat(
        "import", *data_args(tmp_path), stdin=records.dumps_stream(r.envelope for r in other_zone)
    )
    assert result.returncode == 1
    assert b"rejected 3 zone" in result.stderr
