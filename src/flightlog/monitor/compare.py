"""Champion / challenger: compare two model versions over the same period and give a verdict.

Inputs are prediction-log records (``PredictionLogger`` events, from a file or a LogQL
query): ``model_version``, ``latency_seconds``, ``status``, ``prediction`` and, when
ground truth was joined in, ``label`` (or a boolean ``correct``).

Each metric gets a confidence interval for the challenger-minus-champion difference:

- latency p50/p95/p99: percentile bootstrap of the challenger/champion ratio
  (``bootstrap_resamples`` resamples of at most ``bootstrap_max_rows`` rows per side);
- error ratio: Wilson interval per version, Newcombe's hybrid score interval for the
  difference, and the two-proportion z-test p-value;
- accuracy (when both versions have labels): same as error ratio;
- prediction distribution: Jensen-Shannon distance (base 2) between the two versions'
  predictions (quantile bins of the champion's for numbers, categories otherwise).

Verdict, with tolerances from ``ComparisonThresholds``:

- ``rollback``: some metric is worse than its tolerance with confidence (the whole
  interval lies beyond it);
- ``promote``: every metric is non-inferior with confidence (the whole interval lies
  within tolerance), and — when there are no labels — the predictions did not move more
  than ``max_prediction_js_distance``;
- ``keep``: anything else, including too few predictions (``min_predictions``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from flightlog.errors import MonitorError
from flightlog.monitor import stats
from flightlog.timestamps import parse_rfc3339_ns

__all__ = [
    "Comparison",
    "ComparisonThresholds",
    "Interval",
    "MetricComparison",
    "MetricVerdict",
    "Verdict",
    "VersionSample",
    "compare_models",
    "newcombe_difference",
    "pick_versions",
    "samples_from_records",
    "wilson_interval",
]


class Verdict(StrEnum):
    PROMOTE = "promote"
    KEEP = "keep"
    ROLLBACK = "rollback"


class MetricVerdict(StrEnum):
    NON_INFERIOR = "non_inferior"
    WORSE = "worse"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class ComparisonThresholds:
    """Tolerances for the challenger; names carry units (ratio = relative, absolute = points)."""

    max_latency_increase_ratio: float = 0.10
    max_error_ratio_increase: float = 0.005
    max_accuracy_drop: float = 0.01
    max_prediction_js_distance: float = 0.1
    min_predictions: int = 200
    min_labels: int = 100
    confidence: float = 0.95
    bootstrap_resamples: int = 500
    bootstrap_max_rows: int = 10_000
    seed: int = 0

    def validate(self) -> ComparisonThresholds:
        if not 0.5 < self.confidence < 1:
            raise MonitorError(f"confidence={self.confidence}: must be in (0.5, 1), e.g. 0.95")
        if self.bootstrap_resamples < 50:
            raise MonitorError(f"bootstrap_resamples={self.bootstrap_resamples}: use at least 50")
        if self.min_predictions < 1 or self.min_labels < 1:
            raise MonitorError("min_predictions and min_labels must be at least 1")
        return self


@dataclass(frozen=True, slots=True)
class VersionSample:
    version: str
    latencies_seconds: np.ndarray
    errors: int
    total: int
    predictions: tuple[Any, ...]
    correct: int = 0
    labelled: int = 0
    latency_buckets: tuple[tuple[float, float], ...] = ()
    """Cumulative histogram ``(le, count)`` when latencies come from metrics, not logs."""
    arrival_times_seconds: np.ndarray | None = None
    """Sorted unix times of the logged predictions (their ``ts``); None when unknown
    (metrics, or records without a time)."""
    arrival_weights: np.ndarray | None = None
    """Predictions each logged one stands for (1 / its ``sample_rate``), aligned with
    ``arrival_times_seconds``."""


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | None]:
        return {name: _finite(getattr(self, name)) for name in ("estimate", "low", "high")}


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One metric: both versions, the difference (or ratio) with its interval, a verdict."""

    name: str
    champion: Interval
    challenger: Interval
    difference: Interval
    difference_kind: str  # "ratio" (challenger / champion) or "difference" (challenger - champion)
    tolerance: float
    p_value: float | None
    verdict: MetricVerdict
    decides: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "champion": self.champion.to_dict(),
            "challenger": self.challenger.to_dict(),
            self.difference_kind: self.difference.to_dict(),
            "tolerance": self.tolerance,
            "p_value": _finite(self.p_value),
            "verdict": str(self.verdict),
            "decides": self.decides,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    champion: str
    challenger: str
    champion_predictions: int
    challenger_predictions: int
    metrics: tuple[MetricComparison, ...]
    prediction_js_distance: float
    verdict: Verdict
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        return {
            "champion": self.champion,
            "challenger": self.challenger,
            "predictions": {
                "champion": self.champion_predictions,
                "challenger": self.challenger_predictions,
            },
            "metrics": [metric.to_dict() for metric in self.metrics],
            "prediction_js_distance": _finite(self.prediction_js_distance),
            "verdict": str(self.verdict),
            "reasons": list(self.reasons),
        }


