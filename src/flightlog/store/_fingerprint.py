"""Stream identity: a stable 64-bit fingerprint of a stream's sorted labels."""

from __future__ import annotations

import hashlib

from flightlog.model import Labels

__all__ = ["from_sql_id", "stream_fingerprint", "to_sql_id"]

_SIGN = 1 << 63
_WRAP = 1 << 64


def stream_fingerprint(labels: Labels) -> int:
    """Unsigned 64-bit id of a canonical (sorted) label tuple; see FORMAT.md."""
    digest = hashlib.blake2b(digest_size=8)
    for name, value in labels:
        digest.update(name.encode())
        digest.update(b"\x00")
        digest.update(value.encode())
        digest.update(b"\x00")
    return int.from_bytes(digest.digest(), "little")


def to_sql_id(stream_id: int) -> int:
    """The signed 64-bit integer SQLite stores for an unsigned stream id."""
    return stream_id - _WRAP if stream_id >= _SIGN else stream_id


def from_sql_id(value: int) -> int:
    """Inverse of ``to_sql_id``."""
    return value + _WRAP if value < 0 else value
