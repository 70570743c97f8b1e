"""SLIs of one model version, measured from its prediction logs or its metrics.

``version_slis(sample, latency_threshold_seconds, ...)`` turns a ``VersionSample`` —
built by ``compare.samples_from_records`` (logs) or ``compare_metrics.samples_from_metrics``
(two ``/metrics`` scrapes) — into SLIs:

- availability (events): predictions without an error, out of all predictions;
- latency (events): predictions at or under the threshold (raw latencies from logs, or
  the histogram bucket whose bound is the threshold from metrics);
- quality (events): correct predictions out of labelled ones, when labels exist;
- freshness (seconds), with ``freshness_max_age_seconds`` and ``period_seconds``: the
  seconds of the period during which the newest prediction was at most that old
  (``slo.freshness_sli``, exact in time). It needs the predictions' times, so it comes
  from logs (their ``ts``); two scrapes cannot say when predictions arrived between them,
  and asking for it from metrics is a MonitorError. Logs sampled at ``sample_rate`` < 1
  show fewer arrivals than were served, so from them it is a lower bound;
- throughput (seconds), with ``min_throughput_per_second`` and ``period_seconds``: the
  seconds of the period spent in ``throughput_window_seconds`` windows that served at
  least that rate (``slo.throughput_sli``; a trailing partial window is not eligible).
  From logs each logged prediction counts ``1 / sample_rate``; from metrics the whole
  period is one window holding the counter's increase.

Judge each with ``slo.SloStatus(measurement, objective)``: budget = (1 - objective) x
eligible events or seconds, burn rate = error ratio / (1 - objective).
"""

from __future__ import annotations

import math

import numpy as np

from flightlog.errors import MonitorError
from flightlog.monitor.compare import VersionSample
from flightlog.monitor.slo import (
    SliKind,
    SliMeasurement,
    SliUnit,
    availability_sli,
    freshness_sli,
    latency_sli,
    latency_sli_from_buckets,
    throughput_sli,
)

__all__ = ["version_slis"]


def version_slis(
    sample: VersionSample,
    latency_threshold_seconds: float,
    *,
    period_seconds: tuple[float, float] | None = None,
    freshness_max_age_seconds: float | None = None,
    min_throughput_per_second: float | None = None,
    throughput_window_seconds: float = 60.0,
) -> dict[SliKind, SliMeasurement]:
    """Availability, latency, quality (with labels), freshness and throughput (when asked)."""
    slis = {SliKind.AVAILABILITY: availability_sli(sample.total - sample.errors, sample.total)}
    if sample.latencies_seconds.size:
        slis[SliKind.LATENCY] = latency_sli(
            sample.latencies_seconds.tolist(), latency_threshold_seconds
        )
    elif sample.latency_buckets:
        slis[SliKind.LATENCY] = latency_sli_from_buckets(
            sample.latency_buckets, latency_threshold_seconds
        )
    if sample.labelled:
        slis[SliKind.QUALITY] = SliMeasurement(
            SliKind.QUALITY, sample.correct, sample.labelled, SliUnit.EVENTS
        )
    if freshness_max_age_seconds is not None:
        start, end = _period(period_seconds, "freshness")
        if sample.arrival_times_seconds is None:
            raise MonitorError(
                f"freshness of version {sample.version!r} needs the times of its predictions: "
                "measure it from prediction logs with a 'ts' field (two /metrics scrapes "
                "cannot say when predictions arrived between them)"
            )
        slis[SliKind.FRESHNESS] = freshness_sli(
            sample.arrival_times_seconds.tolist(), start, end, freshness_max_age_seconds
        )
    if min_throughput_per_second is not None:
        start, end = _period(period_seconds, "throughput")
        counts, window = _window_counts(sample, start, end, throughput_window_seconds)
        slis[SliKind.THROUGHPUT] = throughput_sli(counts, min_throughput_per_second, window)
    return slis


def _period(period_seconds: tuple[float, float] | None, sli: str) -> tuple[float, float]:
    if period_seconds is None:
        raise MonitorError(f"the {sli} SLI needs period_seconds=(start, end) in unix seconds")
    start, end = period_seconds
    if not end > start:
        raise MonitorError(f"period_seconds=({start}, {end}): end must be after start")
    return start, end


def _window_counts(
    sample: VersionSample, start: float, end: float, window_seconds: float
) -> tuple[list[float], float]:
    """Predictions served per full window of the period (one window for metrics)."""
    if window_seconds <= 0:
        raise MonitorError(f"throughput_window_seconds={window_seconds}: must be > 0")
    if sample.arrival_times_seconds is None:
        return [float(sample.total)], end - start
    windows = math.floor((end - start) / window_seconds)
    if windows < 1:
        raise MonitorError(
            f"the period ({end - start:g}s) is shorter than throughput_window_seconds "
            f"({window_seconds:g}s): widen the period or shorten the window"
        )
    edges = start + window_seconds * np.arange(windows + 1, dtype=np.float64)
    weights = sample.arrival_weights
    counts, _ = np.histogram(sample.arrival_times_seconds, bins=edges, weights=weights)
    return counts.tolist(), window_seconds