def samples_from_records(
    records: Iterable[Mapping[str, Any]],
    version_field: str = "model_version",
    time_field: str = "ts",
) -> dict[str, VersionSample]:
    """Group prediction-log records by version into ``VersionSample`` values.

    A record's time is its ``time_field`` (RFC 3339, as the SDK's JSON lines carry it,
    or unix seconds); its ``sample_rate`` (what ``PredictionLogger`` logs) weighs it as
    ``1 / sample_rate`` predictions. Both feed the freshness and throughput SLIs.
    """
    grouped: dict[str, dict[str, list[Any]]] = {}
    for record in records:
        version = record.get(version_field)
        if version is None:
            continue
        bucket = grouped.setdefault(
            str(version),
            {"latency": [], "error": [], "prediction": [], "correct": [], "time": [], "weight": []},
        )
        moment = _seconds(record.get(time_field))
        if moment is not None:
            bucket["time"].append(moment)
            rate = record.get("sample_rate")
            valid = isinstance(rate, int | float) and not isinstance(rate, bool) and 0 < rate <= 1
            bucket["weight"].append(1.0 / rate if valid else 1.0)
        latency = record.get("latency_seconds")
        if isinstance(latency, int | float) and not isinstance(latency, bool) and latency >= 0:
            bucket["latency"].append(float(latency))
        bucket["error"].append(str(record.get("status", "ok")) != "ok")
        prediction = record.get("prediction")
        if prediction is not None:
            bucket["prediction"].append(prediction)
        if isinstance(record.get("correct"), bool):
            bucket["correct"].append(record["correct"])
        elif "label" in record and record["label"] is not None and prediction is not None:
            bucket["correct"].append(prediction == record["label"])
    return {
        version: VersionSample(
            version=version,
            latencies_seconds=np.asarray(values["latency"], dtype=np.float64),
            errors=int(sum(values["error"])),
            total=len(values["error"]),
            predictions=tuple(values["prediction"]),
            correct=int(sum(values["correct"])),
            labelled=len(values["correct"]),
            **_arrivals(values["time"], values["weight"]),
        )
        for version, values in grouped.items()
    }


def _seconds(value: Any) -> float | None:
    """Unix seconds of a record time: RFC 3339 text or a number of seconds; None otherwise."""
    if isinstance(value, str):
        try:
            return parse_rfc3339_ns(value) / 1e9
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _arrivals(times: list[float], weights: list[float]) -> dict[str, np.ndarray | None]:
    if not times:
        return {"arrival_times_seconds": None, "arrival_weights": None}
    order = np.argsort(np.asarray(times), kind="stable")
    return {
        "arrival_times_seconds": np.asarray(times, dtype=np.float64)[order],
        "arrival_weights": np.asarray(weights, dtype=np.float64)[order],
    }


def pick_versions(
    by_version: Mapping[str, VersionSample], champion: str, challenger: str, what: str
) -> tuple[VersionSample, VersionSample]:
    """The champion's and challenger's samples; a MonitorError lists the versions found.

    ``what`` names what was searched, e.g. ``"records with version="``.
    """
    for version in (champion, challenger):
        if version not in by_version:
            known = ", ".join(sorted(by_version)[:10]) or "none"
            raise MonitorError(f"no {what}{version!r} (versions found: {known})")
    return by_version[champion], by_version[challenger]


