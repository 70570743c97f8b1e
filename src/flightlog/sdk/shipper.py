"""Shipping log entries to a flightlog (or Loki) server without ever blocking the caller.

::

    submit() ─> in-memory queue ─> background thread ─> batch ─> exporter.export()
                 (bounded, drops     (every flush_interval_secs    │ fails (down, 5xx, 429)
                  oldest, counted)    or batch_max_entries)         v
                                                          spool (on disk, bounded, oldest
                                                          dropped and counted), retried with
                                                          exponential backoff, oldest first

A batch leaves the spool only after the exporter acknowledged it, and every batch is sent
as one unit, so a server that goes down and comes back receives every entry once.
``submit`` only appends to a deque: a dead server costs the training loop nothing.
``LokiExporter`` speaks the Loki push API (JSON, gzip); tests and users can pass any
object with ``export(entries)``, e.g. ``flightlog.testing.InMemoryExporter``.
"""

from __future__ import annotations

import atexit
import gzip
import logging
import os
import random
import re
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from flightlog.sdk.formatter import SHIPPED_ATTR, JSONFormatter, _default

__all__ = [
    "DropReason",
    "ExportError",
    "Exporter",
    "LokiExporter",
    "ShipEntry",
    "Shipper",
    "ShipperConfig",
    "ShippingHandler",
    "encode_loki_push",
    "event_labels",
    "event_metadata",
    "event_to_entry",
]

Labels = tuple[tuple[str, str], ...]


class DropReason:
    """Why entries were dropped; used in ``Shipper.stats()["dropped"]`` and in reports."""

    QUEUE_FULL = "queue_full"
    BUFFER_FULL = "buffer_full"
    REJECTED = "rejected"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True, slots=True)
class ShipEntry:
    """One log line bound for the server: stream labels, time, line, structured metadata."""

    labels: Labels
    ts_ns: int
    line: str
    metadata: Mapping[str, str] = field(default_factory=dict)


