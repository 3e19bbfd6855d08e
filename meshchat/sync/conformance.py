"""Replay Negentropy V1 conformance vectors: ``python -m meshchat.sync.conformance FILE...``.

Checks follow shared/negentropy/README.md "How a test should use the vectors".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from meshchat.errors import LocalProtocolError, MeshchatError, RemoteProtocolError
from meshchat.sync.negentropy import NegentropyInitiator, NegentropyResponder, NegentropyStorage
from meshchat.sync.vectorgen import GeneratorError, Item, generate, set_digest

FORMAT = "negentropy-v1-conformance-vector/1"
EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CheckFailed(Exception):
    """A vector did not replay exactly; the message says where."""


def _expect(ok: bool, what: str) -> None:
    """Raise CheckFailed(what) unless ``ok``."""
    if not ok:
        raise CheckFailed(what)


def _hexes(ids: Sequence[bytes] | set[bytes]) -> list[str]:
    """Return ids as sorted hex strings."""
    return sorted(i.hex() for i in ids)


def _parse_items(raw: Any, side: str) -> list[Item]:
    """Return a JSON ``[[ts, hex], ...]`` list as items."""
    try:
        return [(int(ts), bytes.fromhex(hex_id)) for ts, hex_id in raw]
    except (TypeError, ValueError) as exc:
        raise CheckFailed(f"{side}_items malformed: {exc}") from exc


def load_sets(vector: Mapping[str, Any]) -> tuple[list[Item], list[Item]]:
    """Return (client, server) items: the lists, or regenerated; counts and digests checked."""
    try:
        generated = generate(vector["generator"])
    except (KeyError, GeneratorError) as exc:
        raise CheckFailed(f"generator: {exc}") from exc
    sets = []
    for side, regenerated in zip(("client", "server"), generated, strict=True):
        raw = vector.get(f"{side}_items")
        listed = None if raw is None else _parse_items(raw, side)
        for name, items in (("generated", regenerated), ("listed", listed)):
            if items is None:
                continue
            _expect(len(items) == vector.get(f"{side}_count"), f"{name} {side} count")
            try:
                digest = set_digest(items)
            except OverflowError as exc:
                raise CheckFailed(f"{name} {side} timestamp out of range") from exc
            _expect(digest == vector.get(f"{side}_items_sha256"), f"{name} {side} sha256")
        sets.append(regenerated if listed is None else listed)
    return sets[0], sets[1]


def _storage(items: list[Item]) -> NegentropyStorage:
    """Build a sealed storage from items in file order (README step 1)."""
    return NegentropyStorage.from_items(items)


def _check_learned(entry: Mapping[str, Any], have: list[bytes], need: list[bytes], at: str) -> None:
    """Compare an initiator step's have/need with a transcript entry."""
    _expect(_hexes(have) == sorted(entry.get("client_have", [])), f"{at}: client_have")
    _expect(_hexes(need) == sorted(entry.get("client_need", [])), f"{at}: client_need")


def _lockstep(
    vector: Mapping[str, Any], client: NegentropyStorage, server: NegentropyStorage
) -> None:
    """Replay one initiator and one responder against the transcript, byte for byte."""
    script = vector["transcript"]
    _expect(len(script) % 2 == 0 and len(script) >= 2, "transcript must end with a server message")
    init = NegentropyInitiator(client, vector["client_frame_size_limit"])
    resp = NegentropyResponder(server, vector["server_frame_size_limit"])
    first = init.initiate()
    _expect(first.hex() == script[0]["hex"], "lockstep: initiate() bytes")
    msg: bytes | None = first
    for i in range(1, len(script), 2):
        _expect(msg is not None, f"lockstep: initiator finished before message {i}")
        assert msg is not None
        reply = resp.reconcile(msg)
        _expect(reply.hex() == script[i]["hex"], f"lockstep: server message {i}")
        msg, have, need = init.reconcile(reply)
        _check_learned(script[i], have, need, f"lockstep: message {i}")
        expected = script[i + 1]["hex"] if i + 1 < len(script) else None
        _expect((msg and msg.hex()) == expected, f"lockstep: client message {i + 1}")


def _isolated(
    vector: Mapping[str, Any], client: NegentropyStorage, server: NegentropyStorage
) -> None:
    """Feed every recorded message to a fresh instance of the receiving role."""
    script = vector["transcript"]
    for i in range(0, len(script) - 1, 2):
        resp = NegentropyResponder(server, vector["server_frame_size_limit"])
        reply = resp.reconcile(bytes.fromhex(script[i]["hex"]))
        _expect(reply.hex() == script[i + 1]["hex"], f"isolated responder: message {i + 1}")
    for i in range(1, len(script), 2):
        init = NegentropyInitiator(client, vector["client_frame_size_limit"])
        init.initiate()
        msg, have, need = init.reconcile(bytes.fromhex(script[i]["hex"]))
        _check_learned(script[i], have, need, f"isolated initiator: message {i}")
        expected = script[i + 1]["hex"] if i + 1 < len(script) else None
        _expect((msg and msg.hex()) == expected, f"isolated initiator: message {i + 1}")


