"""HTTP at the byte level, as legacy nodes speak it: a CGI-like server and a curl-like client.

Legacy nodes run their CGI under uhttpd or lighttpd and poll with ``curl -sD -``, then
match headers with regular expressions on the raw bytes. Both sides here work on raw
bytes over asyncio streams on 127.0.0.1, so a test sees exactly what went over the wire
(header case, ``Content-Length`` or chunked, trailing newlines) and counts every byte.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

MAX_HEAD = 64 * 1024
TIMEOUT_S = 5.0


@dataclass
class Traffic:
    """Bytes on the wire, both ways, and how many exchanges."""

    sent: int = 0
    received: int = 0
    exchanges: int = 0

    @property
    def total(self) -> int:
        """Return the bytes both ways."""
        return self.sent + self.received


@dataclass
class CgiReply:
    """What a CGI script prints: header lines and a body (the server adds the status line)."""

    headers: list[str]
    body: bytes
    status: str = "200 OK"


Cgi = Callable[[str, dict[str, str]], Awaitable[CgiReply]]


@dataclass
class RawServer:
    """Serves one CGI function at ``/cgi-bin/meshchat`` on 127.0.0.1 port 0."""

    cgi: Cgi
    traffic: Traffic = field(default_factory=Traffic)
    targets: list[str] = field(default_factory=list)  # every request target, in order
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> str:
        """Start listening; return the base URL."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """Stop listening and wait for the open connections to end."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_S)
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            length = 0
            for line in lines:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            self.traffic.received += len(head) + len(body)
            self.targets.append(target)
            parts = urlsplit(target)
            params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if parts.query:  # Perl: the query string wins when there is one
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
            if parts.path != "/cgi-bin/meshchat":
                reply = CgiReply(["Content-type: text/html"], b"Not Found", "404 Not Found")
            else:
                reply = await self.cgi(method, params)
            out = f"HTTP/1.1 {reply.status}\r\n".encode()
            out += "".join(f"{h}\r\n" for h in reply.headers).encode("latin-1")
            out += b"Connection: close\r\n\r\n" + reply.body
            writer.write(out)
            await writer.drain()
            self.traffic.sent += len(out)
            self.traffic.exchanges += 1
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
            pass
        except TimeoutError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@dataclass(frozen=True)
class RawAnswer:
    """What ``curl -sD -`` shows: the raw header block and the body, and how it came."""

    head: str  # status line and headers, ``\r\n``-separated, as received
    body: bytes
    chunked: bool


async def curl(url: str, traffic: Traffic, data: dict[str, str] | None = None) -> RawAnswer:
    """GET (or POST ``data``) ``url`` like curl: HTTP/1.1, read to the end, then close."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    body = b""
    method = "GET"
    extra = ""
    if data is not None:
        from urllib.parse import urlencode

        method, body = "POST", urlencode(data).encode()
        extra = (
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        )
    request = (
        f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: curl/7.88.1\r\n"
        f"Accept: */*\r\nConnection: close\r\n{extra}\r\n"
    ).encode() + body
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT_S)
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), TIMEOUT_S)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    traffic.sent += len(request)
    traffic.received += len(raw)
    traffic.exchanges += 1
    head, _, rest = raw.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    chunked = "transfer-encoding: chunked" in text.lower()
    return RawAnswer(text + "\r\n", _dechunk(rest) if chunked else rest, chunked)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out
