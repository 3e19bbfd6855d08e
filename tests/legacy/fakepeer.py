"""A fake legacy MeshChat node, written from LEGACY.md, in a Perl 1.02 and a Lua 2.x flavour.

It keeps a message file (lines sorted by (epoch, id), the newest 500), serves the CGI at
``/cgi-bin/meshchat`` on 127.0.0.1 port 0 byte for byte as the real ones print it, and
polls its peers the legacy way with a curl-like client (``poll_once``: users_raw,
local_files_raw, messages_version, messages_raw, headers matched by the real regexes).

Quirks kept on purpose:
- Perl: ``messages_version`` with no newline, ``Content-type:text``, keeps lines far in
  the future, ``config`` JSON by concatenation (invalid with a quote in the zone).
- Lua: ``messages_version`` with a trailing newline (so two Lua nodes never agree), drops
  lines 30 days ahead and lines whose id is not hex, ``local_files_raw`` without the TAB
  before the platform, unseeded random ids (``collide`` makes them repeat).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from dataclasses import dataclass, field

from tests.legacy.rawhttp import CgiReply, RawServer, Traffic, curl

TRIM = 500
LUA_FUTURE_S = 30 * 86_400
# The regexes the real sync daemons match the curl header dump with.
PERL_MD5 = re.compile(r"Content\-MD5\: (.*)\r\n")
LUA_MD5 = re.compile(r"Content-MD5:\s([0-9a-f]+)\r\n")


def md5(data: bytes) -> str:
    """Return ``md5sum``'s hex digest."""
    return hashlib.md5(data).hexdigest()


def hex_value(lid: str) -> int:
    """Return Perl's ``hex()`` of an id (0 when it is not hex at all)."""
    match = re.match(r"[0-9a-fA-F]+", lid)
    return int(match.group(), 16) if match else 0


def _order(line: str) -> tuple[int, int]:
    """Sort by epoch as a number, then by the id as a hexadecimal number (``sort_db``)."""
    cells = line.split("\t")
    epoch = cells[1] if len(cells) > 1 else ""
    return int(epoch) if epoch.isdigit() else 0, hex_value(cells[0])


