"""Rotating files: size and time rotation, compression, retention, thread safety."""

from __future__ import annotations

import gzip
import logging
import os
import threading
from pathlib import Path

import pytest
import zstandard

from flightlog.errors import ConfigError
from flightlog.sdk.rotating import RotatingFile, RotatingFileHandler, RotationPolicy
from flightlog.testing import FakeClock


def _read_all(path: Path) -> list[bytes]:
    """Every line of the live file and its backups (decompressed)."""
    lines: list[bytes] = []
    for file in [*path.parent.glob(path.name + ".*"), path]:
        data = file.read_bytes()
        if file.name.endswith(".gz"):
            data = gzip.decompress(data)
        elif file.name.endswith(".zst"):
            data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        lines += data.splitlines()
    return lines


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_size_rotation_keeps_every_line_readable(tmp_path: Path, compression: str | None) -> None:
    """Crossing max_bytes rotates; backups are compressed; no line is lost or split."""
    path = tmp_path / "app.log"
    rotating = RotatingFile(path, RotationPolicy(max_bytes=200, compression=compression))
    expected = [f"line {i:04d} ".encode() + b"x" * 20 for i in range(50)]
    for line in expected:
        rotating.write(line + b"\n")
    rotating.close()
    backups = sorted(p.name for p in tmp_path.iterdir() if p.name != "app.log")
    assert rotating.rotations >= 5 and len(backups) == rotating.rotations
    suffix = {None: "", "gzip": ".gz", "zstd": ".zst"}[compression]
    assert all(name.endswith(suffix) for name in backups)
    assert sorted(_read_all(path)) == expected
    assert path.stat().st_size <= 200


def test_time_rotation_follows_the_clock(tmp_path: Path) -> None:
    """An hourly policy rotates when the (fake) clock crosses the hour, not before."""
    hour_start = 1_794_999_600  # a multiple of 3600
    clock = FakeClock(start_ns=(hour_start + 10) * 10**9)
    path = tmp_path / "app.log"
    rotating = RotatingFile(
        path, RotationPolicy.every("hourly", compression="gzip"), clock=clock.time
    )
    rotating.write(b"first\n")
    clock.advance(1800)
    rotating.write(b"same hour\n")
    assert rotating.rotations == 0
    clock.advance(1800)
    rotating.write(b"next hour\n")
    assert rotating.rotations == 1
    assert path.read_bytes() == b"next hour\n"
    (backup,) = rotating.backups()
    assert backup.name == "app.log.20261118T120010.gz"
    assert gzip.decompress(backup.read_bytes()) == b"first\nsame hour\n"


def test_retention_by_count(tmp_path: Path) -> None:
    """At most backup_count rotated files remain; the newest are kept."""
    path = tmp_path / "app.log"
    rotating = RotatingFile(path, RotationPolicy(max_bytes=10, backup_count=3, compression="gzip"))
    for i in range(10):
        rotating.write(f"line-{i:03d}\n".encode())
    rotating.close()
    backups = rotating.backups()
    assert len(backups) == 3
    assert gzip.decompress(backups[-1].read_bytes()) == b"line-008\n"


def test_retention_by_age(tmp_path: Path) -> None:
    """Backups older than max_age_secs are deleted at the next rotation."""
    clock = FakeClock(start_ns=1_795_000_000 * 10**9)
    path = tmp_path / "app.log"
    old = tmp_path / "app.log.20200101T000000"
    old.write_bytes(b"old\n")
    os.utime(old, (clock.time() - 10 * 86400, clock.time() - 10 * 86400))
    rotating = RotatingFile(path, RotationPolicy(max_bytes=5, max_age_secs=86400), clock=clock.time)
    rotating.write(b"aaaa\n")
    rotating.write(b"bbbb\n")
    assert not old.exists()
    assert len(rotating.backups()) == 1


@pytest.mark.parametrize(
    "policy",
    [
        RotationPolicy(max_bytes=0),
        RotationPolicy(compression="lz4"),
        RotationPolicy(backup_count=-1),
        RotationPolicy(interval_secs=-5),
    ],
)
def test_invalid_policy_is_a_config_error(tmp_path: Path, policy: RotationPolicy) -> None:
    """Bad options fail with a ConfigError naming the option."""
    with pytest.raises(ConfigError):
        RotatingFile(tmp_path / "x.log", policy)


def test_unknown_interval_name() -> None:
    """RotationPolicy.every only knows hourly and daily."""
    with pytest.raises(ConfigError, match="weekly"):
        RotationPolicy.every("weekly")


def test_handler_is_thread_safe(tmp_path: Path) -> None:
    """Eight threads logging through one handler lose and interleave no line."""
    path = tmp_path / "threads.log"
    handler = RotatingFileHandler(path, RotationPolicy(max_bytes=4096, compression="gzip"))
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.rotating.threads")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def work(worker: int) -> None:
        for i in range(250):
            logger.info("w%d-%04d-%s", worker, i, "y" * 30)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logger.removeHandler(handler)
    handler.close()
    lines = _read_all(path)
    assert len(lines) == 2000
    assert len(set(lines)) == 2000
    assert all(line.endswith(b"y" * 30) for line in lines)
