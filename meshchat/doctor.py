"""``meshchat doctor``: check a node's set-up and say in plain words what is wrong.

The local checks live here (config, data dir and its permissions, free disk, database
integrity); the network ones (port, peers, clock) in ``doctornet``. Every check is
read-only and works beside a running node. Exit 0 only when nothing is wrong.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from nacl.signing import SigningKey

from meshchat import app, doctornet
from meshchat.config import Config
from meshchat.errors import ConfigError
from meshchat.findings import NOTE, OK, PROBLEM, WARNING, WRONG, Finding
from meshchat.identity import NODE_KEY_FILE, SEED_BYTES
from meshchat.store import check

MIB = 1024 * 1024
MIN_FREE_BYTES = 16 * MIB  # below this the next migration or busy hour can fill the disk
LOW_FREE_BYTES = 64 * MIB
SCAN_LIMIT = 10_000  # files looked at for their owner (blobs can be many)


async def diagnose(load: Callable[[], Config], timeout_s: float) -> list[Finding]:
    """Run every check; ``load`` reads the config as ``serve`` would."""
    try:
        cfg = await asyncio.to_thread(load)
    except ConfigError as exc:
        fix = "correct the key the message names, then run meshchat doctor again"
        return [Finding(PROBLEM, "config", str(exc), fix)]
    findings = await asyncio.to_thread(local_checks, cfg)
    findings += await database(cfg)
    key = await asyncio.to_thread(node_key_hex, cfg.node.data_dir)
    findings += await doctornet.network(cfg, key, timeout_s)
    return findings


def local_checks(cfg: Config) -> list[Finding]:
    """Check the config file, the data dir and the disk (blocking: run off the loop)."""
    return [config_finding(cfg), *data_dir_findings(cfg.node.data_dir), disk_finding(cfg)]


def config_finding(cfg: Config) -> Finding:
    """Say which config is in force, and whether its secrets are readable by everyone."""
    if cfg.source.startswith("<"):
        fix = "pass --config FILE (or set MESHCHAT_CONFIG) if the node runs with a config file"
        return Finding(NOTE, "config", "no config file: the built-in defaults", fix)
    path = Path(cfg.source)
    secret = cfg.sync.zone_secret or cfg.inbound.token
    if secret and path.stat().st_mode & 0o004:
        text = f"{path} holds a secret (sync.zone_secret or inbound.token) every user can read"
        return Finding(WARNING, "config", text, f"chmod o-r {path}")
    zones = ", ".join(cfg.node.zones)
    return Finding(OK, "config", f"{path} is valid: zones {zones}, listen {cfg.node.listen}")


def data_dir_findings(data_dir: Path) -> list[Finding]:
    """Check the data dir exists (or can), is private enough, and its files share an owner."""
    if not data_dir.exists():
        parent = _existing_parent(data_dir)
        if os.access(parent, os.W_OK | os.X_OK):
            text = f"{data_dir} does not exist yet: the node creates it at its first start"
            return [Finding(NOTE, "data", text)]
        text = f"{data_dir} does not exist and this user cannot create it in {parent}"
        return [Finding(PROBLEM, "data", text, f"mkdir -p {data_dir} and give it to the node")]
    if not data_dir.is_dir():
        return [Finding(PROBLEM, "data", f"{data_dir} is not a folder", "set node.data_dir")]
    st = data_dir.stat()
    owner = _user(st.st_uid)
    found: list[Finding] = []
    if not os.access(data_dir, os.R_OK | os.W_OK | os.X_OK):
        text = f"this user ({_user(os.getuid())}) cannot write to {data_dir} (owner {owner})"
        fix = f"run the doctor as the node's user (sudo -u {owner} meshchat doctor ...)"
        found.append(Finding(PROBLEM, "data", text, fix))
    if st.st_mode & 0o002:
        text = f"{data_dir} can be written by every user (mode {st.st_mode & 0o7777:04o})"
        found.append(Finding(PROBLEM, "data", text, f"chmod o-w {data_dir}"))
    foreign = _foreign_files(data_dir, st.st_uid)
    if foreign:
        names = ", ".join(f"{p.name} ({_user(uid)})" for p, uid in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        text = f"files not owned by {owner}, who owns {data_dir}: {names}{more}"
        fix = f"chown -R {owner}: {data_dir} (a command run as root, such as import, leaves these)"
        found.append(Finding(PROBLEM, "data", text, fix))
    found += _key_findings(data_dir)
    if not any(f.level in WRONG for f in found):
        mode = f"{st.st_mode & 0o7777:04o}"
        found.append(Finding(OK, "data", f"{data_dir}: owner {owner}, mode {mode}"))
    return found


def _key_findings(data_dir: Path) -> list[Finding]:
    key = data_dir / NODE_KEY_FILE
    if not key.exists():
        if (data_dir / app.DB_FILE).exists():
            text = f"{key} is missing: the node will make a new key and peers see a new node"
            return [Finding(WARNING, "data", text, "restore node.key from the backup first")]
        return []
    st = key.stat()
    if st.st_size != SEED_BYTES:
        text = f"{key} is {st.st_size} bytes, not a node key"
        return [Finding(PROBLEM, "data", text, "restore node.key from the backup")]
    if st.st_mode & 0o077:
        text = f"{key} can be read by others (mode {st.st_mode & 0o777:04o}): they can sign as it"
        return [Finding(PROBLEM, "data", text, f"chmod 600 {key}")]
    return []


def _foreign_files(data_dir: Path, uid: int) -> list[tuple[Path, int]]:
    """Return files under ``data_dir`` whose owner is not ``uid`` (the first SCAN_LIMIT)."""
    out: list[tuple[Path, int]] = []
    seen = 0
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            seen += 1
            path = Path(root, name)
            try:
                owner = path.lstat().st_uid
            except OSError:
                continue
            if owner != uid:
                out.append((path, owner))
        if seen >= SCAN_LIMIT:
            break
    return out


def disk_finding(cfg: Config) -> Finding:
    """Check the free space on the data dir's disk against the database's size."""
    where = _existing_parent(cfg.node.data_dir)
    free = shutil.disk_usage(where).free
    db = app.db_path(cfg)
    size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    text = f"{free // MIB} MiB free on the disk of {where} (database {size // MIB} MiB)"
    fix = "free some space, or move node.data_dir to a bigger disk (USB storage on a router)"
    if free < MIN_FREE_BYTES:
        return Finding(PROBLEM, "disk", f"only {text}: the node stops when it is full", fix)
    if free < max(LOW_FREE_BYTES, size):
        return Finding(WARNING, "disk", f"only {text}: a migration may need as much again", fix)
    return Finding(OK, "disk", text)


async def database(cfg: Config) -> list[Finding]:
    """Run SQLite's quick_check on a read-only connection (no lock: the node may run)."""
    db = await asyncio.to_thread(lambda: app.db_path(cfg).absolute())
    if not await asyncio.to_thread(db.exists):
        return [Finding(NOTE, "database", f"no database yet at {db}: made at the first start")]
    health = await check.quick_check(db)
    if health.ok:
        text = f"{db}: quick_check ok (schema {health.schema_version})"
        return [Finding(OK, "database", text)]
    fix = (
        f"stop the node, move {db} aside and start it empty: its peers fill it again; "
        "restore a `meshchat export` backup with `meshchat import` if no peer holds it"
    )
    return [Finding(PROBLEM, "database", f"{db} is damaged or unreadable: {health.detail}", fix)]


