"""The ``meshchat`` command: serve, doctor, post, export, import (README "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp

from meshchat import __version__, app, config, daemon, doctor, logsetup, records
from meshchat.actions.rules import BUNDLED, BUNDLED_PREFIX, SCRIPTS
from meshchat.errors import ConfigError, IdentityError, MeshchatError, RecordRejected, StoreError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
IMPORT_BATCH = 500


def _node_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("MESHCHAT_CONFIG") or None,
        help="TOML config file (default: $MESHCHAT_CONFIG, else the built-in defaults)",
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (node.data_dir)")
    parser.add_argument(
        "--zone",
        action="append",
        dest="zones",
        metavar="NAME",
        help="zone to serve (node.zones); repeat for several",
    )


def _serve_flags(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--listen", metavar="HOST:PORT", help="address to listen on (node.listen)")
    serve.add_argument("--node-name", metavar="NAME", help="this node's name (node.name)")
    serve.add_argument(
        "--peer", action="append", dest="peers", metavar="URL", help="static peer (sync.peers)"
    )
    serve.add_argument(
        "--zone-secret",
        metavar="SECRET",
        help="HMAC secret of sync requests (sync.zone_secret; the config file keeps it out of ps)",
    )
    serve.add_argument(
        "--mdns",
        action="store_true",
        default=None,
        help="announce and find peers on the LAN over mDNS (discovery.mdns)",
    )
    serve.add_argument(
        "--aredn-services",
        metavar="PATH",
        help="AREDN service list file or folder to find peers in (discovery.aredn_services)",
    )
    serve.add_argument(
        "--aredn-node",
        metavar="URL",
        help="AREDN node whose /a/sysinfo lists peers (discovery.aredn_node)",
    )


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``meshchat`` command."""
    top = argparse.ArgumentParser(
        prog="meshchat", description="Signed, replicated chat for amateur-radio meshes."
    )
    top.add_argument("--version", action="version", version=f"meshchat {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run a node")
    _node_flags(serve)
    _serve_flags(serve)

    doctor = sub.add_parser("doctor", help="check this node's set-up and say what is wrong")
    _node_flags(doctor)
    _serve_flags(doctor)
    doctor.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for each peer (default 5)"
    )

    post = sub.add_parser("post", help="send a message through a running node")
    post.add_argument("--url", default="http://127.0.0.1:8080", help="the node's base URL")
    post.add_argument("--zone", help="zone (default: the node's first zone)")
    post.add_argument("--channel", default="", help='channel ("" is Everything)')
    post.add_argument("--callsign", required=True, help="callsign to post as")
    post.add_argument(
        "--token",
        help="post as a gateway through /api/v1/inbound (inbound.token; "
        "$MESHCHAT_INBOUND_TOKEN keeps it out of ps)",
    )
    post.add_argument("--gateway", default="cli", help="gateway name marked on the message")
    post.add_argument("--sender", help="third-party address the gateway posts for (an SMS number)")
    post.add_argument("text", nargs="+", help="message text ('-' reads it from stdin)")

    sub.add_parser("scripts", help="list the bundled gateway scripts and where they are")

    export = sub.add_parser("export", help="write a zone's records to a file (node stopped)")
    _node_flags(export)
    export.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")

    imp = sub.add_parser("import", help="read records from an export stream (node stopped)")
    _node_flags(imp)
    imp.add_argument("file", nargs="?", type=Path, help="export file (default: stdin)")
    return top


