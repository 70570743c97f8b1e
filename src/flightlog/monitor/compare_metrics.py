"""Champion/challenger input from ``ModelMonitor`` metrics: two scrapes bracket the period.

``samples_from_metrics(before, after, model)`` reads two Prometheus text expositions of a
model server's ``/metrics`` (taken at the start and the end of the comparison period) and
returns, per version, the increase of ``ml_model_predictions_total`` (errors and total),
``ml_model_labelled_predictions_total`` (accuracy) and the
``ml_model_inference_duration_seconds`` histogram. A counter that went down was reset (the
process restarted), so its value after the reset is taken as the increase, as PromQL's
``increase()`` does. Latency intervals then come from a multinomial bootstrap of the
histogram's bucket counts (see ``flightlog.monitor.compare``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from flightlog.errors import MonitorError
from flightlog.monitor.compare import VersionSample

__all__ = ["samples_from_metrics"]

_PREDICTIONS = "ml_model_predictions_total"
_LABELLED = "ml_model_labelled_predictions_total"
_BUCKETS = "ml_model_inference_duration_seconds_bucket"

_SeriesKey = tuple[str, frozenset[tuple[str, str]]]


def samples_from_metrics(before: str, after: str, model: str) -> dict[str, VersionSample]:
    """Per-version ``VersionSample`` of what happened between two scrapes of ``/metrics``."""
    start = _series(before, "before")
    end = _series(after, "after")
    versions = sorted(
        dict(labels)["version"]
        for name, labels in end
        if name == _PREDICTIONS and dict(labels).get("model") == model
    )
    if not versions:
        raise MonitorError(
            f"no {_PREDICTIONS} series for model {model!r} in the later scrape: "
            "check the model name and that the server uses ModelMonitor"
        )
    samples: dict[str, VersionSample] = {}
    for version in dict.fromkeys(versions):
        base = {"model": model, "version": version}
        ok = _increase(start, end, _PREDICTIONS, {**base, "status": "ok"})
        errors = _increase(start, end, _PREDICTIONS, {**base, "status": "error"})
        correct = _increase(start, end, _LABELLED, {**base, "outcome": "correct"})
        incorrect = _increase(start, end, _LABELLED, {**base, "outcome": "incorrect"})
        bounds = sorted(
            {
                float(dict(labels)["le"])
                for name, labels in end
                if name == _BUCKETS and {*base.items()} <= set(labels)
            }
        )
        buckets = tuple(
            (bound, _increase(start, end, _BUCKETS, {**base, "le": _le_text(bound)}))
            for bound in bounds
        )
        samples[version] = VersionSample(
            version=version,
            latencies_seconds=np.empty(0),
            errors=round(errors),
            total=round(ok + errors),
            predictions=(),
            correct=round(correct),
            labelled=round(correct + incorrect),
            latency_buckets=buckets,
        )
    return samples


def _increase(
    start: Mapping[_SeriesKey, float],
    end: Mapping[_SeriesKey, float],
    name: str,
    labels: Mapping[str, str],
) -> float:
    key = (name, frozenset(labels.items()))
    later = end.get(key, 0.0)
    earlier = start.get(key, 0.0)
    return later - earlier if later >= earlier else later


def _series(text: str, which: str) -> dict[_SeriesKey, float]:
    from prometheus_client.parser import text_string_to_metric_families

    series: dict[_SeriesKey, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in (_PREDICTIONS, _LABELLED, _BUCKETS):
                    labels = dict(sample.labels)
                    if "le" in labels:
                        labels["le"] = _le_text(float(labels["le"]))
                    series[(sample.name, frozenset(labels.items()))] = float(sample.value)
    except (ValueError, TypeError, IndexError) as error:
        raise MonitorError(
            f"the {which} scrape is not Prometheus text exposition format ({error})"
        ) from error
    return series


def _le_text(bound: float) -> str:
    """One spelling per bucket bound ("0.5", "+Inf") whatever the exposition wrote."""
    return "+Inf" if math.isinf(bound) else repr(bound)
