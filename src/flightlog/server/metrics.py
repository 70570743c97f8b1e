"""The server's Prometheus metrics, on a registry the app owns (never the global one).

Ingest metrics follow Vector's received / stored / rejected{reason} shape. Store gauges
(head size, segments, flushes, WAL fsync time) are read from the store when ``/metrics``
is scraped, through ``StoreCollector``, so the store needs no prometheus dependency.
Other packages add their own metrics to ``Services.registry``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["IngestMetrics", "StoreCollector"]

_APPEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class IngestMetrics:
    """Counters the push endpoints update."""

    entries_received: Counter
    bytes_received: Counter
    entries_stored: Counter
    bytes_stored: Counter
    entries_rejected: Counter
    requests_rejected: Counter
    append_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            entries_received=Counter(
                "flightlog_ingest_entries_received",
                "Log entries received by the push endpoints, before validation.",
                ["tenant"],
                registry=registry,
            ),
            bytes_received=Counter(
                "flightlog_ingest_bytes_received",
                "Request body bytes received by the push endpoints (as sent, compressed or not).",
                ["tenant"],
                registry=registry,
            ),
            entries_stored=Counter(
                "flightlog_ingest_entries_stored",
                "Log entries appended to the store (fsynced to the WAL).",
                ["tenant"],
                registry=registry,
            ),
            bytes_stored=Counter(
                "flightlog_ingest_bytes_stored",
                "Line and structured-metadata bytes appended to the store.",
                ["tenant"],
                registry=registry,
            ),
            entries_rejected=Counter(
                "flightlog_ingest_entries_rejected",
                "Log entries rejected, by reason (see flightlog.ingest.reasons).",
                ["tenant", "reason"],
                registry=registry,
            ),
            requests_rejected=Counter(
                "flightlog_ingest_requests_rejected",
                "Push requests rejected whole (nothing stored), by reason.",
                ["tenant", "reason"],
                registry=registry,
            ),
            append_seconds=Histogram(
                "flightlog_wal_append_fsync_seconds",
                "Time to append one push to the WAL and fsync it (the part of a push's latency spent on durability).",
                buckets=_APPEND_BUCKETS,
                registry=registry,
            ),
        )

    def record_rejections(self, tenant: str, counts: Mapping[str, int]) -> None:
        for reason, count in counts.items():
            if count:
                self.entries_rejected.labels(tenant, reason).inc(count)


class StoreCollector(Collector):
    """Exposes store figures read at scrape time from a ``stats()`` callable.

    ``stats`` returns a mapping with any of the keys of ``_GAUGES`` and ``_COUNTERS``
    (``head_bytes``, ``segments``, ``flushes``, ``wal_fsyncs``, ...); missing keys are
    simply not exported.
    """

    _GAUGES = {
        "head_bytes": (
            "flightlog_store_head_bytes",
            "Bytes held in the in-memory head (entries not yet cut into segments).",
        ),
        "head_entries": ("flightlog_store_head_entries", "Entries held in the in-memory head."),
        "segments": ("flightlog_store_segments", "Parquet segments in the catalog."),
        "segment_bytes": ("flightlog_store_segment_bytes", "Bytes of Parquet segments on disk."),
        "segment_entries": ("flightlog_store_segment_entries", "Entries in Parquet segments."),
        "wal_bytes": ("flightlog_store_wal_bytes", "Bytes of write-ahead log on disk."),
        "streams": ("flightlog_store_streams", "Streams (label sets) the store knows."),
        "tenants": ("flightlog_store_tenants", "Tenants with data in the store."),
    }
    _COUNTERS = {
        "flushes": ("flightlog_store_flushes", "Head flushes to Parquet segments."),
        "wal_fsync_seconds": ("flightlog_wal_fsync_seconds", "Seconds spent in WAL fsync calls."),
        "wal_fsyncs": ("flightlog_wal_fsyncs", "WAL fsync calls."),
        "retention_removed_entries": (
            "flightlog_store_retention_removed_entries",
            "Entries removed by retention rules.",
        ),
    }

    def __init__(self, stats: Callable[[], Mapping[str, float]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        values = self._stats()
        for key, (name, help_text) in self._GAUGES.items():
            if key in values:
                yield GaugeMetricFamily(name, help_text, value=values[key])
        for key, (name, help_text) in self._COUNTERS.items():
            if key in values:
                yield CounterMetricFamily(name, help_text, value=values[key])
