"""A user-space radio-link emulator: TAP devices in network namespaces and a frame relay.

The kernels meshchat is tested on have no ``sch_netem``, so delay and loss cannot come
from ``tc``. Instead every emulated link is a pair of TAP devices, one in each of the two
namespaces it joins, and a relay thread in this process reads each Ethernet frame from one
TAP and writes it to the other after a serialization delay (the rate), a propagation delay,
and a random loss draw. Each link is its own L2 segment, so multicast (mDNS, ARP) reaches
the neighbour and no further, exactly as on a point-to-point radio link.

Nothing touches the root namespace but the TAP file descriptors themselves: the TAPs are
created here, moved into their namespaces at once, and vanish when the relay closes them.
Addresses are only ever assigned inside the namespaces; no route is added in the root one.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import itertools
import os
import random
import selectors
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_FRAME = 65_536
READ_BURST = 64  # frames read from one TAP per wake-up, so one busy TAP cannot starve the rest
IP = "ip"

# ``tap(link, direction, t, frame)``: called in the relay thread for every delivered frame.
FrameTap = Callable[[int, int, float, bytes], None]


@dataclass
class LinkParams:
    """One direction's shaping: rate (bit/s, 0 = unlimited), one-way delay, loss, queue."""

    rate_bps: float = 300_000.0
    delay_s: float = 0.200
    loss: float = 0.05
    queue_bytes: int = 64 * 1024  # drop-tail beyond this backlog, like a radio's TX queue


@dataclass
class DirectionStats:
    """Counters of one direction of one link (frames and bytes as Ethernet frames)."""

    offered_frames: int = 0
    offered_bytes: int = 0
    delivered_frames: int = 0
    delivered_bytes: int = 0
    lost_frames: int = 0  # the random loss draw
    overflow_frames: int = 0  # the queue was full
    cut_frames: int = 0  # the link was down
    write_errors: int = 0  # the receiving interface refused it (down inside the namespace)
    multicast_frames: int = 0  # offered frames with a group destination MAC
    mdns_frames: int = 0  # offered UDP frames to or from port 5353


@dataclass
class _Direction:
    src_fd: int
    dst_fd: int
    params: LinkParams
    stats: DirectionStats = field(default_factory=DirectionStats)
    busy_until: float = 0.0  # when the transmitter finishes the frames already queued


@dataclass
class Link:
    """A point-to-point link between namespace ``a`` (TAP ``a_if``) and ``b`` (``b_if``)."""

    index: int
    a: str
    b: str
    a_if: str
    b_if: str
    up: bool = True
    directions: tuple[_Direction, _Direction] | None = None  # 0: a→b, 1: b→a

    def stats(self) -> tuple[DirectionStats, DirectionStats]:
        """Return copies of the (a→b, b→a) counters."""
        assert self.directions is not None
        return (
            DirectionStats(**vars(self.directions[0].stats)),
            DirectionStats(**vars(self.directions[1].stats)),
        )

    def delivered_bytes(self) -> int:
        """Return the bytes delivered in both directions so far."""
        a, b = self.stats()
        return a.delivered_bytes + b.delivered_bytes


