#!/usr/bin/env python3
"""An archive of meshchat messages, one file a day (standard library only).

    [[actions]]
    name = "archive"
    on = "message"
    retries = 0
    command = ["meshchat:archive", "--dir", "/var/lib/meshchat/archive"]

Each event becomes one line of ``--dir/YYYY-MM-DD.log`` (the UTC day of the message):

    2024-05-01T14:03:07Z <TAB> zone <TAB> channel <TAB> callsign <TAB> node <TAB> text

with TABs in the text written as spaces and line breaks as ``\\n``. Concurrent runs append
whole lines (the file is locked while a line is written).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
from pathlib import Path


def line(event: dict[str, object]) -> tuple[str, str]:
    """Return (the day's file name, the archive line) of an event."""
    ts = int(str(event.get("ts", 0))) // 1000
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
    text = str(event.get("text", "")).replace("\\", "\\\\").replace("\t", " ")
    text = text.replace("\r", "").replace("\n", "\\n")
    cells = [str(event.get(k, "")).replace("\t", " ") for k in ("zone", "channel", "callsign")]
    cells.append(str(event.get("node", "")).replace("\t", " "))
    return f"{stamp[:10]}.log", "\t".join([stamp, *cells, text]) + "\n"


def main(argv: list[str] | None = None) -> int:
    top = argparse.ArgumentParser(prog="archive.py", description="append the event to a file")
    top.add_argument("--dir", required=True, type=Path, help="folder of the daily files")
    args = top.parse_args(argv)
    event = json.load(sys.stdin)
    name, text = line(event)
    args.dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.dir / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    print(f"archived to {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
