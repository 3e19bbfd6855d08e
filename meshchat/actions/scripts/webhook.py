#!/usr/bin/env python3
"""A generic HTTP webhook for meshchat: POST the event as JSON (standard library only).

    [[actions]]
    name = "to-dispatch"
    on = "message"
    channel = "ops"
    command = ["meshchat:webhook", "--url", "http://10.0.0.5:9000/hook",
               "--header", "X-Token: s3cret"]

The request body is the event exactly as the script got it on stdin, with
``Content-Type: application/json``. A reply outside 2xx, a timeout (--timeout, default 15 s)
or an unreachable URL exits 1, so the runner retries the run.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request


def main(argv: list[str] | None = None) -> int:
    top = argparse.ArgumentParser(prog="webhook.py", description="POST the event as JSON")
    top.add_argument("--url", required=True, help="http:// or https:// URL to POST to")
    top.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'")
    top.add_argument("--timeout", type=float, default=15.0, help="seconds")
    args = top.parse_args(argv)
    if not args.url.startswith(("http://", "https://")):
        print("--url must be an http:// or https:// URL", file=sys.stderr)
        return 2
    headers = {"Content-Type": "application/json"}
    for raw in args.header:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or "\n" in raw or "\r" in raw:
            print(f"--header must be 'Name: value', got {raw!r}", file=sys.stderr)
            return 2
        headers[name.strip()] = value.strip()
    body = sys.stdin.buffer.read()
    request = urllib.request.Request(args.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as reply:
            print(f"HTTP {reply.status}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"HTTP {exc.code} from the webhook", file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot reach the webhook: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
