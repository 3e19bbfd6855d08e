"""What a file's name and type may become in HTTP (DESIGN §5.4): never a path, never trusted.

A name is data: stored as given (control characters taken out), it only ever reaches a
``Content-Disposition`` header, sanitised (RFC 6266 ``filename`` in plain ASCII plus RFC
5987 ``filename*``). A type is a label chosen by whoever uploaded the file, anywhere in the
mesh: it is served as such only for raster images, and never SVG (it can carry script).
"""

from __future__ import annotations

import re
from urllib.parse import quote

MAX_NAME = 255
DEFAULT_NAME = "file"
OCTET = "application/octet-stream"
# Raster images a browser may show inline: no script can run in them.
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TOKEN = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}"
_MIME = re.compile(rf"{_TOKEN}/{_TOKEN}")
# RFC 6266 §4.3: a plain ``filename`` for old clients; these would confuse one or a disk.
_ASCII_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\/;:%*?<>|]')
# RFC 5987 attr-char beyond what quote() keeps anyway (ALPHA DIGIT - . _ ~).
_ATTR_SAFE = "!#$&+^`|"
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?")


def clean_name(raw: str | None) -> str:
    """Return a name fit for a ``file`` record: no control characters, 1 to 255 characters.

    Browsers write ``"``, LF and CR in a multipart filename as ``%22``, ``%0A``, ``%0D``
    (HTML, "multipart/form-data encoding"); those three are decoded, nothing else.
    """
    text = (raw or "").replace("%22", '"').replace("%0A", "\n").replace("%0D", "\r")
    name = _CONTROL.sub("", text).strip()[:MAX_NAME].strip()
    return name or DEFAULT_NAME


def clean_mime(raw: str | None) -> str:
    """Return ``type/subtype`` from a Content-Type (lower case), or the octet-stream type."""
    value = (raw or "").split(";", 1)[0].strip().lower()
    return value if _MIME.fullmatch(value) else OCTET


def inline(mime: str) -> bool:
    """Tell whether a file of this type may be shown in the page (raster images only)."""
    return mime in INLINE_IMAGES


def served_type(mime: str) -> str:
    """Return the Content-Type a file is served with: its own only for raster images."""
    return mime if inline(mime) else OCTET


def _no_path(name: str) -> str:
    """Turn separators into ``_`` and drop leading dots, so no client sees a path."""
    flat = _CONTROL.sub("", name).replace("/", "_").replace("\\", "_")
    return flat.lstrip(". ").rstrip(". ") or "download"


def disposition(name: str, *, attachment: bool) -> str:
    """Return a Content-Disposition for ``name``: ASCII ``filename`` and UTF-8 ``filename*``."""
    kind = "attachment" if attachment else "inline"
    flat = _no_path(name)
    plain = _ASCII_UNSAFE.sub("_", flat).strip(" .") or "download"
    encoded = quote(flat, safe=_ATTR_SAFE, encoding="utf-8", errors="replace")
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{encoded}"


def legacy_host(host: str) -> bool:
    """Tell whether a legacy peer's ``node`` field names a host a link may point at."""
    return _HOST.fullmatch(host) is not None


def quote_query(value: str) -> str:
    """Percent-encode a query value (a legacy file name in a ``file_download`` link)."""
    return quote(value, safe="", encoding="utf-8", errors="replace")
