#!/usr/bin/env python3
"""SMS out and in for meshchat, through gammu-smsd or smstools (standard library only).

Out (an action rule runs it; the event arrives as JSON on stdin):

    command = ["meshchat:sms", "send", "--via", "gammu", "--to", "+15551234567"]
    command = ["meshchat:sms", "send", "--via", "smstools", "--contacts"]

  --via gammu      runs ``gammu-smsd-inject TEXT <number> -text <text>`` (``--inject PATH``)
  --via smstools   writes a spool file with a ``To:`` header into ``--outgoing DIR``
                   (default /var/spool/sms/outgoing)
  --to NUMBER      a recipient (repeatable); --contacts adds the event's sms contacts
                   (mention_offline carries the addressee's). Messages that came in by SMS
                   are not sent out again (no echo between gateways).

In (the SMS daemon runs it for every received message):

    gammu-smsd:  RunOnReceive = python3 .../sms.py receive-gammu --url http://127.0.0.1:8080
                   --callsign W1AW-GW --channel SMS
                 (reads SMS_MESSAGES, SMS_1_NUMBER, SMS_1_TEXT…, DECODED_1_TEXT)
    smstools:    eventhandler = a wrapper running
                   python3 .../sms.py receive-smstools --url … --callsign W1AW-GW "$@"
                 (smsd calls it with ``RECEIVED <file>``; other events are ignored)

Received messages go to ``POST /api/v1/inbound`` with the token from --token or, better
(it stays out of ``ps``), ``MESHCHAT_INBOUND_TOKEN``. The node posts one under the
callsign its ``[[gateway_senders]]`` maps the number to, else under --callsign with the
number shown. ``meshchat scripts`` prints where this file is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

GSM_SINGLE = 160
TIMEOUT_S = 20


def message_text(event: dict[str, Any], max_chars: int) -> str:
    """Return the SMS text of an event: who, where, what; cut to ``max_chars``."""
    who = str(event.get("callsign") or "?")
    if event.get("to"):
        where = " (direct)"
    elif event.get("channel"):
        where = f" #{event['channel']}"
    else:
        where = ""
    text = f"{who}{where}: {event.get('text', '')}"
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def recipients(args: argparse.Namespace, event: dict[str, Any]) -> list[str]:
    """Return the numbers to send to: --to, then the event's sms contacts (--contacts)."""
    found = list(args.to or [])
    if args.contacts:
        found += [c["address"] for c in event.get("contacts") or () if c.get("kind") == "sms"]
    return [n for i, n in enumerate(found) if n and n not in found[:i]]


def send_gammu(inject: str, number: str, text: str) -> None:
    """Queue one SMS with gammu-smsd-inject (an argv: the text is never parsed by a shell)."""
    extra = ["-len", str(len(text))] if len(text) > GSM_SINGLE else []
    if not text.isascii():
        extra.append("-unicode")
    subprocess.run([inject, "TEXT", number, *extra, "-text", text], check=True, timeout=TIMEOUT_S)


def send_smstools(outgoing: Path, number: str, text: str) -> None:
    """Write one smstools spool file; written under a dot name, then renamed into place."""
    headers = f"To: {number.lstrip('+')}\n"
    if not text.isascii():
        headers += "Alphabet: UTF-8\n"
    name = f"meshchat-{secrets.token_hex(6)}"
    tmp = outgoing / f".{name}"
    tmp.write_text(f"{headers}\n{text}\n", encoding="utf-8")
    os.replace(tmp, outgoing / name)


def cmd_send(args: argparse.Namespace) -> int:
    event = json.load(sys.stdin)
    if event.get("gateway") == "sms":
        print("skipped: the message came in by SMS")
        return 0
    numbers = recipients(args, event)
    if not numbers:
        print("no SMS recipient for this event")
        return 0
    text = message_text(event, args.max_chars)
    for number in numbers:
        if not number.lstrip("+").isdigit():
            print(f"not a phone number: {number!r}", file=sys.stderr)
            return 2
        if args.via == "gammu":
            send_gammu(args.inject, number, text)
        else:
            send_smstools(Path(args.outgoing), number, text)
    print(f"queued {len(numbers)} SMS via {args.via}")
    return 0


