"""SLIs of one model version, measured from its prediction logs or its metrics.

``version_slis(sample, latency_threshold_seconds)`` turns a ``VersionSample`` — built by
``compare.samples_from_records`` (logs) or ``compare_metrics.samples_from_metrics``
(two ``/metrics`` scrapes) — into event-based SLIs:

- availability: predictions without an error, out of all predictions;
- latency: predictions at or under the threshold (raw latencies from logs, or the
  histogram bucket whose bound is the threshold from metrics);
- quality: correct predictions out of labelled ones, when labels exist.

Judge each with ``slo.SloStatus(measurement, objective)``.
"""

from __future__ import annotations

from flightlog.monitor.compare import VersionSample
from flightlog.monitor.slo import (
    SliKind,
    SliMeasurement,
    SliUnit,
    availability_sli,
    latency_sli,
    latency_sli_from_buckets,
)

__all__ = ["version_slis"]


def version_slis(
    sample: VersionSample, latency_threshold_seconds: float
) -> dict[SliKind, SliMeasurement]:
    """Availability, latency and (with labels) quality SLIs of one version."""
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
    return slis
