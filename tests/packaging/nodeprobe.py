"""Talk to a node from inside its network namespace (run through nsenter; stdlib only).

python nodeprobe.py wait URL          # until /api/v1/status answers 200
python nodeprobe.py check URL         # /meshchat/ and /sync/v1/info answer; prints info
python nodeprobe.py post URL TEXT     # log in as W1AW and post TEXT
python nodeprobe.py has URL TEXT      # exit 0 when a message with TEXT is in the log
"""

from __future__ import annotations

import http.cookiejar
import json
import sys
import time
import urllib.request

OPENER = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def call(
    url: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with OPENER.open(req, timeout=10) as resp:
        return resp.status, resp.read(), resp.headers.get("Content-Type", "")


def login(base: str) -> dict[str, str]:
    _, body, _ = call(base + "/api/v1/login", {"callsign": "W1AW"})
    return {"X-CSRF-Token": json.loads(body)["csrf_token"]}


def main(cmd: str, base: str, *rest: str) -> int:
    if cmd == "wait":
        deadline = time.monotonic() + 60
        error: object = None
        while time.monotonic() < deadline:
            try:
                if call(base + "/api/v1/status")[0] == 200:
                    return 0
            except OSError as exc:
                error = exc
            time.sleep(0.3)
        print(f"no answer from {base}: {error}", file=sys.stderr)
        return 1
    if cmd == "check":
        status, _, kind = call(base + "/meshchat/")
        assert status == 200 and kind.startswith("text/html"), (status, kind)
        status, _, kind = call(base + "/sync/v1/info")
        assert status == 200 and kind == "application/msgpack", (status, kind)
        _, raw, _ = call(base + "/api/v1/status")
        print(json.dumps(json.loads(raw)["node"]))
        return 0
    if cmd == "post":
        status, body, _ = call(
            base + "/api/v1/messages", {"channel": "", "text": rest[0]}, login(base)
        )
        assert status == 201, (status, body)
        return 0
    if cmd == "has":
        headers = login(base)
        req = urllib.request.Request(base + "/api/v1/messages?channel=&limit=100", headers=headers)
        with OPENER.open(req, timeout=10) as resp:
            page = json.loads(resp.read())
        texts = [m["text"] for m in page.get("messages", page if isinstance(page, list) else [])]
        return 0 if rest[0] in texts else 1
    return 2


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