def post_inbound(args: argparse.Namespace, number: str, text: str) -> str:
    """Post one received SMS to the node; return the new message's id."""
    token = args.token or os.environ.get("MESHCHAT_INBOUND_TOKEN", "")
    body: dict[str, Any] = {
        "channel": args.channel,
        "callsign": args.callsign,
        "text": text,
        "gateway": "sms",
        "sender": number,
    }
    if args.zone:
        body["zone"] = args.zone
    base = args.url.rstrip("/").removesuffix("/meshchat")
    request = urllib.request.Request(
        f"{base}/api/v1/inbound",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as reply:
        return str(json.load(reply)["id"])


def gammu_messages(env: dict[str, str]) -> list[tuple[str, str]]:
    """Return (number, text) of what gammu-smsd hands RunOnReceive in its environment."""
    if env.get("DECODED_PARTS") and "DECODED_1_TEXT" in env:
        return [(env.get("SMS_1_NUMBER", ""), env["DECODED_1_TEXT"])]  # one long message
    count = int(env.get("SMS_MESSAGES", "0") or 0)
    found = []
    for i in range(1, count + 1):
        found.append((env.get(f"SMS_{i}_NUMBER", ""), env.get(f"SMS_{i}_TEXT", "")))
    return found


def smstools_message(path: Path) -> tuple[str, str]:
    """Return (number, text) of a received smstools file (headers, blank line, body)."""
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    headers = {}
    for line in head.decode("latin-1").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    alphabet = headers.get("alphabet", "").upper()
    if alphabet.startswith("UCS"):
        text = body.decode("utf-16-be", "replace")
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
    number = headers.get("from", "")
    return (f"+{number}" if number.isdigit() else number), text.strip()


def cmd_receive(args: argparse.Namespace, messages: list[tuple[str, str]]) -> int:
    failed = 0
    for number, text in messages:
        if not text.strip():
            continue
        try:
            print(post_inbound(args, number, text))
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            print(f"cannot post the SMS from {number}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="sms.py", description="meshchat SMS gateway")
    sub = top.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send", help="send the event on stdin as SMS")
    send.add_argument("--via", choices=("gammu", "smstools"), default="gammu")
    send.add_argument("--to", action="append", metavar="NUMBER")
    send.add_argument("--contacts", action="store_true", help="also the event's sms contacts")
    send.add_argument("--inject", default="gammu-smsd-inject", help="gammu-smsd-inject path")
    send.add_argument("--outgoing", default="/var/spool/sms/outgoing", help="smstools spool")
    send.add_argument("--max-chars", type=int, default=3 * 153, help="longest SMS text")
    for name in ("receive-gammu", "receive-smstools"):
        recv = sub.add_parser(name, help="post received SMS to the node")
        recv.add_argument("--url", default="http://127.0.0.1:8080", help="the node's URL")
        recv.add_argument("--callsign", required=True, help="the gateway's own callsign")
        recv.add_argument("--channel", default="SMS", help="channel to post in")
        recv.add_argument("--zone", help="zone (default: the node's first)")
        recv.add_argument("--token", help="inbound token (default: $MESHCHAT_INBOUND_TOKEN)")
        if name == "receive-smstools":
            recv.add_argument("event", help="smsd's event: RECEIVED, SENT, FAILED, REPORT…")
            recv.add_argument("file", type=Path, help="the message file")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "send":
        return cmd_send(args)
    if args.command == "receive-gammu":
        return cmd_receive(args, gammu_messages(dict(os.environ)))
    if args.event != "RECEIVED":
        return 0
    return cmd_receive(args, [smstools_message(args.file)])


if __name__ == "__main__":
    sys.exit(main())
