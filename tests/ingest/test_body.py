"""Content-Encoding and size limits of request bodies."""

from __future__ import annotations

import gzip
import zlib

import pytest

from flightlog.errors import ValidationError
from flightlog.ingest.body import check_size, decode_content_encoding
from flightlog.ingest.reasons import INVALID_BODY, REQUEST_TOO_LARGE


@pytest.mark.parametrize("encoding", [None, "", "identity"])
def test_identity_passes_the_body_through(encoding):
    assert decode_content_encoding(b"abc", encoding, 10) == b"abc"


def test_gzip_and_deflate_are_undone():
    assert decode_content_encoding(gzip.compress(b"hello"), "gzip", 100) == b"hello"
    assert decode_content_encoding(zlib.compress(b"hello"), "deflate", 100) == b"hello"


def test_gzip_bomb_stops_at_the_limit():
    """A body inflating past max bytes is request_too_large, not a big allocation."""
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(ValidationError) as caught:
        decode_content_encoding(bomb, "gzip", 1_000_000)
    assert caught.value.reason == REQUEST_TOO_LARGE


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (b"not gzip", "gzip"),
        (gzip.compress(b"hello world" * 100, mtime=0)[:-20], "gzip"),
        (gzip.compress(b"x", mtime=0) + b"trailing", "gzip"),
        (b"abc", "br"),
    ],
    ids=["garbage", "truncated", "trailing-bytes", "unknown-encoding"],
)
def test_garbage_truncated_or_unknown_encodings_are_invalid_body(body, encoding):
    with pytest.raises(ValidationError) as caught:
        decode_content_encoding(body, encoding, 1_000_000)
    assert caught.value.reason == INVALID_BODY


def test_check_size_names_the_limit():
    with pytest.raises(ValidationError, match="max_request_bytes=10") as caught:
        check_size(11, 10)
    assert caught.value.reason == REQUEST_TOO_LARGE
