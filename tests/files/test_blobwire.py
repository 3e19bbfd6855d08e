"""Ranges of the blob route (sync/blobwire.py): pure parsing."""

from __future__ import annotations

import pytest

from meshchat.errors import RemoteProtocolError
from meshchat.sync import blobwire


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        (" bytes = 5 - 9 ", (5, 9)),
    ],
)
def test_ranges_of_a_1000_byte_blob(header: str | None, span: tuple[int, int] | None) -> None:
    assert blobwire.parse_range(header, 1000) == span


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(blobwire.Unsatisfiable):
        blobwire.parse_range(header, 1000)


@pytest.mark.parametrize(
    "header",
    ["bytes=0-1,5-6", "bytes=9-5", "items=0-1", "bytes=-", "bytes=a-b", "bytes=" + "9" * 20 + "-"],
)
def test_malformed_ranges(header: str) -> None:
    with pytest.raises(RemoteProtocolError):
        blobwire.parse_range(header, 1000)


def test_an_empty_blob_has_no_range() -> None:
    with pytest.raises(blobwire.Unsatisfiable):
        blobwire.parse_range("bytes=0-", 0)


def test_content_range_round_trip() -> None:
    value = blobwire.content_range(10, 19, 1000)
    assert value == "bytes 10-19/1000"
    assert blobwire.parse_content_range(value) == (10, 19, 1000)
    for bad in ("bytes 10-9/1000", "bytes 0-1000/1000", "bytes */1000", "", "bytes 1-2"):
        with pytest.raises(RemoteProtocolError):
            blobwire.parse_content_range(bad)


def test_digests() -> None:
    assert blobwire.parse_digest("ab" * 32) == bytes([0xAB]) * 32
    for bad in ("AB" * 32, "ab" * 31, "../" + "a" * 61, "g" * 64):
        with pytest.raises(RemoteProtocolError):
            blobwire.parse_digest(bad)
