#!/usr/bin/env python3
"""E-mail out for meshchat through a sendmail-compatible MTA (standard library only).

    [[actions]]
    name = "mail-me"
    on = "mention_offline"
    command = ["meshchat:mail", "--contacts", "--from", "meshchat@node.local.mesh"]

  --to ADDRESS    a recipient (repeatable); --contacts adds the event's email contacts
                  (mention_offline carries the addressee's)
  --sendmail PATH the MTA (default /usr/sbin/sendmail: postfix, exim, msmtp, nullmailer…);
                  it is run as ``sendmail -i -- RECIPIENT…`` with the message on stdin
  --from ADDRESS  the sender (default meshchat@<host name>)

Header values are built with the standard ``email`` package, so nothing a user types can
add a header or a recipient.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
from email.message import EmailMessage
from typing import Any

ADDRESS = re.compile(r"[^@\s,;<>\"']{1,64}@[^@\s,;<>\"']+\.[^@\s,;<>\"']+")
TIMEOUT_S = 30


def build(event: dict[str, Any], sender: str, to: list[str]) -> EmailMessage:
    """Return the message telling of ``event``."""
    who = str(event.get("callsign") or "?")
    where = "a direct message" if event.get("to") else f"#{event.get('channel') or 'Everything'}"
    if event.get("event") in ("mention", "mention_offline"):
        subject = f"{who} mentioned {event.get('target') or 'you'} in {where}"
    elif event.get("event") == "direct":
        subject = f"{who} sent you {where}"
    else:
        subject = f"{who} in {where}"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = f"[meshchat {event.get('zone', '')}] {subject}"
    msg.set_content(
        f"{event.get('text', '')}\n\n-- \n{who} via node {event.get('node', '')}, "
        f"zone {event.get('zone', '')}, message {str(event.get('id', ''))[:16]}\n"
    )
    return msg


def main(argv: list[str] | None = None) -> int:
    top = argparse.ArgumentParser(prog="mail.py", description="mail the event on stdin")
    top.add_argument("--to", action="append", default=[], metavar="ADDRESS")
    top.add_argument("--contacts", action="store_true", help="also the event's email contacts")
    top.add_argument("--sendmail", default="/usr/sbin/sendmail")
    top.add_argument("--from", dest="sender", default=f"meshchat@{socket.gethostname()}")
    args = top.parse_args(argv)
    event = json.load(sys.stdin)
    to = list(args.to)
    if args.contacts:
        to += [c["address"] for c in event.get("contacts") or () if c.get("kind") == "email"]
    to = [a for i, a in enumerate(to) if a not in to[:i]]
    bad = [a for a in to if not ADDRESS.fullmatch(a)]
    if bad:
        print(f"not an e-mail address: {bad[0]!r}", file=sys.stderr)
        return 2
    if not to:
        print("no e-mail recipient for this event")
        return 0
    message = build(event, args.sender, to).as_bytes()
    subprocess.run([args.sendmail, "-i", "--", *to], input=message, check=True, timeout=TIMEOUT_S)
    print(f"mailed {len(to)} recipient(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
