"""Meshchat nodes in network namespaces joined as a line by the link emulator.

Shared by the netns suite and ``bench/bench_netns.py``. ``Line`` owns everything it makes:
namespaces, TAP devices, the relay thread, ``meshchat serve`` processes and in-namespace
agents; ``close()`` removes all of it (PIDs it started only) and reports what it could not.

Addresses (inside the namespaces only; nothing is routed from the root namespace): link
``k`` joins node ``k`` (``10.99.k.1/30`` on its TAP ``mcr``) and node ``k+1``
(``10.99.k.2/30`` on ``mcl``). Each node forwards and has static routes along the line.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.netns.linkemu import IP, FrameTap, Link, LinkEmulator, LinkParams, run

AGENT = Path(__file__).with_name("agent.py")
PORT = 8080
ZONE = "MeshChat"
NET = "10.99."
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
STALE_AFTER_S = 600.0
_runs = itertools.count()
_NAME = re.compile(r"^mc\d+x\d+-n\d+$")
# setpriv (util-linux) makes a child get SIGKILL when the test process dies, even by
# SIGKILL; it execs ``ip netns exec``, which execs the command: one PID throughout.
_SETPRIV = shutil.which("setpriv")

T = TypeVar("T")


def missing_requirements() -> str:
    """Return why the netns suite cannot run here, or "" when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and TAP devices)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    if shutil.which(IP) is None:
        return "needs iproute2 (the ip command)"
    return ""


def in_netns(ns: str, *command: str) -> list[str]:
    """Return the argv that runs ``command`` in ``ns`` and dies with this process."""
    guard = [_SETPRIV, "--pdeathsig", "KILL"] if _SETPRIV else []
    return [*guard, IP, "netns", "exec", ns, *command]


def sweep_stale() -> list[str]:
    """Delete namespaces an earlier, killed run of this suite left: our name pattern, no
    process inside (a live run always has its agents there), and over ten minutes old."""
    removed = []
    for name in run(IP, "netns", "list").stdout.split():
        path = Path("/run/netns") / name
        if not _NAME.match(name) or not path.exists():
            continue
        if time.time() - path.stat().st_mtime < STALE_AFTER_S:
            continue
        if run(IP, "netns", "pids", name, check=False).stdout.strip():
            continue
        if run(IP, "netns", "del", name, check=False).returncode == 0:
            removed.append(name)
    return removed


def run_prefix() -> str:
    """Return a short prefix unique to this process and run, for namespace and TAP names."""
    return f"mc{os.getpid() % 100_000}x{next(_runs) % 100}-"


