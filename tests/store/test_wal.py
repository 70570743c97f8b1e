"""The write-ahead log: framing, checksums, torn tails, replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlog.errors import CorruptionError
from flightlog.model import StreamBatch
from flightlog.store._wal import (
    FILE_MAGIC,
    WalWriter,
    decode_payload,
    encode_payload,
    list_wal_files,
    read_wal_file,
)

text = st.text(max_size=30)
stream_batches = st.integers(min_value=0, max_value=5).flatmap(
    lambda n: st.builds(
        StreamBatch,
        labels=st.lists(st.tuples(text, text), max_size=3).map(lambda x: tuple(sorted(x))),
        ts_ns=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
        lines=st.lists(text, min_size=n, max_size=n),
        metadata=st.lists(
            st.none() | st.dictionaries(text, text, max_size=3), min_size=n, max_size=n
        ),
    )
)


@settings(max_examples=50, deadline=None)
@given(tenant=text, streams=st.lists(stream_batches, max_size=4))
def test_payload_round_trips(tenant: str, streams: list[StreamBatch]) -> None:
    """A payload decodes to the tenant and stream columns that were encoded."""
    decoded_tenant, decoded = decode_payload(encode_payload(tenant, streams))
    assert decoded_tenant == tenant
    assert [(s.labels, list(s.ts_ns), list(s.lines), list(s.metadata)) for s in decoded] == [
        (s.labels, list(s.ts_ns), list(s.lines), list(s.metadata)) for s in streams
    ]


def _write_records(wal_dir: Path, count: int) -> Path:
    writer = WalWriter(wal_dir, fsync=False)
    for seq in range(1, count + 1):
        streams = [StreamBatch((("app", "a"),), [seq], [f"line {seq}"], [None])]
        writer.write(seq, "t", encode_payload("t", streams))
    writer.close()
    (path,) = list_wal_files(wal_dir)
    return path


def test_records_read_back_in_order(tmp_path: Path) -> None:
    """Every written record is read back with its seq, tenant and entries."""
    path = _write_records(tmp_path, 5)
    records = list(read_wal_file(path, truncate_torn_tail=True))
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert [r.streams[0].lines[0] for r in records] == [f"line {i}" for i in range(1, 6)]


def test_torn_tail_at_every_offset_is_truncated(tmp_path: Path) -> None:
    """Cutting the last record at any byte leaves the earlier records intact."""
    path = _write_records(tmp_path, 3)
    data = path.read_bytes()
    records = list(read_wal_file(path, truncate_torn_tail=True))
    assert len(records) == 3
    two = tmp_path / "two"
    two.mkdir()
    last_start = len(_write_records(two, 2).read_bytes())
    for cut in range(last_start, len(data)):
        path.write_bytes(data[:cut])
        kept = list(read_wal_file(path, truncate_torn_tail=True))
        assert [r.seq for r in kept] == [1, 2]
        assert path.stat().st_size == last_start


def test_flipped_byte_in_last_record_is_a_torn_tail(tmp_path: Path) -> None:
    """A checksum failure at the end of the newest file is cut off, not replayed."""
    path = _write_records(tmp_path, 2)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    assert [r.seq for r in read_wal_file(path, truncate_torn_tail=True)] == [1]


def test_corruption_in_an_older_file_is_an_error(tmp_path: Path) -> None:
    """A bad record in a file that is not the newest is reported, not silently dropped."""
    path = _write_records(tmp_path, 2)
    data = bytearray(path.read_bytes())
    data[len(FILE_MAGIC) + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptionError, match="checksum"):
        list(read_wal_file(path, truncate_torn_tail=False))


def test_garbage_file_is_rejected(tmp_path: Path) -> None:
    """A file that is not a WAL file is corruption with a clear message."""
    path = tmp_path / "00000000000000000001.wal"
    path.write_bytes(b"this is not a wal file at all")
    with pytest.raises(CorruptionError, match="does not start with"):
        list(read_wal_file(path, truncate_torn_tail=True))


def test_header_only_truncation_keeps_the_magic(tmp_path: Path) -> None:
    """A file cut inside its magic becomes an empty, valid WAL file."""
    path = tmp_path / "00000000000000000001.wal"
    path.write_bytes(FILE_MAGIC[:3])
    assert list(read_wal_file(path, truncate_torn_tail=True)) == []
    assert path.read_bytes() == FILE_MAGIC


@settings(max_examples=30, deadline=None)
@given(garbage=st.binary(max_size=200))
def test_random_garbage_after_records_never_yields_bad_records(garbage: bytes) -> None:
    """Whatever bytes follow the good records, at most the good records come back."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = _write_records(Path(folder), 2)
        path.write_bytes(path.read_bytes() + garbage)
        seqs = [r.seq for r in read_wal_file(path, truncate_torn_tail=True)]
        assert seqs[:2] == [1, 2]
