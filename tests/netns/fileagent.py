"""The netns agent with file operations, for ``bench/bench_files.py`` and the files test.

Run exactly like ``agent.py`` (one JSON request and reply a line); it adds ``upload`` (a
multipart POST of seeded random bytes to the local node) and ``wait_file`` (poll the
local node's file list until a blob is on it). Every loop is bounded in count and time.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import urllib.request
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from agent import MAX_WAIT_S, NODE, Agent  # the sibling script, found by path

UPLOAD_TIMEOUT_S = 300.0


def multipart(boundary: str, fields: dict[str, str], name: str, data: bytes) -> bytes:
    """Return a multipart/form-data body: the fields, then the file."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return b"".join([*parts, head, data, f"\r\n--{boundary}--\r\n".encode()])


class FileAgent(Agent):
    """The agent, plus uploads and waiting for a file's bytes."""

    def op_upload(
        self, size: int, seed: int, name: str = "bench.bin", channel: str = "", callsign: str = "K1"
    ) -> dict[str, Any]:
        """Upload ``size`` seeded random bytes; return ``{sha256, id, t0, t1}``."""
        data = random.Random(seed).randbytes(size)
        opener, csrf = self._session(callsign)
        boundary = uuid.uuid4().hex
        body = multipart(boundary, {"channel": channel}, name, data)
        req = urllib.request.Request(NODE + "/api/v1/files", data=body, method="POST")
        req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        req.add_header("X-CSRF-Token", csrf)
        t0 = time.time()
        with opener.open(req, timeout=UPLOAD_TIMEOUT_S) as resp:
            reply = json.loads(resp.read())
        return {"sha256": reply["sha256"], "id": reply["id"], "t0": t0, "t1": time.time()}

    def op_wait_file(self, sha256: str, seconds: float, interval: float = 0.1) -> dict[str, Any]:
        """Poll until the local node holds ``sha256``; return when it was first seen (or None)."""
        deadline = time.monotonic() + min(seconds, MAX_WAIT_S)
        while time.monotonic() < deadline:
            for entry in self.get_json("/api/v1/files?limit=500")["files"]:
                if entry["sha256"] == sha256 and entry["available"]:
                    return {"seen": time.time()}
            time.sleep(interval)
        return {"seen": None}

    def op_fetch_status(self) -> Any:
        """The local node's replication status and blob usage."""
        reply = self.get_json("/api/v1/files?limit=1")
        return {"replication": reply["replication"], "usage": reply["usage"]}


def main() -> None:
    agent = FileAgent()
    print(json.dumps({"ok": True, "result": "ready"}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.pop("op")
        try:
            reply = {"ok": True, "result": getattr(agent, f"op_{op}")(**request)}
        except Exception as exc:  # reported to the caller, which fails with it
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