def run(*args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run a command (``ip …``) and return its result; raise with its stderr on failure."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done


def in_ns(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command inside namespace ``ns``."""
    return run(IP, "netns", "exec", ns, *args, check=check)


def open_tap(name: str) -> int:
    """Create a non-persistent TAP device ``name``; it lives while the returned fd is open."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        ifr = struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
    except OSError:
        os.close(fd)
        raise
    return fd


def _is_mdns(frame: bytes) -> bool:
    """Tell whether an Ethernet frame is UDP to or from port 5353 (IPv4 or IPv6)."""
    if len(frame) < 14:
        return False
    ethertype = frame[12:14]
    if ethertype == b"\x08\x00" and len(frame) >= 34 and frame[23] == 17:
        ihl = (frame[14] & 0x0F) * 4
        ports = frame[14 + ihl : 14 + ihl + 4]
    elif ethertype == b"\x86\xdd" and len(frame) >= 58 and frame[20] == 17:
        ports = frame[54:58]
    else:
        return False
    return len(ports) == 4 and 5353 in struct.unpack("!HH", ports)


class LinkEmulator:
    """Namespaces joined by shaped point-to-point links, relayed by one thread.

    Build it with ``add_namespace`` and ``add_link``, then ``start()``; ``close()`` stops the
    relay, closes every TAP (the kernel removes them) and deletes every namespace it made.
    It is idempotent and safe after a partial setup, so callers put it in a ``finally``.
    """

    def __init__(self, prefix: str, seed: int = 1, tap: FrameTap | None = None) -> None:
        self.prefix = prefix
        self.namespaces: list[str] = []
        self.links: list[Link] = []
        self.tap = tap
        self._fds: list[int] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._queue: list[tuple[float, int, _Direction, bytes]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._closed = False
        self.error: BaseException | None = None

    # -- building ---------------------------------------------------------------------

    def add_namespace(self, name: str, ipv6: bool = False) -> str:
        """Create namespace ``name`` with loopback up; IPv6 off unless asked (quiet links)."""
        run(IP, "netns", "add", name)
        self.namespaces.append(name)
        run(IP, "-n", name, "link", "set", "lo", "up")
        flag = "0" if ipv6 else "1"
        script = (
            f"echo {flag} > /proc/sys/net/ipv6/conf/default/disable_ipv6; "
            f"echo {flag} > /proc/sys/net/ipv6/conf/all/disable_ipv6; "
            "echo 1 > /proc/sys/net/ipv4/ip_forward"
        )
        in_ns(name, "sh", "-c", script)
        return name

    def add_link(
        self,
        a: str,
        a_if: str,
        a_addr: str,
        b: str,
        b_if: str,
        b_addr: str,
        params: LinkParams | None = None,
        params_back: LinkParams | None = None,
    ) -> Link:
        """Join namespaces ``a`` and ``b`` with a TAP in each (``a_if``, ``b_if``), addressed
        ``a_addr`` / ``b_addr`` (CIDR) inside the namespaces only."""
        index = len(self.links)
        fds = []
        for ns, ifname, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            # Created under a unique name in the root namespace, moved out at once, renamed.
            temp = f"{self.prefix}{index}{'ab'[len(fds)]}"
            assert len(temp) <= 15, f"interface name {temp!r} is too long"
            fd = open_tap(temp)
            self._fds.append(fd)
            fds.append(fd)
            run(IP, "link", "set", "dev", temp, "netns", ns)
            run(IP, "-n", ns, "link", "set", "dev", temp, "name", ifname)
            run(IP, "-n", ns, "addr", "add", addr, "dev", ifname)
            run(IP, "-n", ns, "link", "set", "dev", ifname, "up")
        forward = params or LinkParams()
        back = params_back or LinkParams(**vars(forward))
        link = Link(index, a, b, a_if, b_if)
        link.directions = (_Direction(fds[0], fds[1], forward), _Direction(fds[1], fds[0], back))
        self.links.append(link)
        return link

    # -- control ----------------------------------------------------------------------

    def set_params(self, link: Link, **changes: float) -> None:
        """Change the shaping of both directions of ``link`` (e.g. ``loss=0``)."""
        assert link.directions is not None
        with self._lock:
            for direction in link.directions:
                for key, value in changes.items():
                    setattr(direction.params, key, value)

    def set_up(self, link: Link, up: bool) -> None:
        """Pass (``True``) or silently drop (``False``) every frame on ``link``."""
        with self._lock:
            link.up = up

    def reset_stats(self) -> None:
        """Zero every counter (before a measurement)."""
        with self._lock:
            for link in self.links:
                assert link.directions is not None
                for direction in link.directions:
                    direction.stats = DirectionStats()

    # -- relay ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the relay thread."""
        self._thread = threading.Thread(target=self._run, name="linkemu-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._relay()
        except BaseException as exc:  # reported by close(): a dead relay must not go unnoticed
            self.error = exc

    def _relay(self) -> None:
        sel = selectors.DefaultSelector()
        try:
            sel.register(self._wake_r, selectors.EVENT_READ, None)
            for link in self.links:
                assert link.directions is not None
                for direction in link.directions:
                    sel.register(direction.src_fd, selectors.EVENT_READ, (link, direction))
            while not self._stop.is_set():
                timeout = None
                if self._queue:
                    timeout = max(0.0, self._queue[0][0] - time.monotonic())
                for key, _ in sel.select(timeout if timeout is not None else 1.0):
                    if key.data is None:
                        with contextlib.suppress(BlockingIOError, InterruptedError):
                            os.read(self._wake_r, 4096)
                        continue
                    self._read_frames(*key.data)
                self._deliver_due()
        finally:
            sel.close()

    def _read_frames(self, link: Link, direction: _Direction) -> None:
        for _ in range(READ_BURST):
            try:
                frame = os.read(direction.src_fd, MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # the interface went down inside the namespace
            if not frame:
                return
            self._offer(link, direction, frame, time.monotonic())

    def _offer(self, link: Link, direction: _Direction, frame: bytes, now: float) -> None:
        stats, params = direction.stats, direction.params
        with self._lock:
            stats.offered_frames += 1
            stats.offered_bytes += len(frame)
            if frame and frame[0] & 1:
                stats.multicast_frames += 1
            if _is_mdns(frame):
                stats.mdns_frames += 1
            if not link.up:
                stats.cut_frames += 1
                return
            if params.loss and self._rng.random() < params.loss:
                stats.lost_frames += 1
                return
            start = max(now, direction.busy_until)
            if params.rate_bps:
                backlog = (start - now) * params.rate_bps / 8
                if backlog + len(frame) > params.queue_bytes:
                    stats.overflow_frames += 1
                    return
                direction.busy_until = start + len(frame) * 8 / params.rate_bps
            else:
                direction.busy_until = start
            due = direction.busy_until + params.delay_s
            heapq.heappush(self._queue, (due, next(self._seq), direction, frame))

    def _deliver_due(self) -> None:
        now = time.monotonic()
        while self._queue and self._queue[0][0] <= now:
            _, _, direction, frame = heapq.heappop(self._queue)
            try:
                os.write(direction.dst_fd, frame)
            except OSError:
                with self._lock:
                    direction.stats.write_errors += 1
                continue
            with self._lock:
                direction.stats.delivered_frames += 1
                direction.stats.delivered_bytes += len(frame)
            if self.tap is not None:
                link_index, way = self._where(direction)
                self.tap(link_index, way, now, frame)

    def _where(self, direction: _Direction) -> tuple[int, int]:
        for link in self.links:
            assert link.directions is not None
            if direction is link.directions[0]:
                return link.index, 0
            if direction is link.directions[1]:
                return link.index, 1
        raise LookupError("unknown direction")  # pragma: no cover

    # -- teardown ---------------------------------------------------------------------

    def close(self) -> list[str]:
        """Stop the relay, remove every TAP and namespace; return what could not be removed."""
        if self._closed:
            return []
        self._closed = True
        self._stop.set()
        with contextlib.suppress(BlockingIOError, InterruptedError):
            os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=10)
        problems = []
        if self.error is not None:
            problems.append(f"the relay failed: {self.error!r}")
        if self._thread is not None and self._thread.is_alive():
            problems.append("relay thread did not stop")
        for fd in [*self._fds, self._wake_r, self._wake_w]:
            try:
                os.close(fd)
            except OSError as exc:
                problems.append(f"close fd {fd}: {exc}")
        self._fds.clear()
        for ns in reversed(self.namespaces):
            done = run(IP, "netns", "del", ns, check=False)
            if done.returncode != 0:
                problems.append(f"ip netns del {ns}: {done.stderr.strip()}")
        self.namespaces.clear()
        return problems


def root_links(prefix: str) -> list[str]:
    """Return the root namespace's links whose names start with ``prefix``."""
    links = run(IP, "-o", "link", "show").stdout.splitlines()
    return [f"link {line.split(':')[1].strip()}" for line in links if f" {prefix}" in line]


def leftovers(prefix: str) -> list[str]:
    """Return namespaces and root-namespace links whose names start with ``prefix``."""
    names = run(IP, "netns", "list").stdout.split()
    return [f"netns {n}" for n in names if n.startswith(prefix)] + root_links(prefix)


def root_addresses(network_prefix: str) -> Sequence[str]:
    """Return addresses and routes in the root namespace inside ``network_prefix`` (e.g. 10.99.)."""
    addrs = run(IP, "-o", "addr", "show").stdout.splitlines()
    routes = run(IP, "route", "show", "table", "all").stdout.splitlines()
    return [line for line in [*addrs, *routes] if network_prefix in line]
