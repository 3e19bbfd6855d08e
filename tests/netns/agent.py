"""A helper that runs inside one network namespace and answers the test over stdin/stdout.

The test process stays in the root namespace and never gets a route to the namespaces'
addresses; it starts one agent per namespace (``ip netns exec NS python agent.py``) and
sends it one JSON request a line. The agent talks to the node of its namespace on
127.0.0.1 and to its neighbours over the emulated links (ping, TCP throughput). Every loop
here is bounded in count and in time.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import msgpack

NODE = "http://127.0.0.1:8080"
HTTP_TIMEOUT_S = 15.0
MAX_PAGES = 200
MAX_WAIT_S = 600.0


class Agent:
    """The state of one agent: a cookie session per callsign and background servers."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[urllib.request.OpenerDirector, str]] = {}
        self.plain = urllib.request.build_opener()
        self.sinks: dict[int, list[tuple[float, int]]] = {}
        self.threads: list[threading.Thread] = []
        self.sink_threads: dict[int, threading.Thread] = {}

    # -- HTTP to the local node -------------------------------------------------------

    def _request(
        self,
        opener: urllib.request.OpenerDirector,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(NODE + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with opener.open(req, timeout=HTTP_TIMEOUT_S) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get_json(self, path: str) -> Any:
        """GET a JSON API path of the local node."""
        status, body = self._request(self.plain, "GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status} {body[:200]!r}")
        return json.loads(body)

    def op_status(self) -> Any:
        return self.get_json("/api/v1/status")

    def op_wait_ready(self, seconds: float) -> Any:
        deadline = time.monotonic() + min(seconds, MAX_WAIT_S)
        last = ""
        while time.monotonic() < deadline:
            try:
                return self.get_json("/api/v1/status")
            except (OSError, RuntimeError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"node not ready: {last}")

    def _session(self, callsign: str) -> tuple[urllib.request.OpenerDirector, str]:
        if callsign not in self.sessions:
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            status, body = self._request(opener, "POST", "/api/v1/login", {"callsign": callsign})
            if status != 200:
                raise RuntimeError(f"login: HTTP {status} {body[:200]!r}")
            self.sessions[callsign] = (opener, json.loads(body)["csrf_token"])
        return self.sessions[callsign]

    def op_post(self, texts: list[str], callsign: str = "W1AW") -> list[dict[str, Any]]:
        """Post each text; return its id and the wall-clock times before and after."""
        opener, csrf = self._session(callsign)
        out = []
        for text in texts:
            t0 = time.time()
            status, body = self._request(
                opener,
                "POST",
                "/api/v1/messages",
                {"channel": "", "text": text},
                {"X-CSRF-Token": csrf},
            )
            if status != 201:
                raise RuntimeError(f"post: HTTP {status} {body[:200]!r}")
            out.append({"id": json.loads(body)["id"], "t0": t0, "t1": time.time()})
        return out

    def op_messages(self) -> list[dict[str, Any]]:
        """Every message of the default zone, newest first, as ``{id, text}``."""
        out: list[dict[str, Any]] = []
        before = ""
        for _ in range(MAX_PAGES):
            query = "?limit=500" + (f"&before={before}" if before else "")
            page = self.get_json("/api/v1/messages" + query)["messages"]
            out.extend({"id": m["id"], "text": m["text"]} for m in page)
            if len(page) < 500:
                return out
            before = page[-1]["id"]
        raise RuntimeError("too many message pages")

    def op_wait_texts(self, texts: list[str], seconds: float, interval: float = 0.02) -> Any:
        """Poll the node until every text is shown; return when each was first seen."""
        seen: dict[str, float] = {}
        wanted = set(texts)
        deadline = time.monotonic() + min(seconds, MAX_WAIT_S)
        while time.monotonic() < deadline:
            page = self.get_json("/api/v1/messages?limit=100")["messages"]
            now = time.time()
            for message in page:
                if message["text"] in wanted and message["text"] not in seen:
                    seen[message["text"]] = now
            if len(seen) == len(wanted):
                break
            time.sleep(interval)
        return {"seen": seen, "missing": sorted(wanted - set(seen))}

    def op_ids(self, zone: str = "MeshChat") -> dict[str, Any]:
        """Every record id the node holds in ``zone`` (the sync API's bootstrap pages)."""
        ids: list[str] = []
        sizes = 0
        after_ts, after_id = 0, ""
        for _ in range(MAX_PAGES):
            query = urllib.parse.urlencode(
                {"zone": zone, "after_ts": after_ts, "after_id": after_id, "limit": 500}
            )
            status, body = self._request(self.plain, "GET", f"/sync/v1/range?{query}")
            if status != 200:
                raise RuntimeError(f"range: HTTP {status}")
            page = msgpack.unpackb(body, raw=False)
            for signed, sig in page["records"]:
                ids.append(hashlib.sha256(signed).hexdigest())
                sizes += len(signed) + len(sig)
                version, _, _, _, ts, _ = msgpack.unpackb(signed, raw=False)
                del version
                after_ts = ts
            if page["records"]:
                after_id = ids[-1]
            if page["done"] or not page["records"]:
                return {"ids": sorted(ids), "bytes": sizes}
        raise RuntimeError("too many range pages")

    # -- link measurements ------------------------------------------------------------

    def op_udp_echo(self, port: int, seconds: float) -> str:
        """Echo UDP datagrams on ``port`` for at most ``seconds`` (a ping responder)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("0.0.0.0", port))
        sock.settimeout(0.5)
        end = time.monotonic() + min(seconds, MAX_WAIT_S)

        def serve() -> None:
            with sock:
                while time.monotonic() < end:
                    try:
                        data, peer = sock.recvfrom(2048)
                    except TimeoutError:
                        continue
                    sock.sendto(data, peer)

        self._background(serve)
        return "ok"

    def op_udp_ping(
        self, host: str, port: int, count: int, interval: float, size: int = 56
    ) -> dict[str, Any]:
        """Send ``count`` datagrams every ``interval``; return round trips and losses."""
        count = min(count, 10_000)
        sent: dict[int, float] = {}
        rtts: dict[int, float] = {}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.005)
            pad = b"\0" * max(0, size - 4)
            next_send = time.monotonic()
            seq = 0
            last_deadline = None
            while seq < count or (last_deadline and time.monotonic() < last_deadline):
                now = time.monotonic()
                if seq < count and now >= next_send:
                    sent[seq] = now
                    sock.sendto(struct.pack("!I", seq) + pad, (host, port))
                    seq += 1
                    next_send += interval
                    if seq == count:
                        last_deadline = time.monotonic() + 3.0
                try:
                    data, _ = sock.recvfrom(2048)
                except (TimeoutError, BlockingIOError):
                    continue
                got = struct.unpack("!I", data[:4])[0]
                if got in sent and got not in rtts:
                    rtts[got] = time.monotonic() - sent[got]
                if seq == count and len(rtts) == count:
                    break
        return {"sent": count, "received": len(rtts), "rtts": sorted(rtts.values())}

    def op_tcp_sink(self, port: int, seconds: float) -> str:
        """Accept one TCP connection on ``port`` and record (time, bytes so far) as it reads."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", port))
        server.listen(1)
        server.settimeout(min(seconds, MAX_WAIT_S))
        samples: list[tuple[float, int]] = []
        self.sinks[port] = samples
        end = time.monotonic() + min(seconds, MAX_WAIT_S)

        def serve() -> None:
            with server:
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    return
                with conn:
                    conn.settimeout(1.0)
                    total = 0
                    while time.monotonic() < end:
                        try:
                            data = conn.recv(65536)
                        except TimeoutError:
                            continue
                        if not data:
                            break
                        total += len(data)
                        samples.append((time.monotonic(), total))

        self.sink_threads[port] = self._background(serve)
        return "ok"

    def op_tcp_sink_result(self, port: int, seconds: float) -> list[tuple[float, int]]:
        deadline = time.monotonic() + min(seconds, MAX_WAIT_S)
        thread = self.sink_threads.get(port)
        while thread is not None and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.sinks.get(port, [])

    def op_tcp_send(self, host: str, port: int, nbytes: int, seconds: float) -> float:
        """Send ``nbytes`` to ``host:port`` and close; return the seconds it took."""
        t0 = time.monotonic()
        with socket.create_connection((host, port), timeout=min(seconds, MAX_WAIT_S)) as sock:
            chunk = b"x" * 16384
            left = nbytes
            while left > 0:
                sock.sendall(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(min(seconds, MAX_WAIT_S))
            sock.recv(1)  # the sink closes once it has read everything
        return time.monotonic() - t0

    def _background(self, target: Any) -> threading.Thread:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread


def main() -> None:
    agent = Agent()
    print(json.dumps({"ok": True, "result": "ready"}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.pop("op")
        try:
            result = getattr(agent, f"op_{op}")(**request)
            reply = {"ok": True, "result": result}
        except Exception as exc:  # reported to the test, which fails with it
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
