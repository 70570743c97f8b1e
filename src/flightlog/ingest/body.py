"""Request bodies before decoding: size limits and ``Content-Encoding``.

Decompression is bounded by the tenant's ``max_request_bytes`` so a small gzip bomb
cannot make the server allocate gigabytes: the output is produced in bounded steps and
the request is refused with ``request_too_large`` the moment it passes the limit.
"""

from __future__ import annotations

import zlib

from flightlog.errors import ValidationError
from flightlog.ingest.reasons import INVALID_BODY, REQUEST_TOO_LARGE

__all__ = ["check_size", "decode_content_encoding"]

_IDENTITY = ("", "identity")


def check_size(nbytes: int, max_bytes: int, what: str = "request body") -> None:
    """Raise ``ValidationError(request_too_large)`` when ``nbytes`` exceeds ``max_bytes``."""
    if nbytes > max_bytes:
        raise ValidationError(
            REQUEST_TOO_LARGE,
            f"{what} is {nbytes} bytes, more than max_request_bytes={max_bytes}: "
            "send smaller batches or raise the tenant's limit",
        )


def _inflate(body: bytes, max_bytes: int, wbits: int, name: str) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise ValidationError(INVALID_BODY, f"cannot {name}-decompress the body: {exc}") from None
    check_size(len(out), max_bytes, f"{name}-decompressed body")
    if not inflater.eof:
        raise ValidationError(INVALID_BODY, f"{name} body is truncated")
    if inflater.unused_data:
        raise ValidationError(INVALID_BODY, f"{name} body has trailing bytes after the stream")
    return out


def decode_content_encoding(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding`` (identity, gzip, deflate) within ``max_bytes`` of output."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in _IDENTITY:
        return body
    if encoding in ("gzip", "x-gzip"):
        return _inflate(body, max_bytes, 16 + zlib.MAX_WBITS, "gzip")
    if encoding == "deflate":
        return _inflate(body, max_bytes, zlib.MAX_WBITS, "deflate")
    raise ValidationError(
        INVALID_BODY,
        f"unsupported Content-Encoding {content_encoding!r}: use gzip, deflate or none",
    )