def node_key_hex(data_dir: Path) -> str | None:
    """Return this node's public key as hex, or None when there is no readable key."""
    try:
        seed = (data_dir / NODE_KEY_FILE).read_bytes()
    except OSError:
        return None
    return bytes(SigningKey(seed).verify_key).hex() if len(seed) == SEED_BYTES else None


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


LABELS = {OK: "ok", NOTE: "note", WARNING: "WARNING", PROBLEM: "PROBLEM"}


def report(findings: list[Finding], out: TextIO) -> int:
    """Print the findings; return 0 when nothing is wrong, else 1."""
    for f in findings:
        head = f"{LABELS[f.level]:<8} {f.topic:<9}"
        print(
            textwrap.fill(f.text, 100, initial_indent=head + " ", subsequent_indent=" " * 19),
            file=out,
        )
        if f.fix:
            print(
                textwrap.fill(
                    f.fix, 100, initial_indent=" " * 19 + "fix: ", subsequent_indent=" " * 24
                ),
                file=out,
            )
    problems = sum(f.level == PROBLEM for f in findings)
    warnings = sum(f.level == WARNING for f in findings)
    if not problems and not warnings:
        print("Nothing is wrong.", file=out)
        return 0
    print(f"Something is wrong: {problems} problem(s), {warnings} warning(s).", file=out)
    return 1


def main(load: Callable[[], Config], timeout_s: float) -> int:
    """Run the checks and print the report (``meshchat doctor``); return the exit code."""
    return report(asyncio.run(diagnose(load, timeout_s)), sys.stdout)