@dataclass
class FakeLegacyNode:
    """One legacy node: its files, its CGI and its sync loop."""

    name: str
    flavour: str = "perl"  # "perl" | "lua"
    zone: str = "MeshChat"
    platform: str = "node"
    lines: list[str] = field(default_factory=list)
    local_users: list[str] = field(default_factory=list)  # users_raw lines
    remote_users: dict[str, str] = field(default_factory=dict)  # call\tid\tnode -> epoch\tplat
    files: list[tuple[str, int, int]] = field(default_factory=list)
    remote_files: dict[str, bytes] = field(default_factory=dict)
    peers: list[str] = field(default_factory=list)
    collide: bool = False  # Lua's unseeded random: every new id is the same
    broken_md5: bool = False  # a defective node: Content-MD5 that does not match
    server_traffic: Traffic = field(default_factory=Traffic)
    client_traffic: Traffic = field(default_factory=Traffic)
    not_meshchat: dict[str, float] = field(default_factory=dict)
    sync_status: dict[str, float] = field(default_factory=dict)
    seen_chunked: bool = False
    _server: RawServer | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- the files ---------------------------------------------------------------------------

    def version(self) -> str:
        """The version as the node keeps it: the sum of the ids, no newline."""
        ids = [line.split("\t")[0] for line in self.lines]
        if self.flavour == "lua":  # the leading lowercase hex digits: ^([0-9a-f]+)
            found = [re.match(r"[0-9a-f]+", lid) for lid in ids]
            return str(sum(int(m.group(), 16) for m in found if m))
        return str(sum(hex_value(lid) for lid in ids if re.search(r"[0-9a-f]", lid)))

    def db(self) -> bytes:
        """The message file's bytes."""
        return "".join(f"{line}\n" for line in self.lines).encode("utf-8", "surrogateescape")

    def sort_and_trim(self) -> None:
        """Sort by (epoch, hex id) and keep the newest 500 (Lua also drops some lines)."""
        keep = []
        for line in self.lines:
            cells = line.split("\t")
            if self.flavour == "lua":
                if not re.fullmatch(r"[0-9a-fA-F]+", cells[0]) or len(cells) < 2:
                    continue
                if not cells[1].isdigit() or int(cells[1]) >= time.time() + LUA_FUTURE_S:
                    continue
            keep.append(line)
        keep.sort(key=_order)
        self.lines = keep[-TRIM:]

    def new_id(self) -> str:
        """An id as the node makes one: 8 hex of an MD5 of time and a random number."""
        n = 7 if self.collide else next(self._ids)
        return md5(f"{self.name}{n}".encode())[:8]

    def post(
        self, text: str, call_sign: str = "W1LEG", channel: str = "", epoch: int | None = None
    ) -> str:
        """A user of this node sends a message (``send_message``); return its line."""
        packed = text.replace("\n", "\\n").replace('"', '\\"')
        if self.flavour == "lua":
            packed = packed.replace("\t", " ")
        line = "\t".join(
            (
                self.new_id(),
                str(epoch or int(time.time())),
                packed,
                call_sign,
                self.name,
                self.platform,
                channel,
            )
        )
        self.lines.append(line)
        self.sort_and_trim()
        return line

    def login(self, call_sign: str, browser: str = "b0b0b0b0") -> None:
        """A browser on this node is polling: its user is in users_raw."""
        self.local_users = [u for u in self.local_users if not u.startswith(f"{call_sign}\t")]
        self.local_users.append(
            f"{call_sign}\t{browser}\t{self.name}\t{int(time.time())}\t{self.platform}"
        )

    # -- the CGI ---------------------------------------------------------------------------

    async def start(self) -> str:
        """Serve the CGI on 127.0.0.1 port 0; return the base URL."""
        self._server = RawServer(self.cgi, self.server_traffic)
        return await self._server.start()

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            await self._server.stop()

    @property
    def targets(self) -> list[str]:
        """Every request target this node was asked for."""
        return self._server.targets if self._server is not None else []

    def _text(self, body: bytes, md5_of: bytes | None = None) -> CgiReply:
        headers = []
        if md5_of is not None:
            digest = md5(md5_of) if not self.broken_md5 else "0" * 32
            headers.append(f"Content-MD5: {digest}")
        headers.append(
            "Content-type:text" if self.flavour == "perl" else "Content-type: text/plain"
        )
        return CgiReply(headers, body)

    async def cgi(self, method: str, query: dict[str, str]) -> CgiReply:
        """Answer one request as ``meshchat.pl`` / ``meshchat`` (Lua) print it."""
        del method
        action = query.get("action", "")
        lua = self.flavour == "lua"
        if action == "messages_version":
            return self._text((self.version() + ("\n" if lua else "")).encode())
        if action == "messages_raw":
            return self._text(self.db(), self.db())
        if action == "users_raw":
            body = "".join(f"{u}\n" for u in self.local_users).encode()
            return self._text(body, body)
        if action == "local_files_raw":
            sep = "" if lua else "\t"
            body = "".join(
                f"{n}\t{self.name}:8080\t{size}\t{mtime}{sep}{self.platform}\n"
                for n, size, mtime in self.files
            ).encode()
            return self._text(body, body)
        if action == "config":
            body = f'{{"version":"1.02","node":"{self.name}","zone":"{self.zone}"}}'
            return CgiReply(["Content-type:application/json"], body.encode())
        if action == "send_message":
            self.post(
                query.get("message", ""), query.get("call_sign", ""), query.get("channel", "")
            )
            return CgiReply(["Content-type:application/json"], b'{"status":200, "response":"OK"}')
        if action == "file_download":
            return self._text(b"no file")
        return self._text(b"error no action" + (b"\n" if lua else b""))

    # -- the sync daemon -------------------------------------------------------------------

    def _md5_of(self, answer_head: str) -> str | None:
        found = (LUA_MD5 if self.flavour == "lua" else PERL_MD5).search(answer_head)
        return found.group(1) if found else None

    async def poll_once(self) -> None:
        """One round of ``meshchatsync`` over every peer, one after another."""
        for peer in self.peers:
            if self.not_meshchat.get(peer, 0.0) > time.time():
                continue
            base = f"{peer}/cgi-bin/meshchat?action="
            users = await curl(
                f"{base}users_raw&platform={self.platform}&node={self.name}", self.client_traffic
            )
            self.seen_chunked |= users.chunked
            if "404 Not Found" in users.head:
                self.not_meshchat[peer] = time.time() + 600
                continue
            if self._md5_of(users.head) == md5(users.body) and users.body:
                self._merge_users(users.body)
            files = await curl(f"{base}local_files_raw", self.client_traffic)
            self.seen_chunked |= files.chunked
            if self._md5_of(files.head) == md5(files.body):
                self.remote_files[peer] = files.body
            version = await curl(f"{base}messages_version", self.client_traffic)
            remote = version.body.decode("utf-8", "replace")  # Lua keeps the newline: never equal
            if remote and remote == self.version():
                self.sync_status[peer] = time.time()
                continue
            raw = await curl(f"{base}messages_raw", self.client_traffic)
            self.seen_chunked |= raw.chunked
            if self._md5_of(raw.head) == md5(raw.body) and raw.body:
                self.sync_status[peer] = time.time()
                self._merge_messages(raw.body)

    def _merge_users(self, body: bytes) -> None:
        for line in body.decode("utf-8", "replace").split("\n"):
            parts = line.split("\t")
            if "error" in line or len(parts) < 4:
                continue
            key, value = "\t".join(parts[:3]), "\t".join(parts[3:5])
            if key not in self.remote_users or self.remote_users[key] < value:
                self.remote_users[key] = value

    def _merge_messages(self, body: bytes) -> None:
        remote: dict[str, str] = {}
        for line in body.decode("utf-8", "replace").split("\n"):
            if line:
                remote[line.split("\t")[0]] = line  # keyed by id: the last one wins
        have = {line.split("\t")[0] for line in self.lines}
        self.lines.extend(line for lid, line in remote.items() if lid not in have)
        self.sort_and_trim()

    # -- what tests look at ----------------------------------------------------------------

    def messages(self) -> list[str]:
        """The message texts of the file, oldest first (still pack-escaped)."""
        return [line.split("\t")[2] for line in self.lines]

    def user_calls(self) -> set[str]:
        """The callsigns of the remote users this node has merged."""
        return {key.split("\t")[0] for key in self.remote_users}
