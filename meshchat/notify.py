"""sd_notify(3) without libsystemd: one datagram to the socket in ``$NOTIFY_SOCKET``.

systemd starts a ``Type=notify`` service with ``NOTIFY_SOCKET`` set to a path (or, with a
leading ``@``, an abstract socket name) and waits for ``READY=1``. Outside systemd the
variable is unset and every call is a no-op, so the daemon calls it unconditionally.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


def address(env: Mapping[str, str] | None = None) -> str | bytes | None:
    """Return the notification socket's address, or None when no service manager listens."""
    value = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if value.startswith("@"):
        return b"\0" + value[1:].encode()  # the Linux abstract namespace
    if value.startswith("/"):
        return value
    return None  # unset, or a kind we do not speak (vsock)


def notify(*states: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``KEY=VALUE`` states in one datagram; tell whether a service manager got it."""
    target = address(env)
    if target is None or not states:
        return False
    payload = "\n".join(states).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            # Never wait on the service manager: a full socket drops the notice instead.
            sock.setblocking(False)
            sock.sendto(payload, target)
    except OSError as exc:
        log.debug("sd_notify %s failed: %s", states, exc)
        return False
    return True


def ready(status: str) -> bool:
    """Tell the service manager the node is serving."""
    return notify("READY=1", f"STATUS={status}")


def reloading() -> bool:
    """Tell the service manager a reload has begun (``READY=1`` ends it)."""
    # MONOTONIC_USEC is what systemd 253+ asks of a reload notice; older ones ignore it.
    return notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")


def stopping() -> bool:
    """Tell the service manager the node is shutting down."""
    return notify("STOPPING=1", "STATUS=stopping")
