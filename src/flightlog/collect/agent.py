"""The collection agent: tail files (or stdin), run the pipeline, spool, ship.

One thread reads and processes; the shipper thread sends. Reading files is
``TailedFiles`` (files.py); what was read waits in a ``PendingBatch`` (batch.py) until it
is spooled with the read positions it completes, so a crash at any moment resumes after
the last whole group spooled: nothing lost, nothing read twice.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from flightlog.collect.batch import PendingBatch
from flightlog.collect.config import CollectConfig
from flightlog.collect.files import TailedFiles
from flightlog.collect.metrics import agent_metrics
from flightlog.collect.multiline import MultilineJoiner
from flightlog.collect.positions import KnownFiles, PositionsFile
from flightlog.collect.shipper import Shipper
from flightlog.collect.spool import Spool
from flightlog.collect.stdin import tee_stdin
from flightlog.errors import ConfigError
from flightlog.pipeline.config import build_pipeline

__all__ = ["Agent"]


def _lock_data_dir(data_dir: Path) -> BinaryIO:
    """Hold an exclusive lock on the data directory: two agents on one would read twice."""
    handle = open(data_dir / "lock", "ab")  # noqa: SIM115 - held for the agent's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(
            f"another flightlog collect is using {data_dir}; give each agent its own --data-dir"
        ) from None
    return handle


class Agent:
    """Tails the configured inputs into the server until ``stop`` is set."""

    def __init__(
        self,
        config: CollectConfig,
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config.validate()
        self.config = config
        self._clock = clock
        self._metrics = agent_metrics(registry)
        self._registry = registry
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock_data_dir(config.data_dir)
        self.pipeline = build_pipeline(config.pipeline, name="collect", registry=registry)
        self.spool = Spool(
            config.data_dir / "buffer", max_bytes=config.buffer_max_bytes, registry=registry
        )
        self.shipper = Shipper(config.shipper, self.spool, registry=registry, transport=transport)
        self._positions_file = PositionsFile(config.data_dir / "positions.json")
        seq, positions = self._positions_file.load()
        recovered = self.spool.recovered_positions(seq)
        if recovered is not None:
            seq, positions = recovered
        seq = max(seq, self.spool.last_seq)
        self._known = KnownFiles(positions)
        self._positions_file.save(seq, positions)
        self.spool.commit(seq)
        self._batch = PendingBatch(
            config,
            self.pipeline,
            self.spool,
            self._positions_file,
            self._known,
            seq=seq,
            metrics=self._metrics,
            clock=clock,
            wall_clock_ns=wall_clock_ns,
        )
        self._files = TailedFiles(
            config, self._known, self._batch, self.spool, flush=self.flush_batch, clock=clock
        )
        self.ready = threading.Event()
        """Set once the first look for files is done (every file found is being tailed)."""

    def flush_batch(self) -> None:
        """Process the pending records, spool them with the positions they complete."""
        self._batch.flush(self._files.snapshot_positions())

    def discover(self) -> None:
        """Open files the globs match that are not open yet; read new .gz files once."""
        self._files.discover()
        self.ready.set()

    def poll_files(self) -> int:
        """One pass over every open file; returns how many lines were read."""
        return self._files.poll()

    def run(self, stop: threading.Event) -> None:
        """Tail until ``stop`` is set, then flush the batch and give the shipper time to drain."""
        self._serve_metrics()
        self.shipper.start()
        next_discovery = 0.0
        try:
            while not stop.is_set():
                now = self._clock()
                if now >= next_discovery:
                    self.discover()
                    next_discovery = now + self.config.glob_interval_secs
                read = self.poll_files()
                if self._batch.due(self._clock()) or (self._known.changed and self._batch.empty):
                    self.flush_batch()
                if not read:
                    stop.wait(self.config.poll_interval_secs)
        finally:
            self.flush_batch()
            self._drain()
            self._files.close()
            self._lock_file.close()

    def _serve_metrics(self) -> None:
        if self.config.metrics_port is not None:
            start_http_server(
                self.config.metrics_port, addr="127.0.0.1", registry=self._registry or REGISTRY
            )

    def _drain(self) -> None:
        deadline = self._clock() + self.config.drain_timeout_secs
        while self.spool.pending() and self._clock() < deadline:
            time.sleep(0.05)
        self.shipper.stop()

    # -- stdin ---------------------------------------------------------------

    def run_stdin(
        self,
        stdin: BinaryIO,
        stdout: BinaryIO | None,
        stop: threading.Event,
        *,
        labels: dict[str, str] | None = None,
        joiner: MultilineJoiner | None = None,
    ) -> None:
        """Read ``stdin`` to its end, copying it to ``stdout`` unchanged, and ship its lines.

        After ``stop`` is set, stdin is still read to its end for at most
        ``stdin_drain_timeout_secs`` (the job's traceback after Ctrl-C); see ``stdin.py``.
        """
        self._serve_metrics()
        self.shipper.start()
        stream_labels = dict(labels or {})
        metadata: dict[str, str] = {}

        def tick(now: float) -> None:
            if self._batch.due(now):
                self.flush_batch()

        try:
            tee_stdin(
                stdin,
                stdout,
                stop,
                emit=lambda lines: self._batch.emit(lines, stream_labels, metadata, ""),
                tick=tick,
                clock=self._clock,
                joiner=joiner,
                poll_interval_secs=self.config.poll_interval_secs,
                drain_timeout_secs=self.config.stdin_drain_timeout_secs,
            )
        finally:
            self.flush_batch()
            self._drain()
            self._lock_file.close()
