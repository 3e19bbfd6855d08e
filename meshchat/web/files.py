"""Files through the JSON API (DESIGN §5.4): upload, the zone's file list, download.

An upload streams to a temporary file under the blob store, hashed as it arrives and cut
when it passes ``files.max_file_bytes`` (refused at once when its Content-Length says so);
its ``file`` record goes through the outbox once the blob is stored. A download is found
by its SHA-256 (and optionally the record that named it), never by a name, and is served
as an attachment unless it is a raster image (web/filenames.py).
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from aiohttp import MultipartReader, web

from meshchat.outbox import Outbox
from meshchat.records import Record
from meshchat.store.blobs import BlobStore, Upload
from meshchat.web import filenames, inputs
from meshchat.web.access import check_channel, current, seen_by
from meshchat.web.auth import Sessions
from meshchat.web.http import fail
from meshchat.web.login import require_session

READ_CHUNK = 64 * 1024
MAX_PARTS = 8  # file, channel, zone, caption, and a little slack for odd clients
FIELD_BYTES = 256  # zone and channel fields
SLACK_BYTES = 16 * 1024  # multipart boundaries and part headers around the file
LIST_PARAMS = frozenset({"zone", "q", "limit"})
GET_PARAMS = frozenset({"id", "download"})

FILES_PATH = "/api/v1/files"  # routes.API + "/files"


class Fetcher(Protocol):
    """What the files API needs of the blob fetcher (web/ may not import sync/)."""

    async def fetch_now(self, record: Record) -> bool:
        """Fetch a file's blob first of all; True once it is held here."""

    def status(self) -> dict[str, Any]:
        """Return what replication is doing."""


def file_json(record: Record, available: bool) -> dict[str, Any]:
    """Return a file as the files API lists it."""
    body = record.body
    sha = bytes(body["sha256"]).hex()
    return {
        "id": record.id_hex,
        "sha256": sha,
        "name": body["name"],
        "size": body["size"],
        "mime": body["mime"],
        "caption": body.get("caption", ""),
        "channel": body["channel"],
        "callsign": body["callsign"],
        "node": body["node"],
        "ts": record.ts,
        "available": available,
        "legacy": False,
        "url": f"{FILES_PATH}/{sha}?id={record.id_hex}",
    }


