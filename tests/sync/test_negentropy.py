"""Negentropy V1 port: conformance vectors, the CLI, encodings and API misuse."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from meshchat.errors import LocalProtocolError, RemoteProtocolError
from meshchat.sync.conformance import check_file, main
from meshchat.sync.negentropy import (
    INFINITY_TS,
    NegentropyInitiator,
    NegentropyResponder,
    NegentropyStorage,
    encode_varint,
    fingerprint,
)

REPO = Path(__file__).resolve().parents[2]
VECTORS = Path(__file__).resolve().parents[3] / "shared" / "negentropy" / "vectors"
VECTOR_FILES = sorted(VECTORS.glob("*.json")) if VECTORS.is_dir() else []
needs_vectors = pytest.mark.skipif(
    not VECTOR_FILES, reason=f"conformance vectors not found at {VECTORS} (shared/ beside repo)"
)


def _item(i: int, ts: int | None = None) -> tuple[int, bytes]:
    """Return a deterministic item: ts 1000 + i and id SHA-256("t:" + i)."""
    return (1000 + i if ts is None else ts), hashlib.sha256(f"t:{i}".encode()).digest()


@needs_vectors
@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])
def test_vector_replays_exactly(path: Path) -> None:
    assert check_file(path) is None


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshchat.sync.conformance", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_vectors
def test_cli_passes_a_good_file() -> None:
    path = VECTORS / "07_tiny_40_vs_40_one_each.json"
    result = _run_cli(str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("PASS ")


@needs_vectors
@pytest.mark.parametrize("entry", [0, 1])
def test_cli_fails_a_tampered_copy(tmp_path: Path, entry: int) -> None:
    vector = json.loads((VECTORS / "07_tiny_40_vs_40_one_each.json").read_text())
    text = vector["transcript"][entry]["hex"]
    # Flip one nibble deep inside the message (a fingerprint or id byte).
    vector["transcript"][entry]["hex"] = text[:-3] + ("0" if text[-3] != "0" else "1") + text[-2:]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(vector))
    good = VECTORS / "06_tiny_3_vs_4.json"
    result = _run_cli(str(good), str(tampered))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("PASS ") and lines[1].startswith("FAIL ")


@needs_vectors
def test_cli_fails_a_wrong_digest(tmp_path: Path) -> None:
    vector = json.loads((VECTORS / "06_tiny_3_vs_4.json").read_text())
    vector["server_items"].pop()
    vector["server_count"] -= 1
    tampered = tmp_path / "short.json"
    tampered.write_text(json.dumps(vector))
    assert _run_cli(str(tampered)).returncode == 1


def test_cli_usage_and_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main([str(tmp_path / "missing.json")]) == 2
    (tmp_path / "bad.json").write_text("{not json")
    assert main([str(tmp_path / "bad.json")]) == 2
    assert "ERROR" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("n", "hex_"),
    [(0, "00"), (127, "7f"), (128, "8100"), (1004, "876c"), (1700000004, "86aacfe204")],
)
def test_varint_encoding(n: int, hex_: str) -> None:
    assert encode_varint(n).hex() == hex_


def test_fingerprint_worked_examples() -> None:
    assert fingerprint([]).hex() == "7f9c9e31ac8256ca2f258583df262dbc"
    ids = [
        "d4eeb7711de7ea9b069d5d3a1c391513f9c82e2446d7277f1993f427ba0dac1a",
        "ae3426735b8b23ce42d8aa4c0a37632c86962a95a99f575e2629f704e6cff8fe",
        "7dea3fe9418fadf71896f5a827b91515dbda5db3b6ba66c840de9903d1cbaa8d",
    ]
    got = fingerprint([bytes.fromhex(i) for i in ids])
    assert got.hex() == "03b8c51d46334a23526b495f95c36c69"


def test_empty_initiator_message_and_idlist_reply() -> None:
    init = NegentropyInitiator(NegentropyStorage())
    assert init.initiate().hex() == "6100000200"
    server = NegentropyStorage.from_items([_item(0)])
    reply = NegentropyResponder(server).reconcile(b"\x61\x00\x00\x02\x00")
    assert reply == b"\x61\x00\x00\x02\x01" + _item(0)[1]
    assert init.reconcile(reply) == (None, [], [_item(0)[1]])


def test_decoder_is_lenient_on_non_minimal_varints() -> None:
    server = NegentropyStorage.from_items([_item(i) for i in range(3)])
    resp = NegentropyResponder(server)
    # Bound code 0 written as "80 00", prefix length as "80 00": still infinity, Skip.
    assert resp.reconcile(bytes.fromhex("61" + "8000" + "8000" + "00")) == b"\x61"
    assert resp.reconcile(bytes.fromhex("61" + "800000" + "00")) == b"\x61"


@pytest.mark.parametrize(
    "message",
    [
        "",
        "70",
        "5f",
        "6180",
        "61000003",
        "610021" + "11" * 33 + "00",
        "61000211",
        "61000001" + "00" * 15,
        "61000002" + "02" + "ab" * 32,
        "61" + "ff" * 10 + "7f" + "0000",  # varint beyond 64 bits
    ],
)
def test_malformed_input_raises_remote_error(message: str) -> None:
    storage = NegentropyStorage.from_items([_item(i) for i in range(40)])
    with pytest.raises(RemoteProtocolError):
        NegentropyResponder(storage).reconcile(bytes.fromhex(message))
    init = NegentropyInitiator(storage)
    init.initiate()
    with pytest.raises(RemoteProtocolError):
        init.reconcile(bytes.fromhex(message))


def test_versions() -> None:
    storage = NegentropyStorage.from_items([_item(0)])
    assert NegentropyResponder(storage).reconcile(b"\x62\xff") == b"\x61"
    init = NegentropyInitiator(storage)
    init.initiate()
    with pytest.raises(RemoteProtocolError):
        init.reconcile(b"\x62")


def test_timestamp_delta_saturates_to_infinity() -> None:
    storage = NegentropyStorage.from_items([_item(0, ts=5), _item(1, ts=INFINITY_TS - 1)])
    resp = NegentropyResponder(storage)
    big = encode_varint(2**64 - 1).hex()  # ts 2^64 - 2, then +4 overflows to infinity
    reply = resp.reconcile(bytes.fromhex(f"61{big}0000" + "05000200"))
    expect = "61" + big + "0000" + "0000" + "0201" + _item(1)[1].hex()
    assert reply.hex() == expect


@pytest.mark.parametrize("limit", [-1, 1, 4095, "4096"])
def test_bad_frame_limit_is_local_error(limit: object) -> None:
    with pytest.raises(LocalProtocolError):
        NegentropyResponder(NegentropyStorage(), limit)  # type: ignore[arg-type]


def test_initiator_misuse_is_local_error() -> None:
    init = NegentropyInitiator(NegentropyStorage(), 4096)
    with pytest.raises(LocalProtocolError):
        init.reconcile(b"\x61")
    init.initiate()
    with pytest.raises(LocalProtocolError):
        init.initiate()
    with pytest.raises(LocalProtocolError):
        init.reconcile("61")  # type: ignore[arg-type]
