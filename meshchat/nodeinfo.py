"""What a node says about itself: its platform and its signed ``node`` record (DESIGN §2.1)."""

from __future__ import annotations

import asyncio
import contextlib
import platform as _platform
from pathlib import Path

from meshchat import __version__
from meshchat.outbox import Outbox
from meshchat.store.db import Store


def node_platform() -> str:
    """Return ``openwrt``, ``pi`` or the system's name (shown to peers in the node record)."""
    if Path("/etc/openwrt_release").exists():
        return "openwrt"
    with contextlib.suppress(OSError):
        if "raspberry" in Path("/proc/device-tree/model").read_text().lower():
            return "pi"
    return _platform.system().lower() or "unknown"


async def announce(outbox: Outbox, store: Store, zones: tuple[str, ...]) -> None:
    """Sign a ``node`` record in each zone when the name, platform or version changed."""
    platform = await asyncio.to_thread(node_platform)
    fingerprint = f"{outbox.node_name}|{platform}|{__version__}"
    for zone in zones:
        key = f"announced:{zone}"
        if await store.meta_get(key) == fingerprint:
            continue
        await outbox.announce(zone, platform, __version__)
        await store.meta_set(key, fingerprint)
