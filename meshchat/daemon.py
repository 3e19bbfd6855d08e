"""``meshchat serve`` as a service: readiness, reload on SIGHUP, and a clean stop.

Under systemd (``Type=notify``) the node says ``READY=1`` once it listens, ``RELOADING=1``
… ``READY=1`` around a reload and ``STOPPING=1`` when it stops (``notify``); under procd
or a terminal the same calls are no-ops. SIGINT and SIGTERM stop the node; SIGHUP re-reads
the config and applies what it can (``reload``).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sys
from collections.abc import Callable

from meshchat import __version__, app, notify, reload
from meshchat.config import Config
from meshchat.errors import ConfigError

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL = 0, 1


def status_line(cfg: Config, url: str) -> str:
    """Return the one-line status a service manager shows for the node."""
    return f"serving {', '.join(cfg.node.zones)} on {url}"


async def serve(cfg: Config, reread: Callable[[], Config]) -> int:
    """Run a node until SIGINT or SIGTERM; ``reread`` loads the config again for SIGHUP."""
    try:
        running = await app.start(cfg)
    except OSError as exc:
        why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or exc
        print(f"meshchat: error: cannot listen on {cfg.node.listen}: {why}", file=sys.stderr)
        return EXIT_FAIL
    lan = ""
    if cfg.listen_host in ("0.0.0.0", "::"):
        lan = f" (on the LAN: http://{socket.gethostname()}:{cfg.listen_port}/meshchat/)"
    print(
        f"meshchat {__version__}: node {cfg.node.name!r} serving zone(s) "
        f"{', '.join(cfg.node.zones)}\n"
        f"  open {running.url}/meshchat/{lan}\n"
        f"  data in {cfg.node.data_dir.resolve()}",
        flush=True,
    )
    stop = asyncio.Event()
    lock = asyncio.Lock()  # one reload at a time; a second SIGHUP waits its turn
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def hangup() -> None:
        if not running.node.tasks.closing:
            running.node.tasks.spawn(reload_now(running, reread, lock), "reload")

    loop.add_signal_handler(signal.SIGHUP, hangup)
    # Ready only once every handler is in place: a reload may follow at once.
    notify.ready(status_line(cfg, running.url))
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        notify.stopping()
        await running.stop()
    return EXIT_OK


async def reload_now(
    running: app.RunningNode, reread: Callable[[], Config], lock: asyncio.Lock
) -> reload.Outcome | None:
    """Re-read the config and apply it; a config that does not load changes nothing."""
    async with lock:
        notify.reloading()
        try:
            try:
                new = await asyncio.to_thread(reread)  # the file is read off the loop
            except ConfigError as exc:
                log.error("reload refused, the running config stays: %s", exc)
                return None
            return await reload.apply(running, new)
        finally:
            notify.ready(status_line(running.node.config, running.url))
