"""Names and types on their way into HTTP headers (web/filenames.py): pure functions."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from meshchat.web import filenames


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, "file"),
        ("", "file"),
        ("  report.pdf  ", "report.pdf"),
        ("a\x00b\nc\x7f.txt", "abc.txt"),
        ("quote%22inside%22.txt", 'quote"inside".txt'),  # as a browser writes ``"``
        ("line%0Abreak", "linebreak"),
        ("x" * 300, "x" * 255),
        ("../../etc/passwd", "../../etc/passwd"),  # data, never a path
    ],
)
def test_clean_name(raw: str | None, clean: str) -> None:
    assert filenames.clean_name(raw) == clean


@pytest.mark.parametrize(
    ("raw", "mime"),
    [
        ("image/PNG; charset=binary", "image/png"),
        ("text/plain", "text/plain"),
        ("", "application/octet-stream"),
        (None, "application/octet-stream"),
        ("text/html\r\nX-Evil: 1", "application/octet-stream"),
        ("nonsense", "application/octet-stream"),
    ],
)
def test_clean_mime(raw: str | None, mime: str) -> None:
    assert filenames.clean_mime(raw) == mime


def test_only_raster_images_keep_their_type() -> None:
    assert filenames.served_type("image/jpeg") == "image/jpeg"
    for mime in ("image/svg+xml", "text/html", "application/javascript", "image/x-icon"):
        assert filenames.served_type(mime) == "application/octet-stream"
        assert not filenames.inline(mime)


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        'evil"; filename="x.exe',
        "a;b=c",
        "..\\..\\windows\\system32",
        "résumé 日本.pdf",
        "...",
        "100% done*?.txt",
    ],
)
def test_disposition_is_one_safe_header_value(name: str) -> None:
    value = filenames.disposition(name, attachment=True)
    kind, plain_part, star_part = value.split("; ")
    assert kind == "attachment"
    plain = plain_part.removeprefix('filename="').removesuffix('"')
    assert plain and plain.isascii() and plain.isprintable()
    assert not any(c in plain for c in '"\\/;%*?') and not plain.startswith(".")
    encoded = star_part.removeprefix("filename*=UTF-8''")
    assert encoded.isascii() and not any(c in encoded for c in " \"';/\\")
    decoded = unquote(encoded)
    assert "/" not in decoded and "\\" not in decoded and not decoded.startswith(".")


def test_disposition_keeps_what_is_harmless() -> None:
    assert filenames.disposition("map.png", attachment=False) == (
        "inline; filename=\"map.png\"; filename*=UTF-8''map.png"
    )
    value = filenames.disposition("résumé.pdf", attachment=True)
    assert 'filename="r_sum_.pdf"' in value and "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" in value


def test_legacy_links_only_to_plain_hosts() -> None:
    assert filenames.legacy_host("kd0xyz-pi.local.mesh")
    for host in ("", "evil.com/x", "a b", "javascript:", "-x"):
        assert not filenames.legacy_host(host)
    assert filenames.quote_query("a b&c=d/e") == "a%20b%26c%3Dd%2Fe"