def _pair(vector: Mapping[str, Any], client_items: list[Item], server_items: list[Item]) -> None:
    """Run initiator against responder to the end; check results, rounds and frame sizes."""
    c_limit, s_limit = vector["client_frame_size_limit"], vector["server_frame_size_limit"]
    init = NegentropyInitiator(_storage(client_items), c_limit)
    resp = NegentropyResponder(_storage(server_items), s_limit)
    cap = 2 * int(vector["rounds"]) + 2
    have: set[bytes] = set()
    need: set[bytes] = set()
    sent = {"client_to_server": 0, "server_to_client": 0}
    msg: bytes | None = init.initiate()
    rounds = 0
    while msg is not None:
        rounds += 1
        _expect(rounds <= cap, f"pair: no convergence within {cap} rounds")
        _expect(not c_limit or len(msg) <= c_limit, f"pair: client message {rounds} too big")
        reply = resp.reconcile(msg)
        _expect(not s_limit or len(reply) <= s_limit, f"pair: server message {rounds} too big")
        sent["client_to_server"] += len(msg)
        sent["server_to_client"] += len(reply)
        msg, more_have, more_need = init.reconcile(reply)
        have.update(more_have)
        need.update(more_need)
    client_ids = {i for _, i in client_items}
    server_ids = {i for _, i in server_items}
    _expect(_hexes(have) == sorted(vector["final_have"]), "pair: final_have")
    _expect(_hexes(need) == sorted(vector["final_need"]), "pair: final_need")
    _expect(have == client_ids - server_ids, "pair: have is not the exact set difference")
    _expect(need == server_ids - client_ids, "pair: need is not the exact set difference")
    _expect(rounds == vector["rounds"], "pair: rounds")
    _expect(sent == vector.get("total_bytes", sent), "pair: total_bytes")


def check_session(vector: Mapping[str, Any], client: list[Item], server: list[Item]) -> None:
    """Run lockstep replay, role isolation and a Python-vs-Python session."""
    c_store, s_store = _storage(client), _storage(server)
    _lockstep(vector, c_store, s_store)
    _isolated(vector, c_store, s_store)
    _pair(vector, client, server)


def _run_step(step: Mapping[str, Any], items: list[Item]) -> None:
    """Run one step on a fresh instance; an expected error must be the right kind."""
    expect = step["expect"]
    role = step["role"]
    try:
        storage = _storage(items)
        if role == "initiator":
            init = NegentropyInitiator(storage, step.get("frame_size_limit", 0))
            first = init.initiate()
        elif role == "responder":
            resp = NegentropyResponder(storage, step.get("frame_size_limit", 0))
        else:
            raise CheckFailed(f"unknown role {role!r}")
    except LocalProtocolError:
        _expect(bool(expect.get("error")), "unexpected LocalProtocolError on setup")
        return
    if role == "initiator" and "initiate_hex" in expect:
        _expect(first.hex() == expect["initiate_hex"], "initiate() bytes")
    message = bytes.fromhex(step["input_hex"])
    try:
        if role == "initiator":
            out, have, need = init.reconcile(message)
        else:
            out, have, need = resp.reconcile(message), [], []
    except RemoteProtocolError:
        _expect(bool(expect.get("error")), "unexpected RemoteProtocolError")
        return
    _expect(not expect.get("error"), "expected RemoteProtocolError, got a reply")
    if "output_hex" in expect:
        _expect(out is not None and out.hex() == expect["output_hex"], "output bytes")
    if expect.get("done"):
        _expect(out is None, "expected done (None)")
    for key, got in (("have", have), ("need", need)):
        if key in expect:
            _expect(_hexes(got) == sorted(expect[key]), key)


def check_steps(vector: Mapping[str, Any], client: list[Item], server: list[Item]) -> None:
    """Run every step of a ``steps`` vector."""
    sets = {"client_items": client, "server_items": server}
    for number, step in enumerate(vector["steps"]):
        try:
            _run_step(step, sets[step["uses_items"]])
        except CheckFailed as exc:
            raise CheckFailed(f"step {number} ({step.get('label', '')}): {exc}") from exc


def check_vector(vector: Mapping[str, Any]) -> None:
    """Raise CheckFailed unless the vector replays exactly."""
    _expect(isinstance(vector, dict), "not a JSON object")
    _expect(vector.get("format") == FORMAT, "unknown format")
    client, server = load_sets(vector)
    if vector.get("kind") == "session":
        check_session(vector, client, server)
    elif vector.get("kind") == "steps":
        check_steps(vector, client, server)
    else:
        raise CheckFailed(f"unknown kind {vector.get('kind')!r}")


def check_file(path: Path) -> str | None:
    """Return None if the file passes, else the reason; OSError/ValueError if unreadable."""
    vector = json.loads(path.read_text(encoding="utf-8"))
    try:
        check_vector(vector)
    except CheckFailed as exc:
        return str(exc)
    except (MeshchatError, KeyError, TypeError, ValueError, IndexError) as exc:
        # A malformed vector or a port bug: either way the file did not pass.
        return f"{type(exc).__name__}: {exc}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Check each file; print one line per file; return 0, 1 (a failure) or 2 (usage)."""
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths or any(p.startswith("-") for p in paths):
        print("usage: python -m meshchat.sync.conformance VECTOR.json...", file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_PASS
    for name in paths:
        try:
            reason = check_file(Path(name))
        except (OSError, ValueError) as exc:
            print(f"ERROR {name}: unreadable: {exc}")
            status = EXIT_USAGE
            continue
        print(f"PASS {name}" if reason is None else f"FAIL {name}: {reason}")
        if reason is not None and status == EXIT_PASS:
            status = EXIT_FAIL
    return status


if __name__ == "__main__":
    sys.exit(main())