class AgentProc:
    """``agent.py`` running in one namespace; one JSON request and reply a line."""

    def __init__(self, ns: str, log: Path) -> None:
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            in_netns(ns, sys.executable, "-u", str(AGENT)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._buf = b""
        hello = self._readline(time.monotonic() + START_TIMEOUT_S)
        if not hello.get("ok"):
            raise RuntimeError(f"agent in {ns} did not start: {hello}")

    def send(self, op: str, **kw: Any) -> None:
        """Send a request without waiting for the reply (read it with ``receive``)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **kw}).encode() + b"\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float) -> Any:
        """Return the result of the oldest request sent; raise on its error or a timeout."""
        reply = self._readline(time.monotonic() + timeout)
        if not reply.get("ok"):
            raise RuntimeError(f"agent: {reply.get('error')}")
        return reply["result"]

    def call(self, op: str, timeout: float = 30.0, **kw: Any) -> Any:
        """Send a request and return its result."""
        self.send(op, **kw)
        return self.receive(timeout)

    def _readline(self, deadline: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("agent did not answer in time")
                if sel.select(left):
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        raise RuntimeError(f"agent exited (code {self.proc.poll()})")
                    self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return dict(json.loads(line))

    def close(self) -> None:
        """End the agent (EOF on stdin, then SIGKILL by PID if it lingers)."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        _reap(self.proc, 5.0)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def _reap(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Wait for ``proc`` (a PID we started) to exit; SIGKILL it after ``grace`` seconds."""
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass
class NodeProc:
    """One ``meshchat serve`` process in namespace ``ns``, logging to ``log``."""

    index: int
    ns: str
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Tell whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM the node (its PID only), wait, SIGKILL after a grace; return its code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
        _reap(self.proc, STOP_TIMEOUT_S)
        code = self.proc.returncode
        self.proc = None
        return code


@dataclass
class Line:
    """``n`` namespaces in a line; node ``i`` may run meshchat and always has an agent."""

    base: Path
    n: int
    params: LinkParams = field(default_factory=LinkParams)
    ipv6: bool = False
    seed: int = 1
    tap: FrameTap | None = None
    prefix: str = field(default_factory=run_prefix)
    emu: LinkEmulator | None = None
    nodes: list[NodeProc] = field(default_factory=list)
    agents: list[AgentProc] = field(default_factory=list)

    # -- topology ---------------------------------------------------------------------

    def ns(self, i: int) -> str:
        """Return the namespace of node ``i``."""
        return f"{self.prefix}n{i}"

    @staticmethod
    def addr(link: int, side: int) -> str:
        """Return the address on ``link`` of its left (0) or right (1) node."""
        return f"{NET}{link}.{side + 1}"

    def url(self, i: int, seen_from: int) -> str:
        """Return node ``i``'s URL as its neighbour ``seen_from`` reaches it."""
        if seen_from == i + 1:
            return f"http://{self.addr(i, 0)}:{PORT}"
        if seen_from == i - 1:
            return f"http://{self.addr(i - 1, 1)}:{PORT}"
        raise ValueError("only neighbours are peers")

    def neighbours(self, i: int) -> list[int]:
        """Return the indexes of node ``i``'s neighbours."""
        return [j for j in (i - 1, i + 1) if 0 <= j < self.n]

    def build(self) -> Line:
        """Create the namespaces, links, routes, relay and agents."""
        self.base.mkdir(parents=True, exist_ok=True)
        self.emu = LinkEmulator(self.prefix, self.seed, self.tap)
        for i in range(self.n):
            self.emu.add_namespace(self.ns(i), ipv6=self.ipv6)
        for k in range(self.n - 1):
            self.emu.add_link(
                self.ns(k),
                "mcr",
                f"{self.addr(k, 0)}/30",
                self.ns(k + 1),
                "mcl",
                f"{self.addr(k, 1)}/30",
                LinkParams(**vars(self.params)),
            )
        self.routes()
        self.emu.start()
        for i in range(self.n):
            self.nodes.append(NodeProc(i, self.ns(i), self.base / f"n{i}", self.base / f"n{i}.log"))
            self.agents.append(AgentProc(self.ns(i), self.base / f"agent{i}.log"))
        return self

    def routes(self) -> None:
        """(Re)install the static routes along the line (a link that went down lost them)."""
        for j in range(self.n):
            for k in range(self.n - 1):
                if k in (j - 1, j):
                    continue
                via = self.addr(j, 1) if k > j else self.addr(j - 1, 0)
                run(
                    IP,
                    "-n",
                    self.ns(j),
                    "route",
                    "replace",
                    f"{NET}{k}.0/30",
                    "via",
                    via,
                    check=False,
                )

    @property
    def links(self) -> list[Link]:
        """Return the emulated links, link ``k`` joining node ``k`` and ``k+1``."""
        assert self.emu is not None
        return self.emu.links

    def cut(self, k: int, interface_down: bool = True) -> None:
        """Cut link ``k``: the relay drops its frames; optionally its interfaces go down."""
        assert self.emu is not None
        self.emu.set_up(self.links[k], False)
        if interface_down:
            run(IP, "-n", self.ns(k), "link", "set", "dev", "mcr", "down")
            run(IP, "-n", self.ns(k + 1), "link", "set", "dev", "mcl", "down")

    def heal(self, k: int) -> None:
        """Restore link ``k`` (interfaces up, routes back, relay passing)."""
        assert self.emu is not None
        run(IP, "-n", self.ns(k), "link", "set", "dev", "mcr", "up")
        run(IP, "-n", self.ns(k + 1), "link", "set", "dev", "mcl", "up")
        self.routes()
        self.emu.set_up(self.links[k], True)

    # -- nodes ------------------------------------------------------------------------

    def config(self, i: int, peers: list[str], sync: dict[str, Any], extra: str = "") -> Path:
        """Write node ``i``'s TOML config and return its path."""
        lines = [
            "[node]",
            f'name = "n{i}"',
            f'data_dir = "{self.nodes[i].data_dir}"',
            f'listen = "0.0.0.0:{PORT}"',
            f'zones = ["{ZONE}"]',
            "[sync]",
            f"peers = {json.dumps(peers)}",
            *(f"{key} = {json.dumps(value)}" for key, value in sync.items()),
            extra,
        ]
        path = self.base / f"n{i}.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start_node(
        self,
        i: int,
        sync: dict[str, Any] | None = None,
        static_peers: bool = True,
        args: tuple[str, ...] = (),
        extra_config: str = "",
    ) -> NodeProc:
        """Start ``meshchat serve`` in namespace ``i`` with its neighbours as static peers."""
        node = self.nodes[i]
        assert not node.running
        peers = [self.url(j, i) for j in self.neighbours(i)] if static_peers else []
        cfg = self.config(i, peers, sync or {}, extra_config)
        with node.log.open("ab") as log:
            node.proc = subprocess.Popen(
                in_netns(
                    node.ns, sys.executable, "-m", "meshchat", "serve", "--config", str(cfg), *args
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
        try:
            self.agents[i].call("wait_ready", timeout=START_TIMEOUT_S + 5, seconds=START_TIMEOUT_S)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"node {i} did not start: {self.tail(i)}") from exc
        return node

    def start_all(self, sync: dict[str, Any] | None = None, **kw: Any) -> None:
        """Start every node (launched together, then waited for)."""
        for i in range(self.n):
            self.start_node(i, sync, **kw)

    def tail(self, i: int, lines: int = 30) -> str:
        """Return the end of node ``i``'s log."""
        try:
            return "\n".join(self.nodes[i].log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- queries ----------------------------------------------------------------------

    def status(self, i: int) -> dict[str, Any]:
        """Return node ``i``'s ``/api/v1/status``."""
        return dict(self.agents[i].call("status"))

    def count(self, i: int) -> int:
        """Return how many records node ``i`` holds in the zone."""
        return int(next(z["count"] for z in self.status(i)["zones"] if z["name"] == ZONE))

    def ids(self, i: int) -> list[str]:
        """Return every record id node ``i`` holds in the zone, sorted."""
        return list(self.agents[i].call("ids", timeout=60)["ids"])

    def texts(self, i: int) -> list[str]:
        """Return the text of every message node ``i`` shows (one entry per message)."""
        return [m["text"] for m in self.agents[i].call("messages", timeout=60)]

    def post(self, i: int, *texts: str, callsign: str = "W1AW") -> list[dict[str, Any]]:
        """Post ``texts`` on node ``i``; return ``{id, t0, t1}`` for each."""
        return list(self.agents[i].call("post", timeout=120, texts=list(texts), callsign=callsign))

    def peer_status(self, i: int) -> list[dict[str, Any]]:
        """Return node ``i``'s peer table."""
        return list(self.status(i).get("peers", []))

    def live_with_neighbours(self, i: int) -> bool:
        """Tell whether node ``i`` has a live native peer for each of its neighbours."""
        peers = self.peer_status(i)
        live = [p for p in peers if p["kind"] == "native" and p["failures"] == 0]
        return len(live) >= len(self.neighbours(i))

    def converged(self, nodes: list[int] | None = None) -> bool:
        """Tell whether every node in ``nodes`` (default: all) holds the same record ids."""
        chosen = range(self.n) if nodes is None else nodes
        first: list[str] | None = None
        for i in chosen:
            ids = self.ids(i)
            if first is None:
                first = ids
            elif ids != first:
                return False
        return True

    # -- teardown ---------------------------------------------------------------------

    def close(self) -> list[str]:
        """Stop every process started here, then the relay, TAPs and namespaces."""
        problems: list[str] = []
        for node in self.nodes:
            try:
                node.stop()
            except Exception as exc:
                problems.append(f"stop node {node.index}: {exc}")
        for agent in self.agents:
            try:
                agent.close()
            except Exception as exc:
                problems.append(f"stop agent: {exc}")
        if self.emu is not None:
            problems += self.emu.close()
        return problems


@contextlib.contextmanager
def line(base: Path, n: int, **kw: Any) -> Iterator[Line]:
    """Build a ``Line`` and remove everything it made on the way out, failure or not."""
    topo = Line(base, n, **kw)
    try:
        topo.build()
        yield topo
    except BaseException:
        topo.close()  # the original failure is the one to report
        raise
    problems = topo.close()
    if problems:
        raise RuntimeError(f"netns cleanup problems: {problems}")


def eventually(
    check: Callable[[], T], timeout: float, interval: float = 0.5, what: str = "condition"
) -> T:
    """Call ``check`` until it returns something truthy (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


@dataclass
class LinkCheck:
    """What one emulated link measured like (``measure_link``)."""

    rtt_median_s: float
    rtt_p90_s: float
    ping_sent: int
    ping_lost: int
    frame_loss: float  # frames the relay dropped at random / frames offered, both ways
    goodput_bps: float  # TCP payload rate over the loss-free link, after slow start
    expected_rtt_s: float
    expected_goodput_bps: float


def measure_link(
    topo: Line, k: int = 0, pings: int = 200, interval: float = 0.05, nbytes: int = 200_000
) -> LinkCheck:
    """Measure link ``k``: UDP ping RTT and loss, then TCP goodput with loss switched off."""
    assert topo.emu is not None
    link = topo.links[k]
    left, right = topo.agents[k], topo.agents[k + 1]
    host = topo.addr(k, 1)
    right.call("udp_echo", port=7007, seconds=pings * interval + 30)
    topo.emu.reset_stats()
    ping = left.call(
        "udp_ping",
        timeout=pings * interval + 30,
        host=host,
        port=7007,
        count=pings,
        interval=interval,
    )
    a, b = link.stats()
    offered = a.offered_frames + b.offered_frames
    frame_loss = (a.lost_frames + b.lost_frames) / max(1, offered)
    rtts = ping["rtts"] or [float("nan")]
    params = link.directions[0].params if link.directions else topo.params
    loss = params.loss
    topo.emu.set_params(link, loss=0.0)
    try:
        right.call("tcp_sink", port=7008, seconds=120)
        left.call("tcp_send", timeout=130, host=host, port=7008, nbytes=nbytes, seconds=120)
        samples = right.call("tcp_sink_result", timeout=130, port=7008, seconds=120)
    finally:
        topo.emu.set_params(link, loss=loss)
    # Skip slow start: the rate from the first quarter of the bytes to the last.
    start = next((s for s in samples if s[1] >= nbytes // 4), samples[0])
    end = samples[-1]
    goodput = (end[1] - start[1]) * 8 / max(1e-9, end[0] - start[0])
    # A ping datagram is a 98-byte frame; a full TCP segment carries 1448 B in 1514 B.
    serialization = 98 * 8 / params.rate_bps if params.rate_bps else 0.0
    return LinkCheck(
        rtt_median_s=rtts[len(rtts) // 2],
        rtt_p90_s=rtts[int(len(rtts) * 0.9)],
        ping_sent=ping["sent"],
        ping_lost=ping["sent"] - ping["received"],
        frame_loss=frame_loss,
        goodput_bps=goodput,
        expected_rtt_s=2 * (params.delay_s + serialization),
        expected_goodput_bps=params.rate_bps * 1448 / 1514,
    )
