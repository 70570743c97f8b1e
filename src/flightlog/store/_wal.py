"""The write-ahead log: framed, checksummed records of accepted appends (see FORMAT.md).

The writer appends a record per ``Store.append`` and makes it durable with group
commit: threads that wrote while another thread was in ``fsync`` share the next one.
The reader yields records in order and truncates a torn tail of the newest file.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from flightlog.errors import CorruptionError, StoreError
from flightlog.model import StreamBatch

__all__ = [
    "FILE_MAGIC",
    "WalFile",
    "WalRecord",
    "WalWriter",
    "decode_payload",
    "encode_payload",
    "fsync_dir",
    "list_wal_files",
    "read_wal_file",
]

FILE_MAGIC = b"FLWAL001"
_HEADER = struct.Struct("<IIQ")
_SEQ = struct.Struct("<Q")
MAX_RECORD_BYTES = 1 << 31
ROTATE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WalRecord:
    """One decoded record: the accepted entries of one append."""

    seq: int
    tenant: str
    streams: tuple[StreamBatch, ...]


@dataclass
class WalFile:
    """A WAL file and, per tenant, the last seq it holds (to know when to delete it)."""

    path: Path
    last_seq_by_tenant: dict[str, int] = field(default_factory=dict)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (created/renamed/removed files) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_payload(tenant: str, streams: Sequence[StreamBatch]) -> bytes:
    """orjson-encode a whole append (one list per stream column, not one object per line)."""
    return orjson.dumps(
        [tenant, [[s.labels, s.ts_ns, s.lines, s.metadata] for s in streams]],
        option=orjson.OPT_SERIALIZE_NUMPY,
        default=_plain,
    )


def _plain(value: object) -> object:
    """orjson fallback for other Mapping / Sequence types a decoder may hand us."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence | range):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to the WAL")


def decode_payload(payload: bytes) -> tuple[str, tuple[StreamBatch, ...]]:
    tenant, streams = orjson.loads(payload)
    return tenant, tuple(
        StreamBatch(
            labels=tuple((name, value) for name, value in labels),
            ts_ns=ts_ns,
            lines=lines,
            metadata=metadata,
        )
        for labels, ts_ns, lines, metadata in streams
    )


def frame(seq: int, payload: bytes) -> bytes:
    seq_bytes = _SEQ.pack(seq)
    crc = zlib.crc32(payload, zlib.crc32(seq_bytes))
    return _HEADER.pack(len(payload), crc, seq) + payload


def list_wal_files(wal_dir: Path) -> list[Path]:
    """WAL files oldest first (their names are zero-padded first seqs)."""
    return sorted(wal_dir.glob("*.wal"))


def read_wal_file(path: Path, *, truncate_torn_tail: bool) -> Iterator[WalRecord]:
    """Yield the records of one file.

    A short or checksum-failing record ends the file: with ``truncate_torn_tail`` (the
    newest file, where a crash mid-write leaves one) the file is cut there; elsewhere it
    is corruption.
    """
    data = path.read_bytes()
    if len(data) < len(FILE_MAGIC):
        if truncate_torn_tail:
            _truncate(path, 0)
            return
        raise CorruptionError(f"WAL file {path} is shorter than its header: remove it")
    if data[: len(FILE_MAGIC)] != FILE_MAGIC:
        raise CorruptionError(f"WAL file {path} does not start with {FILE_MAGIC!r}")
    offset = len(FILE_MAGIC)
    view = memoryview(data)
    while offset < len(data):
        bad = _bad_record(view, offset)
        if bad is not None:
            if truncate_torn_tail:
                _truncate(path, offset)
                return
            raise CorruptionError(f"WAL file {path} at byte {offset}: {bad}")
        length, _, seq = _HEADER.unpack_from(view, offset)
        start = offset + _HEADER.size
        payload = bytes(view[start : start + length])
        try:
            tenant, streams = decode_payload(payload)
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise CorruptionError(f"WAL file {path} at byte {offset}: bad payload ({exc})") from exc
        yield WalRecord(seq=seq, tenant=tenant, streams=streams)
        offset = start + length


def _bad_record(view: memoryview, offset: int) -> str | None:
    if len(view) - offset < _HEADER.size:
        return "record header cut short"
    length, crc, seq = _HEADER.unpack_from(view, offset)
    start = offset + _HEADER.size
    if length > MAX_RECORD_BYTES or start + length > len(view):
        return "record cut short"
    if zlib.crc32(view[start : start + length], zlib.crc32(_SEQ.pack(seq))) != crc:
        return "checksum mismatch"
    return None


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as handle:
        if size == 0:
            handle.truncate(0)
            handle.write(FILE_MAGIC)
        else:
            handle.truncate(size)
        handle.flush()
        os.fsync(handle.fileno())


class WalWriter:
    """Appends framed records to the newest WAL file; durable through group commit.

    ``write`` must be called with the store's lock held (it orders records with the
    head); ``sync`` is called without it and returns once the record is on disk.
    """

    def __init__(self, wal_dir: Path, *, fsync: bool) -> None:
        self._dir = wal_dir
        self._fsync = fsync
        self._fd: int | None = None
        self._file: WalFile | None = None
        self._file_bytes = 0
        self._written_seq = 0
        self._synced_seq = 0
        self._sync_lock = threading.Lock()
        self._fd_lock = threading.Lock()
        self.closed_files: list[WalFile] = []
        self.fsyncs = 0
        self.fsync_seconds = 0.0

    @property
    def current(self) -> WalFile | None:
        return self._file

    def write(self, seq: int, tenant: str, payload: bytes) -> None:
        record = frame(seq, payload)
        with self._fd_lock:
            if self._fd is None or self._file_bytes >= ROTATE_BYTES:
                self._open_new(seq)
            assert self._fd is not None and self._file is not None
            written = os.write(self._fd, record)
            while written < len(record):
                written += os.write(self._fd, record[written:])
            self._file_bytes += len(record)
            self._file.last_seq_by_tenant[tenant] = seq
            self._written_seq = seq

    def sync(self, seq: int) -> None:
        """Return once record ``seq`` is durable; one fsync may cover many writers."""
        if not self._fsync:
            return
        with self._sync_lock:
            if self._synced_seq >= seq:
                return
            with self._fd_lock:
                target = self._written_seq
                fd = os.dup(self._fd) if self._fd is not None else None
            if fd is not None:
                started = time.perf_counter()
                try:
                    os.fsync(fd)
                except OSError as exc:
                    raise StoreError(f"cannot fsync the WAL in {self._dir}: {exc}") from exc
                finally:
                    os.close(fd)
                self.fsyncs += 1
                self.fsync_seconds += time.perf_counter() - started
            self._synced_seq = max(self._synced_seq, target)

    def rotate(self) -> None:
        """Close the current file (after fsync); the next write starts a new one."""
        with self._sync_lock, self._fd_lock:
            self._close_current()

    def close(self) -> None:
        self.rotate()

    def _close_current(self) -> None:
        if self._fd is None or self._file is None:
            return
        if self._fsync:
            os.fsync(self._fd)
        os.close(self._fd)
        self._synced_seq = self._written_seq
        self.closed_files.append(self._file)
        self._fd = None
        self._file = None

    def _open_new(self, first_seq: int) -> None:
        self._close_current()
        path = self._dir / f"{first_seq:020d}.wal"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        os.write(fd, FILE_MAGIC)
        if self._fsync:
            os.fsync(fd)
            fsync_dir(self._dir)
        self._fd = fd
        self._file = WalFile(path)
        self._file_bytes = len(FILE_MAGIC)