def compare_models(
    champion: VersionSample,
    challenger: VersionSample,
    thresholds: ComparisonThresholds | None = None,
) -> Comparison:
    """Compare the challenger with the champion and decide promote / keep / rollback."""
    limits = (thresholds or ComparisonThresholds()).validate()
    rng = np.random.default_rng(limits.seed)
    metrics: list[MetricComparison] = []
    reasons: list[str] = []
    metrics.extend(_latency_metrics(champion, challenger, limits, rng))
    metrics.append(
        _proportion_metric(
            "error_ratio",
            (champion.errors, champion.total),
            (challenger.errors, challenger.total),
            limits.max_error_ratio_increase,
            higher_is_worse=True,
            confidence=limits.confidence,
        )
    )
    has_labels = min(champion.labelled, challenger.labelled) >= limits.min_labels
    if has_labels:
        metrics.append(
            _proportion_metric(
                "accuracy",
                (champion.correct, champion.labelled),
                (challenger.correct, challenger.labelled),
                limits.max_accuracy_drop,
                higher_is_worse=False,
                confidence=limits.confidence,
            )
        )
    js = _prediction_distance(champion.predictions, challenger.predictions)

    too_few = min(champion.total, challenger.total) < limits.min_predictions
    deciding = [metric for metric in metrics if metric.decides]
    worse = [metric for metric in deciding if metric.verdict is MetricVerdict.WORSE]
    if too_few:
        verdict = Verdict.KEEP
        reasons.append(
            f"too few predictions ({champion.total} champion, {challenger.total} challenger; "
            f"need {limits.min_predictions} each)"
        )
    elif worse:
        verdict = Verdict.ROLLBACK
        reasons.extend(
            f"{metric.name} is worse than its tolerance {metric.tolerance:g}" for metric in worse
        )
    elif all(metric.verdict is MetricVerdict.NON_INFERIOR for metric in deciding):
        if not has_labels and js > limits.max_prediction_js_distance:
            verdict = Verdict.KEEP
            reasons.append(
                f"predictions moved (JS distance {js:.3f} > {limits.max_prediction_js_distance:g}) "
                "and no labels show whether for the better"
            )
        else:
            verdict = Verdict.PROMOTE
            reasons.append("every metric is within tolerance with confidence")
    else:
        verdict = Verdict.KEEP
        reasons.extend(
            f"{metric.name} is inconclusive"
            for metric in deciding
            if metric.verdict is MetricVerdict.INCONCLUSIVE
        )
    if not has_labels:
        reasons.append("no accuracy comparison: fewer than min_labels labelled predictions")
    return Comparison(
        champion.version,
        challenger.version,
        champion.total,
        challenger.total,
        tuple(metrics),
        js,
        verdict,
        tuple(reasons),
    )


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a proportion (well-behaved near 0 and 1, unlike Wald)."""
    if trials <= 0:
        return Interval(math.nan, 0.0, 1.0)
    z = float(scipy_stats.norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(first: Interval, second: Interval) -> Interval:
    """Newcombe's hybrid score interval for ``second - first`` from the two Wilson intervals."""
    p1, p2 = first.estimate, second.estimate
    difference = p2 - p1
    low = difference - math.sqrt((p2 - second.low) ** 2 + (first.high - p1) ** 2)
    high = difference + math.sqrt((second.high - p2) ** 2 + (p1 - first.low) ** 2)
    return Interval(difference, low, high)


def _latency_metrics(
    champion: VersionSample,
    challenger: VersionSample,
    limits: ComparisonThresholds,
    rng: np.random.Generator,
) -> list[MetricComparison]:
    quantiles = np.array([0.5, 0.95, 0.99])
    estimated_a = _latency_quantiles(champion, quantiles, limits, rng)
    estimated_b = _latency_quantiles(challenger, quantiles, limits, rng)
    if estimated_a is None or estimated_b is None:
        return []
    (point_a, boot_a), (point_b, boot_b) = estimated_a, estimated_b
    alpha = 1 - limits.confidence
    results = []
    for index, q in enumerate(quantiles):
        estimate_a, estimate_b = float(point_a[index]), float(point_b[index])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = boot_b[:, index] / boot_a[:, index]
        ratio = Interval(
            estimate_b / estimate_a if estimate_a > 0 else math.inf,
            float(np.nanquantile(ratios, alpha / 2)),
            float(np.nanquantile(ratios, 1 - alpha / 2)),
        )
        tolerance = 1 + limits.max_latency_increase_ratio
        verdict = _verdict(ratio.low > tolerance, ratio.high <= tolerance)
        results.append(
            MetricComparison(
                f"latency_p{round(q * 100)}_seconds",
                _percentile_interval(boot_a[:, index], estimate_a, alpha),
                _percentile_interval(boot_b[:, index], estimate_b, alpha),
                ratio,
                "ratio",
                tolerance,
                None,
                verdict,
                # Only the p95 decides; p50 and p99 are context (p99 is too noisy to gate on).
                decides=bool(q == 0.95),
            )
        )
    return results