class ExportError(Exception):
    """An export attempt failed; ``retryable`` says whether sending again may succeed."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Exporter(Protocol):
    def export(self, payload: bytes, entries: int) -> None:
        """Deliver one encoded batch or raise ``ExportError``."""


def encode_loki_push(entries: Sequence[ShipEntry]) -> bytes:
    """The Loki push JSON body for ``entries``, grouped into streams by label set."""
    streams: dict[Labels, list[list[Any]]] = {}
    for entry in entries:
        value: list[Any] = [str(entry.ts_ns), entry.line]
        if entry.metadata:
            value.append(dict(entry.metadata))
        streams.setdefault(entry.labels, []).append(value)
    body = {
        "streams": [
            {"stream": dict(labels), "values": values} for labels, values in streams.items()
        ]
    }
    return orjson.dumps(body)


class LokiExporter:
    """POSTs gzip-compressed Loki push JSON to ``<url>/loki/api/v1/push``."""

    def __init__(
        self,
        url: str,
        timeout_secs: float = 10.0,
        headers: Mapping[str, str] | None = None,
        transport: Any = None,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/loki/api/v1/push"
        self._timeout = timeout_secs
        self._headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        self._headers.update(headers or {})
        self._transport = transport
        self._client: Any = None

    def export(self, payload: bytes, entries: int) -> None:
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout, transport=self._transport)
        try:
            response = self._client.post(self.endpoint, content=payload, headers=self._headers)
        except httpx.HTTPError as exc:
            raise ExportError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        if response.status_code < 300:
            return
        retryable = response.status_code == 429 or response.status_code >= 500
        raise ExportError(
            f"HTTP {response.status_code} from {self.endpoint}: {response.text[:200]}", retryable
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


@dataclass(frozen=True)
class ShipperConfig:
    """Batching, buffering and retry settings (units in the names)."""

    batch_max_entries: int = 1000
    flush_interval_secs: float = 1.0
    max_queue_entries: int = 100_000
    buffer_dir: Path | None = None
    max_buffer_bytes: int = 64 * 1024 * 1024
    backoff_initial_secs: float = 0.5
    backoff_max_secs: float = 30.0
    exit_timeout_secs: float = 5.0

    def validate(self) -> ShipperConfig:
        from flightlog.errors import ConfigError

        for name in ("batch_max_entries", "max_queue_entries", "max_buffer_bytes"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"shipper {name}={getattr(self, name)} must be > 0")
        for name in ("flush_interval_secs", "backoff_initial_secs", "backoff_max_secs"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"shipper {name}={getattr(self, name)} must be > 0 seconds")
        return self


_SPOOL_NAME = re.compile(r"^\d{20}-\d+\.batch$")


class _Spool:
    """Failed batches waiting for a retry: files in ``directory``, or memory if none."""

    def __init__(self, directory: Path | None, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._memory: deque[tuple[str, bytes, int]] = deque()
        self._seq = 0
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            existing = self._files()
            if existing:
                self._seq = int(existing[-1].name.split("-")[0]) + 1

    def _files(self) -> list[Path]:
        assert self.directory is not None
        # Only our own names (``<20-digit seq>-<entries>.batch``): stray files are ignored.
        return sorted(p for p in self.directory.iterdir() if _SPOOL_NAME.match(p.name))

    def put(self, payload: bytes, entries: int) -> int:
        """Store a batch; returns the number of entries dropped (oldest) to stay in bounds."""
        name = f"{self._seq:020d}-{entries}.batch"
        self._seq += 1
        if self.directory is None:
            self._memory.append((name, payload, entries))
        else:
            tmp = self.directory / (name + ".tmp")
            tmp.write_bytes(payload)
            os.replace(tmp, self.directory / name)
        return self._trim()

    def _trim(self) -> int:
        dropped = 0
        while self.total_bytes() > self.max_bytes and self.count() > 1:
            name, _, entries = self.oldest()  # type: ignore[misc]
            self.remove(name)
            dropped += entries
        return dropped

    def total_bytes(self) -> int:
        if self.directory is None:
            return sum(len(p) for _, p, _ in self._memory)
        return sum(p.stat().st_size for p in self._files())

    def count(self) -> int:
        return len(self._memory) if self.directory is None else len(self._files())

    def entries(self) -> int:
        if self.directory is None:
            return sum(n for _, _, n in self._memory)
        return sum(int(p.name.split("-")[1].split(".")[0]) for p in self._files())

    def oldest(self) -> tuple[str, bytes, int] | None:
        if self.directory is None:
            return self._memory[0] if self._memory else None
        files = self._files()
        if not files:
            return None
        path = files[0]
        return path.name, path.read_bytes(), int(path.name.split("-")[1].split(".")[0])

    def remove_directory_if_empty(self) -> None:
        if self.directory is not None and self.count() == 0:
            try:
                self.directory.rmdir()
            except OSError:  # not empty (a stray file) or already gone: leave it
                pass

    def remove(self, name: str) -> None:
        if self.directory is None:
            if self._memory and self._memory[0][0] == name:
                self._memory.popleft()
            else:
                self._memory = deque(item for item in self._memory if item[0] != name)
        else:
            (self.directory / name).unlink(missing_ok=True)


class Shipper:
    """Background batching shipper; see the module docstring. Thread starts on first submit."""

    def __init__(
        self,
        exporter: Exporter,
        config: ShipperConfig | None = None,
        report: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.exporter = exporter
        self.config = (config or ShipperConfig()).validate()
        self._report = report or (lambda message: print(message, file=sys.stderr))
        self._rng = rng or random.Random()
        self._queue: deque[ShipEntry] = deque()
        self._spool = _Spool(self.config.buffer_dir, self.config.max_buffer_bytes)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._retry_at = 0.0
        self._failures = 0
        self._unreported_drops: dict[str, int] = {}
        self._busy = False
        self.thread_ident: int | None = None
        self.sent_entries = 0
        self.sent_batches = 0
        self.failed_attempts = 0
        self.dropped: dict[str, int] = {}
        self.last_error: str | None = None
        self.closed = False
        _reset_in_forked_children(self)
        # Registered now, before any Run that ships through us registers its exit hook:
        # atexit runs hooks last-in first-out, so runs finish first, then we flush.
        atexit.register(self.close, self.config.exit_timeout_secs)

    def _after_fork_in_child(self) -> None:
        """A forked child (e.g. a DataLoader worker) gets its own thread and a memory spool.

        Threads do not survive fork, and two processes must not send the same spooled
        batches; what the parent had queued stays the parent's to send.
        """
        self._queue = deque()
        self._spool = _Spool(None, self.config.max_buffer_bytes)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._start_lock = threading.Lock()
        self._thread = None
        self._busy = False
        self.thread_ident = None
        if hasattr(self.exporter, "_client"):
            self.exporter._client = None  # an HTTP connection pool is not fork-safe

    # -- caller side (must never block or raise) ---------------------------------------
    def submit(self, entry: ShipEntry) -> None:
        """Queue one entry; drops the oldest queued entry when the queue is full."""
        if self.closed:
            self._count_drop(DropReason.SHUTDOWN, 1)
            return
        if len(self._queue) >= self.config.max_queue_entries:
            try:
                self._queue.popleft()
                self._count_drop(DropReason.QUEUE_FULL, 1)
            except IndexError:
                pass
        self._queue.append(entry)
        if self._thread is None:
            self._start()
        elif len(self._queue) >= self.config.batch_max_entries:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._loop, name="flightlog-shipper", daemon=True
            )
            self._thread.start()

    def stats(self) -> dict[str, Any]:
        """Counters: sent, failed attempts, dropped by reason, queued and buffered entries."""
        return {
            "sent_entries": self.sent_entries,
            "sent_batches": self.sent_batches,
            "failed_attempts": self.failed_attempts,
            "dropped": dict(self.dropped),
            "queued_entries": len(self._queue),
            "buffered_entries": self._spool.entries(),
            "last_error": self.last_error,
        }

    def flush(self, timeout_secs: float = 5.0) -> bool:
        """Try to deliver everything queued and buffered now; True if nothing is left."""
        if self._thread is None:
            if not self._queue and self._spool.count() == 0:
                return True
            self._start()
        self._retry_at = 0.0
        deadline = time.monotonic() + timeout_secs
        with self._idle:
            while self._queue or self._spool.count() or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._retry_at = 0.0
                self._wake.set()
                self._idle.wait(min(remaining, 0.05))
        return True

    def close(self, timeout_secs: float | None = None) -> None:
        """Flush with a timeout, then stop the thread; what is left stays in the spool."""
        if self.closed:
            return
        timeout = self.config.exit_timeout_secs if timeout_secs is None else timeout_secs
        self.flush(timeout)
        self.closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        left = len(self._queue)
        if left:
            # Keep what could not be sent on disk for the next process, if we have a disk.
            batch = [self._queue.popleft() for _ in range(left)]
            if self.config.buffer_dir is not None:
                self._spool.put(gzip.compress(encode_loki_push(batch), 1), len(batch))
            else:
                self._count_drop(DropReason.SHUTDOWN, len(batch))
        close = getattr(self.exporter, "close", None)
        if close is not None:
            close()
        self._spool.remove_directory_if_empty()
        atexit.unregister(self.close)

    # -- background thread -------------------------------------------------------------
    def _count_drop(self, reason: str, count: int) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + count
        self._unreported_drops[reason] = self._unreported_drops.get(reason, 0) + count

    def _loop(self) -> None:
        self.thread_ident = threading.get_ident()
        while not self._stop.is_set():
            self._wake.wait(self.config.flush_interval_secs)
            self._wake.clear()
            try:
                self._busy = True
                self._drain()
            except Exception as exc:  # boundary: the shipper thread must survive anything
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self._busy = False
                with self._idle:
                    self._idle.notify_all()

    def _backoff_secs(self) -> float:
        base = min(
            self.config.backoff_max_secs,
            self.config.backoff_initial_secs * 2 ** min(self._failures, 30),
        )
        return base * (0.5 + self._rng.random() / 2)

    def _send(self, payload: bytes, entries: int, count_rejects: bool = True) -> bool | None:
        """True: delivered; False: retry later; None: rejected for good."""
        try:
            self.exporter.export(payload, entries)
        except ExportError as exc:
            self.failed_attempts += 1
            self.last_error = str(exc)
            if not exc.retryable:
                if count_rejects:
                    self._count_drop(DropReason.REJECTED, entries)
                return None
            self._failures += 1
            self._retry_at = time.monotonic() + self._backoff_secs()
            return False
        self._failures = 0
        self.sent_entries += entries
        self.sent_batches += 1
        return True

    def _drain(self) -> None:
        # Oldest first: the spool, then the queue.
        while time.monotonic() >= self._retry_at:
            oldest = self._spool.oldest()
            if oldest is None:
                break
            name, payload, entries = oldest
            if self._send(payload, entries) is False:
                break
            self._spool.remove(name)
        while self._queue:
            batch: list[ShipEntry] = []
            while self._queue and len(batch) < self.config.batch_max_entries:
                batch.append(self._queue.popleft())
            payload = gzip.compress(encode_loki_push(batch), 1)
            if time.monotonic() < self._retry_at or self._spool.count():
                self._buffer(payload, len(batch))
                continue
            if self._send(payload, len(batch)) is False:
                self._buffer(payload, len(batch))
        if self._unreported_drops and self._failures == 0 and self._spool.count() == 0:
            self._report_drops()

    def _buffer(self, payload: bytes, entries: int) -> None:
        dropped = self._spool.put(payload, entries)
        if dropped:
            self._count_drop(DropReason.BUFFER_FULL, dropped)

    def _report_drops(self) -> None:
        """Tell the user (stderr by default) and the server how many entries were lost."""
        drops, self._unreported_drops = self._unreported_drops, {}
        message = "flightlog shipper dropped " + ", ".join(
            f"{n} entries ({r})" for r, n in sorted(drops.items())
        )
        self._report(message)
        line = orjson.dumps(
            {"level": "WARNING", "logger": "flightlog.shipper", "msg": message, "dropped": drops}
        )
        entry = ShipEntry(
            (("level", "warning"), ("service", "flightlog-sdk")), time.time_ns(), line.decode()
        )
        # Best effort: a report the server refuses is not itself reported again.
        self._send(gzip.compress(encode_loki_push([entry]), 1), 1, count_rejects=False)


def _reset_in_forked_children(shipper: Shipper) -> None:
    if not hasattr(os, "register_at_fork"):
        return
    reference = weakref.ref(shipper)

    def after_in_child() -> None:
        alive = reference()
        if alive is not None and not alive.closed:
            alive._after_fork_in_child()

    os.register_at_fork(after_in_child=after_in_child)


# Fields of an event that become stream labels when present (low cardinality only);
# these become structured metadata instead (high cardinality, searchable).
LABEL_FIELDS = ("run_id",)
METADATA_FIELDS = ("trace_id", "span_id", "correlation_id", "request_id", "logger")


class ShippingHandler(logging.Handler):
    """A ``logging`` handler that ships each record (as its JSON line) through a ``Shipper``.

    Labels: ``labels`` given here, ``level`` (lowercase) and ``run_id`` when bound. Trace,
    span, correlation and request IDs travel as structured metadata, not labels. A record
    marked as already shipped to this handler's shipper (a ``Run``'s echo of a record its
    writer ships) is skipped.
    """

    def __init__(
        self,
        shipper: Shipper,
        labels: Mapping[str, str] | None = None,
        level: int = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        self.shipper = shipper
        self.labels = {str(k): str(v) for k, v in (labels or {}).items()}
        self.setFormatter(JSONFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.shipper.thread_ident:
            # The shipper's own HTTP client logs each request: shipping those lines would
            # make every export produce the next one.
            return
        if record.__dict__.get(SHIPPED_ATTR) is self.shipper:
            return
        try:
            formatter = (
                self.formatter if isinstance(self.formatter, JSONFormatter) else JSONFormatter()
            )
            event = formatter.event(record)
            self.shipper.submit(event_to_entry(event, self.labels, int(record.created * 1e9)))
        except Exception:  # boundary: a log call must never raise into user code
            self.handleError(record)


def event_labels(event: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, str]:
    """An event's stream labels: ``labels``, its ``level`` (lower case), ``LABEL_FIELDS``.

    ``flightlog push`` labels the SDK's records it reads from files with this too, so a
    pushed ``<name>_metrics.jsonl`` lands in the streams live shipping would have used.
    """
    stream = dict(labels)
    level = event.get("level")
    if level is not None:
        stream["level"] = str(level).lower()
    for name in LABEL_FIELDS:
        value = event.get(name)
        if value is not None:
            stream[name] = str(value)
    return stream


def event_metadata(event: Mapping[str, Any]) -> dict[str, str]:
    """An event's structured metadata: its ``METADATA_FIELDS`` that are set."""
    return {name: str(event[name]) for name in METADATA_FIELDS if event.get(name) is not None}


def event_to_entry(event: Mapping[str, Any], labels: Mapping[str, str], ts_ns: int) -> ShipEntry:
    """Turn an event dict into a ``ShipEntry`` (labels per ``LABEL_FIELDS``, rest metadata)."""
    stream = event_labels(event, labels)
    metadata = event_metadata(event)
    line = orjson.dumps(
        event, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
    )
    return ShipEntry(tuple(sorted(stream.items())), ts_ns, line.decode(), metadata)