async def _read_field(part: Any, cap: int, name: str) -> str:
    raw = bytearray()
    while chunk := await part.read_chunk(READ_CHUNK):
        raw += chunk
        if len(raw) > cap:
            fail(413, "too_large", f"{name} is over {cap} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        fail(400, "bad_text", f"{name} is not UTF-8")


class FilesApi:
    """Uploading, listing and downloading the files of the zones served here."""

    def __init__(
        self,
        blobs: BlobStore,
        outbox: Outbox,
        sessions: Sessions,
        zones: tuple[str, ...],
        max_text_bytes: int,
        fetcher: Fetcher,
    ) -> None:
        self.store = blobs.index.store
        self.blobs = blobs
        self.outbox = outbox
        self.sessions = sessions
        self.zones = zones
        self.max_text_bytes = max_text_bytes
        self.fetcher = fetcher

    async def upload(self, request: web.Request) -> web.Response:
        """``POST /api/v1/files`` (multipart: file, channel, zone?, caption?) → 201."""
        session = require_session(self.sessions, request)
        limit = self.blobs.max_file_bytes
        too_long = limit + self.max_text_bytes + SLACK_BYTES
        if request.content_length is not None and request.content_length > too_long:
            fail(413, "too_large", f"files are at most {limit} bytes on this node")
        if request.content_type != "multipart/form-data":
            fail(415, "unsupported_media_type", "send the file as multipart/form-data")
        # The file is at least the body less its other parts: refuse now if even that
        # cannot fit (pinned files fill the quota), rather than after the whole upload.
        least = (request.content_length or 0) - self.max_text_bytes - SLACK_BYTES
        if least > 0 and not await self.blobs.room_for(least):
            fail(507, "quota_full", "this node's file quota is full of pinned files")
        fields: dict[str, str] = {}
        upload: Upload | None = None
        name = mime = ""
        try:
            reader = await request.multipart()
            for _ in range(MAX_PARTS + 1):
                part = await reader.next()
                if part is None:
                    break
                if isinstance(part, MultipartReader) or part.name is None:
                    fail(400, "bad_multipart", "every part needs a name; no nested parts")
                if part.name != "file":
                    if part.name not in ("zone", "channel", "caption") or part.name in fields:
                        fail(400, "unknown_fields", f"unexpected or repeated field {part.name}")
                    cap = self.max_text_bytes if part.name == "caption" else FIELD_BYTES
                    fields[part.name] = await _read_field(part, cap, part.name)
                    continue
                if upload is not None:
                    fail(400, "bad_multipart", "one file per upload")
                name = filenames.clean_name(part.filename)
                mime = filenames.clean_mime(part.headers.get("Content-Type"))
                upload = self.blobs.upload()
                while chunk := await part.read_chunk(READ_CHUNK):
                    await upload.write(chunk)
            else:
                fail(400, "bad_multipart", f"at most {MAX_PARTS} parts")
            if upload is None:
                fail(400, "missing_field", "the file part is required")
            if "channel" not in fields:
                fail(400, "missing_field", "channel is required ('' is Everything)")
            zone = inputs.zone(fields.get("zone") or None, self.zones)
            channel = inputs.channel(fields["channel"])
            caption = fields.get("caption", "").strip()
            if caption:
                caption = inputs.text(caption, "caption", self.max_text_bytes)
            # A members-only channel takes files from its members only (web/access.py).
            await check_channel(self.store, session, zone, channel)
            held = await upload.commit(pinned=True)
        except BaseException:
            if upload is not None:
                await upload.abort()
            raise
        try:
            record = await self.outbox.file(
                session.signer,
                zone,
                channel,
                name=name,
                size=held.size,
                mime=mime,
                sha256=held.sha256,
                caption=caption or None,
            )
        except BaseException:
            # Not announced (a refused record): the copy may be evicted like any other.
            if await self.blobs.index.newest_of(held.sha256) is None:
                await self.blobs.pin(held.sha256, False)
            raise
        reply = {"sha256": held.sha256.hex(), "id": record.id_hex, "ts": record.ts, "name": name}
        return web.json_response({**reply, "size": held.size, "mime": mime}, status=201)

    async def list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/files?zone&q&limit``: every file of the zone, newest first."""
        q = request.query
        extra = sorted(set(q) - LIST_PARAMS)
        if extra:
            fail(400, "unknown_parameters", f"unknown parameters: {', '.join(extra)}")
        zone = inputs.zone(q.get("zone"), self.zones)
        search = q.get("q", "").strip()
        if len(search) > 200:
            fail(400, "bad_query", "q is at most 200 characters")
        limit = inputs.limit({"limit": q.get("limit", "200")})
        seen = await seen_by(self.store, current(self.sessions, request), zone)
        files = [
            file_json(rec, held)
            for rec, held in await self.blobs.index.files(zone, search, limit)
            if seen.shows_record(rec)  # nothing of a channel the reader may not see
        ]
        for listing in await self.blobs.index.legacy_files(zone, search, limit):
            files.append(legacy_json(listing.file, listing.source))
        files.sort(key=lambda f: -int(f["ts"]))
        return web.json_response(
            {
                "zone": zone,
                "files": files[:limit],
                "max_file_bytes": self.blobs.max_file_bytes,
                "usage": await self.blobs.usage(),
                "replication": self.fetcher.status(),
            }
        )

    async def _record(self, request: web.Request, sha256: bytes) -> Record:
        """Return the file record the download is named by (``id``, else the newest)."""
        if "id" in request.query:
            record = await self.store.get_record(inputs.hex_id(request.query["id"], "id"))
            if (
                record is None
                or record.gone
                or record.kind != "file"
                or record.zone not in self.zones
                or bytes(record.body["sha256"]) != sha256
            ):
                fail(404, "unknown_file", "no such file record on this node")
            return record
        found = await self.blobs.index.newest_of(sha256)
        if found is None or found.zone not in self.zones:
            fail(404, "unknown_file", "no file record here announces that SHA-256")
        return found

    async def download(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/v1/files/{sha256}?id&download``: the bytes (fetched first if need be)."""
        extra = sorted(set(request.query) - GET_PARAMS)
        if extra:
            fail(400, "unknown_parameters", f"unknown parameters: {', '.join(extra)}")
        sha256 = inputs.hex_id(request.match_info["sha256"], "sha256")
        record = await self._record(request, sha256)
        seen = await seen_by(self.store, current(self.sessions, request), record.zone)
        if not seen.shows_record(record):  # as if it were not here: a 403 would say it is
            fail(404, "unknown_file", "no file record here announces that SHA-256")
        held = await self.blobs.info(sha256)
        if held is None and await self.fetcher.fetch_now(record):
            held = await self.blobs.info(sha256)
        if held is None:
            fail(404, "not_on_this_node", "the file is not on this node and no peer gave it")
        mime = str(record.body["mime"])
        show = filenames.inline(mime) and "download" not in request.query
        etag = f'"{sha256.hex()}"'
        headers = {
            "Content-Disposition": filenames.disposition(
                str(record.body["name"]), attachment=not show
            ),
            "X-Content-Type-Options": "nosniff",
            # Even opened on its own, a file runs nothing and reaches nothing.
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
            "Cache-Control": "private, max-age=86400",
            "ETag": etag,
        }
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        response = web.StreamResponse(headers=headers)
        response.content_type = filenames.served_type(mime)
        response.content_length = held.size
        await response.prepare(request)
        async with contextlib.aclosing(self.blobs.iter_bytes(sha256)) as pieces:
            async for piece in pieces:
                await response.write(piece)
        await response.write_eof()
        return response


def legacy_json(file: Any, source: str) -> dict[str, Any]:
    """Return a legacy peer's file as the files API lists it, linked to its owning node."""
    host, _, port = file.node.rpartition(":")
    linkable = filenames.legacy_host(host) and port.isdigit()
    url = (
        f"http://{host}:{port}/cgi-bin/meshchat?action=file_download&file="
        + filenames.quote_query(file.name)
        if linkable
        else None
    )
    return {
        "id": None,
        "sha256": None,
        "name": file.name,
        "size": file.size,
        "mime": "",
        "caption": "",
        "channel": "",
        "callsign": "",
        "node": file.node,
        "ts": file.mtime * 1000,
        "available": False,
        "legacy": True,
        "source": source,
        "url": url,
    }