def _latency_quantiles(
    sample: VersionSample,
    quantiles: np.ndarray,
    limits: ComparisonThresholds,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Point estimates and bootstrap replicates (resamples x quantiles), or None without data."""
    if sample.latencies_seconds.size:
        points = np.quantile(sample.latencies_seconds, quantiles)
        return points, _bootstrap_quantiles(sample.latencies_seconds, quantiles, limits, rng)
    if not sample.latency_buckets or sample.latency_buckets[-1][1] <= 0:
        return None
    bounds = np.array([upper for upper, _ in sample.latency_buckets], dtype=np.float64)
    cumulative = np.array([count for _, count in sample.latency_buckets], dtype=np.float64)
    total = int(np.rint(cumulative[-1]))
    per_bucket = np.diff(cumulative, prepend=0.0)
    # Multinomial resampling of the bucket counts is the bootstrap of a histogram.
    replicates = np.cumsum(
        rng.multinomial(total, per_bucket / per_bucket.sum(), size=limits.bootstrap_resamples),
        axis=1,
    )
    points = np.array([stats.histogram_quantiles(cumulative, bounds, q)[0] for q in quantiles])
    boot = np.column_stack([stats.histogram_quantiles(replicates, bounds, q) for q in quantiles])
    return points, boot


def _bootstrap_quantiles(
    values: np.ndarray,
    quantiles: np.ndarray,
    limits: ComparisonThresholds,
    rng: np.random.Generator,
) -> np.ndarray:
    if values.size > limits.bootstrap_max_rows:
        values = rng.choice(values, limits.bootstrap_max_rows, replace=False)
    out = np.empty((limits.bootstrap_resamples, quantiles.size))
    chunk = max(1, 2_000_000 // values.size)
    for start in range(0, limits.bootstrap_resamples, chunk):
        stop = min(start + chunk, limits.bootstrap_resamples)
        resampled = values[rng.integers(0, values.size, size=(stop - start, values.size))]
        out[start:stop] = np.quantile(resampled, quantiles, axis=1).T
    return out


def _percentile_interval(boot: np.ndarray, estimate: float, alpha: float) -> Interval:
    return Interval(
        estimate, float(np.quantile(boot, alpha / 2)), float(np.quantile(boot, 1 - alpha / 2))
    )


def _proportion_metric(
    name: str,
    champion: tuple[int, int],
    challenger: tuple[int, int],
    tolerance: float,
    higher_is_worse: bool,
    confidence: float,
) -> MetricComparison:
    first = wilson_interval(*champion, confidence=confidence)
    second = wilson_interval(*challenger, confidence=confidence)
    difference = newcombe_difference(first, second)
    if higher_is_worse:
        verdict = _verdict(difference.low > tolerance, difference.high <= tolerance)
    else:
        verdict = _verdict(difference.high < -tolerance, difference.low >= -tolerance)
    return MetricComparison(
        name,
        first,
        second,
        difference,
        "difference",
        tolerance,
        _two_proportion_p_value(champion, challenger),
        verdict,
    )


def _two_proportion_p_value(first: tuple[int, int], second: tuple[int, int]) -> float | None:
    (x1, n1), (x2, n2) = first, second
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return 1.0
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    return float(2 * scipy_stats.norm.sf(abs(z)))


def _verdict(worse: bool, non_inferior: bool) -> MetricVerdict:
    if worse:
        return MetricVerdict.WORSE
    if non_inferior:
        return MetricVerdict.NON_INFERIOR
    return MetricVerdict.INCONCLUSIVE


def _prediction_distance(first: tuple[Any, ...], second: tuple[Any, ...]) -> float:
    if not first or not second:
        return math.nan
    numeric = all(_is_number(value) for value in first + second)
    if numeric and len({*first, *second}) > 20:
        a = np.sort(np.asarray(first, dtype=np.float64))
        b = np.sort(np.asarray(second, dtype=np.float64))
        edges = stats.quantile_edges(a, 10)
        return stats.jensen_shannon_distance(stats.bin_counts(a, edges), stats.bin_counts(b, edges))
    count_a: dict[str, int] = {}
    count_b: dict[str, int] = {}
    for values, counts in ((first, count_a), (second, count_b)):
        for value in values:
            key = str(value)
            counts[key] = counts.get(key, 0) + 1
    _, ref, cur = stats.aligned_counts(count_a, count_b)
    return stats.jensen_shannon_distance(ref, cur)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(value)