def load_config(args: argparse.Namespace) -> config.Config:
    """Read the config file (or the defaults) and apply the command-line overrides."""
    base = config.load(args.config)
    return config.with_overrides(
        base,
        node__data_dir=args.data_dir,
        node__zones=args.zones,
        node__listen=getattr(args, "listen", None),
        node__name=getattr(args, "node_name", None),
        sync__peers=getattr(args, "peers", None),
        sync__zone_secret=getattr(args, "zone_secret", None),
        discovery__mdns=getattr(args, "mdns", None),
        discovery__aredn_services=getattr(args, "aredn_services", None),
        discovery__aredn_node=getattr(args, "aredn_node", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the process exit code."""
    args = parser().parse_args(argv)
    try:
        if args.command == "post":
            return asyncio.run(_post(args))
        if args.command == "scripts":
            return _scripts()
        if args.command == "doctor":
            logsetup.configure("ERROR")  # the report says what is wrong; the log would repeat it
            return doctor.main(lambda: load_config(args), args.timeout)
        cfg = load_config(args)
        logsetup.configure(cfg.node.log_level)
        if args.command == "serve":
            # Until the loop's handler is in place a SIGHUP must not end the node.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            return asyncio.run(daemon.serve(cfg, lambda: load_config(args)))
        if args.command == "export":
            return asyncio.run(_export(cfg, args.output))
        return asyncio.run(_import(cfg, args.file))
    except ConfigError as exc:
        return _error(str(exc), EXIT_USAGE)
    except (StoreError, IdentityError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return EXIT_FAIL


def _error(message: str, code: int = EXIT_FAIL) -> int:
    print(f"meshchat: error: {message}", file=sys.stderr)
    return code


async def _export(cfg: config.Config, output: Path | None) -> int:
    db = app.db_path(cfg)
    if not await asyncio.to_thread(db.exists):
        return _error(f"no meshchat database at {db}: nothing to export (check --data-dir)")
    node = await app.open_node(cfg)
    try:
        with _open_out(output) as out:
            total = 0
            for zone in cfg.node.zones:
                batch: list[tuple[bytes, bytes]] = []
                async for envelope in node.store.export(zone):
                    batch.append(envelope)
                    if len(batch) >= IMPORT_BATCH:
                        total += records.write_stream(batch, out)
                        batch.clear()
                total += records.write_stream(batch, out)
    finally:
        await app.close_node(node)
    where = output or "stdout"
    print(f"exported {total} records of {', '.join(cfg.node.zones)} to {where}", file=sys.stderr)
    return EXIT_OK


@contextlib.contextmanager
def _open_out(output: Path | None) -> Any:
    if output is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    tmp = output.with_name(output.name + ".part")
    with tmp.open("wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(output)


async def _import(cfg: config.Config, source: Path | None) -> int:
    try:
        stream: BinaryIO = source.open("rb") if source else sys.stdin.buffer
    except OSError as exc:
        return _error(f"cannot read {source}: {exc.strerror}")
    node = await app.open_node(cfg)
    tally: Counter[str] = Counter()
    broken = ""
    try:
        batch: list[tuple[bytes, bytes]] = []
        try:
            for envelope in records.read_stream(stream, cfg.store.max_record_bytes):
                batch.append(envelope)
                if len(batch) >= IMPORT_BATCH:
                    tally.update(await node.ingestor.submit(batch, "import"))
                    batch = []
        except RecordRejected as exc:
            broken = str(exc)  # keep what came before the damage
        if batch:
            tally.update(await node.ingestor.submit(batch, "import"))
    finally:
        await app.close_node(node)
        if source:
            stream.close()
    rejected = {k.removeprefix("reject:"): v for k, v in tally.items() if k.startswith("reject:")}
    summary = f"imported {tally['ok']} new, {tally['dup']} already present"
    if rejected:
        summary += ", rejected " + ", ".join(f"{n} {r}" for r, n in sorted(rejected.items()))
    print(summary, file=sys.stderr)
    if broken:
        return _error(f"the stream is malformed after {sum(tally.values())} records: {broken}")
    if rejected and not tally["ok"] and not tally["dup"]:
        return _error("every record of the stream was rejected; nothing was imported")
    return EXIT_OK


def _scripts() -> int:
    for name in BUNDLED:
        print(f"{BUNDLED_PREFIX}{name}\t{SCRIPTS / f'{name}.py'}")
    return EXIT_OK


async def _post(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    # The URL ``serve`` prints to open in a browser works here too.
    base = args.url.rstrip("/").removesuffix("/meshchat")
    token = args.token or os.environ.get("MESHCHAT_INBOUND_TOKEN")
    if token:
        return await _post_inbound(args, base, token, text)
    login: dict[str, Any] = {"callsign": args.callsign}
    passphrase = os.environ.get("MESHCHAT_PASSPHRASE")
    if passphrase:
        login["passphrase"] = passphrase
    message: dict[str, Any] = {"channel": args.channel, "text": text}
    if args.zone:
        message["zone"] = args.zone
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        # Nodes are usually reached by IP address on a mesh: accept cookies from them.
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar) as http:
            async with http.post(f"{base}/api/v1/login", json=login) as resp:
                session = await _json_or_error(resp)
            headers = {"X-CSRF-Token": session["csrf_token"]}
            async with http.post(f"{base}/api/v1/messages", json=message, headers=headers) as resp:
                posted = await _json_or_error(resp)
    except _HttpError as exc:
        return _error(str(exc))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return _error(f"cannot reach {base}: {exc or type(exc).__name__}")
    print(posted["id"])
    return EXIT_OK


async def _post_inbound(args: argparse.Namespace, base: str, token: str, text: str) -> int:
    """Post as a gateway: signed by the node for the callsign, marked with its gateway."""
    message: dict[str, Any] = {
        "channel": args.channel,
        "callsign": args.callsign,
        "text": text,
        "gateway": args.gateway,
    }
    if args.zone:
        message["zone"] = args.zone
    if args.sender:
        message["sender"] = args.sender
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
            http.post(f"{base}/api/v1/inbound", json=message, headers=headers) as resp,
        ):
            posted = await _json_or_error(resp)
    except _HttpError as exc:
        return _error(str(exc))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return _error(f"cannot reach {base}: {exc or type(exc).__name__}")
    print(posted["id"])
    return EXIT_OK


class _HttpError(MeshchatError):
    pass


async def _json_or_error(resp: Any) -> dict[str, Any]:
    try:
        body = await resp.json(content_type=None)
    except ValueError:
        body = None
    if resp.status >= 400 or not isinstance(body, dict):
        detail = body.get("detail") or body.get("error") if isinstance(body, dict) else ""
        raise _HttpError(f"{resp.method} {resp.url.path}: HTTP {resp.status} {detail}".strip())
    return body
