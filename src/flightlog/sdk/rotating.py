"""Rotating log files: by size and/or time, compressed backups, retention by count and age.

``RotatingFile`` is the thread-safe byte writer (used by ``Run``'s background writer);
``RotatingFileHandler`` adapts it to the stdlib ``logging`` module.

A rotated file is renamed ``<name>.<UTC yyyymmddTHHMMSS>[.<n>]`` and then compressed to
``...gz`` (gzip) or ``...zst`` (zstd), so ``flightlog analyze`` and ``flightlog push`` can
read the live file and its backups alike. Retention keeps at most ``backup_count``
backups and deletes those older than ``max_age_secs``; it runs after every rotation.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flightlog.errors import ConfigError

__all__ = ["COMPRESSIONS", "RotatingFile", "RotatingFileHandler", "RotationPolicy"]

COMPRESSIONS = {"gzip": ".gz", "zstd": ".zst"}
_INTERVAL_NAMES = {"hourly": 3600.0, "daily": 86400.0}


@dataclass(frozen=True)
class RotationPolicy:
    """When to rotate and what to keep; ``None`` means "no limit of this kind"."""

    max_bytes: int | None = None
    interval_secs: float | None = None
    compression: str | None = None
    backup_count: int | None = None
    max_age_secs: float | None = None

    @classmethod
    def every(cls, when: str, **kwargs: object) -> RotationPolicy:
        """A policy rotating ``"hourly"`` or ``"daily"`` (plus any other options)."""
        if when not in _INTERVAL_NAMES:
            raise ConfigError(f"rotation interval {when!r} is unknown: use 'hourly' or 'daily'")
        return cls(interval_secs=_INTERVAL_NAMES[when], **kwargs)  # type: ignore[arg-type]

    def validate(self) -> RotationPolicy:
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise ConfigError(f"max_bytes={self.max_bytes} must be > 0 (or None for no limit)")
        if self.interval_secs is not None and self.interval_secs <= 0:
            raise ConfigError(f"interval_secs={self.interval_secs} must be > 0 (or None)")
        if self.compression is not None and self.compression not in COMPRESSIONS:
            raise ConfigError(
                f"compression {self.compression!r} is unknown: use 'gzip', 'zstd' or None"
            )
        if self.backup_count is not None and self.backup_count < 0:
            raise ConfigError(f"backup_count={self.backup_count} must be >= 0 (or None)")
        if self.max_age_secs is not None and self.max_age_secs <= 0:
            raise ConfigError(f"max_age_secs={self.max_age_secs} must be > 0 (or None)")
        return self


def _compress(path: Path, compression: str) -> Path:
    target = path.with_name(path.name + COMPRESSIONS[compression])
    with path.open("rb") as source:
        if compression == "gzip":
            with gzip.open(target, "wb", compresslevel=6) as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        else:
            import zstandard

            with target.open("wb") as raw:
                zstandard.ZstdCompressor(level=3).copy_stream(source, raw)
    shutil.copystat(path, target)  # keep the mtime: retention by age reads it
    path.unlink()
    return target


class RotatingFile:
    """Appends bytes to ``path``, rotating per ``policy``; every method is thread-safe."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        policy: RotationPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.policy = (policy or RotationPolicy()).validate()
        self._clock = clock
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = self.path.open("ab")
        self._size = self._file.tell()
        self._next_rollover = self._compute_rollover(clock())
        self.rotations = 0

    def _compute_rollover(self, now: float) -> float | None:
        interval = self.policy.interval_secs
        if interval is None:
            return None
        return (now // interval + 1) * interval

    def write(self, data: bytes, flush: bool = True) -> None:
        """Append ``data`` (whole lines), rotating first if a limit would be crossed."""
        with self._lock:
            if self._file.closed:
                return
            if self._should_rotate(len(data)):
                self._rotate()
            self._file.write(data)
            self._size += len(data)
            if flush:
                self._file.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def rotate(self) -> None:
        """Rotate now, whatever the policy says."""
        with self._lock:
            self._rotate()

    def _should_rotate(self, incoming: int) -> bool:
        max_bytes = self.policy.max_bytes
        if max_bytes is not None and self._size > 0 and self._size + incoming > max_bytes:
            return True
        return self._next_rollover is not None and self._clock() >= self._next_rollover

    def _backup_name(self, now: float) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
        base = self.path.with_name(f"{self.path.name}.{stamp}")
        candidate, counter = base, 0
        suffixes = ("", *COMPRESSIONS.values())
        while any(candidate.with_name(candidate.name + s).exists() for s in suffixes):
            counter += 1
            candidate = base.with_name(f"{base.name}.{counter}")
        return candidate

    def _rotate(self) -> None:
        now = self._clock()
        self._file.close()
        if self._size > 0 or self.path.stat().st_size > 0:
            backup = self._backup_name(now)
            os.replace(self.path, backup)
            if self.policy.compression is not None:
                _compress(backup, self.policy.compression)
            self.rotations += 1
        self._file = self.path.open("ab")
        self._size = 0
        self._next_rollover = self._compute_rollover(now)
        self._apply_retention(now)

    def backups(self) -> list[Path]:
        """Rotated files of this log, oldest first."""
        prefix = self.path.name + "."
        found = [p for p in self.path.parent.iterdir() if p.name.startswith(prefix) and p.is_file()]
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def _apply_retention(self, now: float) -> None:
        backups = self.backups()
        doomed: list[Path] = []
        if self.policy.max_age_secs is not None:
            cutoff = now - self.policy.max_age_secs
            doomed += [p for p in backups if p.stat().st_mtime < cutoff]
        keep = [p for p in backups if p not in doomed]
        count = self.policy.backup_count
        if count is not None and len(keep) > count:
            doomed += keep[: len(keep) - count]
        for path in doomed:
            path.unlink(missing_ok=True)


class RotatingFileHandler(logging.Handler):
    """A ``logging`` handler writing one formatted line per record to a ``RotatingFile``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        policy: RotationPolicy | None = None,
        level: int = logging.NOTSET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(level)
        self.file = RotatingFile(path, policy, clock)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            self.file.write(line.encode("utf-8", "replace") + b"\n")
        except Exception:  # boundary: a log call must never raise into user code
            self.handleError(record)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()
        super().close()
