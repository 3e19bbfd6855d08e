"""What a router needs to carry a node: flash for the package and its imports, idle RSS.

    python bench/bench_footprint.py [--n 10000] [--ipk dist/meshchat_0.1.0-r1_all.ipk]

- flash: the OpenWrt 24.10 ipk (built by openwrt/build-ipk.sh when not given) and what it
  installs, then the Python modules a running node loads — from the standard library
  (python3-light and the sub-packages the Makefile names) and from third-party packages
  (the feed's aiohttp, zeroconf, msgpack, PyNaCl…) — as byte-code and shared objects,
  raw and gzip-compressed (squashfs and UBIFS/JFFS2 overlays compress about as well);
- memory: the resident set (VmRSS) of ``meshchat serve`` idle on a data dir holding N
  signed records (bench_node's data set), 5 s after start.
Everything runs on 127.0.0.1; the figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import importlib.util
import io
import os
import platform
import subprocess
import sys
import sysconfig
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_node import Serve, dataset  # noqa: E402

from meshchat import app, config  # noqa: E402


def kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


def ipk_figures(ipk: Path) -> list[tuple[str, str]]:
    """Return the ipk's size and what it installs, by part."""
    with tarfile.open(ipk) as outer:
        data = outer.extractfile("./data.tar.gz").read()  # type: ignore[union-attr]
    parts = {"meshchat byte-code": 0, "web UI files": 0, "bundled aiosqlite": 0, "other": 0}
    total = 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            if not m.isfile():
                continue
            total += m.size
            if "/vendor/" in m.name:
                parts["bundled aiosqlite"] += m.size
            elif "/web/static/" in m.name:
                parts["web UI files"] += m.size
            elif "/site-packages/meshchat" in m.name:
                parts["meshchat byte-code"] += m.size
            else:
                parts["other"] += m.size
    rows = [
        ("ipk file (download; about what the overlay stores)", kib(ipk.stat().st_size)),
        ("installed by the ipk, uncompressed", kib(total)),
    ]
    rows += [(f"  {name}", kib(size)) for name, size in parts.items()]
    return rows


async def run_node(tmp: Path) -> None:
    """Start and stop a node in-process, so that it has imported what it uses."""
    cfg = config.with_overrides(config.Config(), node__data_dir=tmp, node__listen="127.0.0.1:0")
    running = await app.start(cfg)
    await asyncio.sleep(1)
    await running.stop()


def loaded_modules() -> dict[str, list[Path]]:
    """Return the files of every module loaded so far, standard library apart."""
    stdlib = sysconfig.get_paths()["stdlib"]
    groups: dict[str, list[Path]] = {"stdlib": [], "third-party": []}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or "/meshchat/" in path or "/bench/" in path:
            continue
        if path.endswith(".py"):
            cached = importlib.util.cache_from_source(path)
            path = cached if os.path.exists(cached) else path
        group = "stdlib" if path.startswith(stdlib) else "third-party"
        groups[group].append(Path(path))
    return groups


def sizes(paths: list[Path]) -> tuple[int, int]:
    raw = b"".join(p.read_bytes() for p in sorted(set(paths)) if p.exists())
    return len(raw), len(gzip.compress(raw, 6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--ipk", type=Path)
    args = parser.parse_args()
    ipk = args.ipk
    if ipk is None:
        done = subprocess.run(
            [str(ROOT / "openwrt" / "build-ipk.sh")],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, OUT=str(ROOT / "bench" / "out")),
        )
        ipk = Path(done.stdout.strip().splitlines()[-1])
    print(f"machine: {platform.machine()}, Python {platform.python_version()} ({sys.executable})")
    rows = ipk_figures(ipk)
    tmp = ROOT / "bench" / "out" / "footprint-node"
    asyncio.run(run_node(tmp))
    groups = loaded_modules()
    for name, paths in groups.items():
        raw, packed = sizes(paths)
        rows.append(
            (
                f"{name} modules a node loads: {len(set(paths))} files, raw / gzip",
                f"{kib(raw)} / {kib(packed)}",
            )
        )
    exe = Path(os.path.realpath(sys.executable))
    lib = Path(
        sysconfig.get_config_var("LIBDIR") or "/", sysconfig.get_config_var("LDLIBRARY") or ""
    )
    shared = lib.is_file() and ".so" in lib.name  # a static libpython is inside the binary
    interp = exe.stat().st_size + (lib.stat().st_size if shared else 0)
    rows.append(
        (f"the interpreter here ({platform.machine()}: {exe.name} + libpython)", kib(interp))
    )

    source = dataset(args.n)
    node = Serve(source)
    try:
        time.sleep(5)
        rows.append((f"idle node, {args.n:,} records: VmRSS", f"{node.rss_mb():.1f} MiB"))
        db = source / "meshchat.db"
        rows.append((f"database of {args.n:,} records", kib(db.stat().st_size)))
    finally:
        node.stop()
    print()
    print("| figure | value |")
    print("| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
