"""Test doubles for code that logs with flightlog -- the ones flightlog's own tests use.

* ``capture_records()`` -- collect every ``logging`` event (as flightlog's event dicts)
  emitted inside a ``with`` block.
* ``InMemoryExporter`` -- a shipping destination that keeps what it receives (decoded
  Loki push bodies) and can be switched "down" to exercise retries and buffering.
* ``FakeClock`` -- a clock you move by hand, for ``Run(clock=...)`` and rotation.
* ``RecordingServer`` -- a real HTTP server on a free loopback port that records the
  Loki push bodies it receives (gzip or not); ``up = False`` makes it answer 503.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from flightlog.sdk.formatter import build_event
from flightlog.sdk.processors import Processor, run_processors
from flightlog.sdk.shipper import ExportError

__all__ = [
    "CapturedEntry",
    "FakeClock",
    "InMemoryExporter",
    "RecordingServer",
    "capture_records",
]


class _CaptureHandler(logging.Handler):
    def __init__(self, sink: list[dict[str, Any]], processors: Sequence[Processor]) -> None:
        super().__init__(logging.NOTSET)
        self.sink = sink
        self.processors = tuple(processors)
        self.dropped: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = run_processors(self.processors, build_event(record), self.dropped)
        if event is not None:
            self.sink.append(event)


@contextmanager
def capture_records(
    level: int = logging.DEBUG, processors: Sequence[Processor] = ()
) -> Iterator[list[dict[str, Any]]]:
    """Collect the event dicts of every record logged inside the block (root logger).

    The root level is lowered to ``level`` for the block and restored afterwards.
    """
    records: list[dict[str, Any]] = []
    handler = _CaptureHandler(records, processors)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@dataclass(frozen=True)
class CapturedEntry:
    """One entry an ``InMemoryExporter`` received."""

    labels: dict[str, str]
    ts_ns: int
    line: str
    metadata: dict[str, str]

    @property
    def event(self) -> Any:
        """The line parsed as JSON."""
        return orjson.loads(self.line)


@dataclass
class InMemoryExporter:
    """Receives shipped batches in memory; set ``down = True`` to make exports fail."""

    down: bool = False
    status_code: int = 503
    entries: list[CapturedEntry] = field(default_factory=list)
    batches: int = 0
    attempts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def export(self, payload: bytes, entries: int) -> None:
        with self._lock:
            self.attempts += 1
            if self.down:
                raise ExportError(f"InMemoryExporter is down (HTTP {self.status_code})", True)
            body = orjson.loads(gzip.decompress(payload))
            self.batches += 1
            for stream in body["streams"]:
                for value in stream["values"]:
                    metadata = value[2] if len(value) > 2 else {}
                    self.entries.append(
                        CapturedEntry(dict(stream["stream"]), int(value[0]), value[1], metadata)
                    )

    def lines(self) -> list[str]:
        with self._lock:
            return [entry.line for entry in self.entries]


class FakeClock:
    """A clock that moves only when told: ``advance(secs)``. Starts at ``start_ns``."""

    def __init__(self, start_ns: int = 1_795_000_000_000_000_000) -> None:
        self._ns = start_ns
        self._mono = 0.0
        self._lock = threading.Lock()

    def time_ns(self) -> int:
        return self._ns

    def time(self) -> float:
        return self._ns / 1e9

    def monotonic(self) -> float:
        return self._mono

    def advance(self, secs: float) -> None:
        with self._lock:
            self._ns += int(secs * 1e9)
            self._mono += secs


class RecordingServer:
    """A real HTTP server recording Loki push bodies; use as a context manager.

    ``url`` is its base URL; ``up = False`` answers 503 (retryable), ``reject_status``
    answers that status instead (e.g. 400); ``entries()`` and ``lines()`` read what it got.
    """

    def __init__(self) -> None:
        self.up = True
        self.reject_status: int | None = None
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.received = threading.Condition()
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if not state.up or state.reject_status is not None:
                    self.send_response(state.reject_status or 503)
                    self.end_headers()
                    self.wfile.write(b"unavailable")
                    return
                try:
                    if self.headers.get("Content-Encoding") == "gzip":
                        raw = gzip.decompress(raw)
                    body = orjson.loads(raw)
                except (OSError, EOFError, orjson.JSONDecodeError):
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b"bad push body")
                    return
                with state.lock:
                    state.requests.append(body)
                self.send_response(204)
                self.end_headers()
                with state.received:
                    state.received.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def entries(self) -> list[tuple[dict[str, str], str, str, dict[str, str]]]:
        """``(labels, ts_ns string, line, metadata)`` for every entry received."""
        with self.lock:
            out = []
            for body in self.requests:
                for stream in body["streams"]:
                    for value in stream["values"]:
                        metadata = value[2] if len(value) > 2 else {}
                        out.append((stream["stream"], value[0], value[1], metadata))
            return out

    def lines(self) -> list[str]:
        return [line for _, _, line, _ in self.entries()]
