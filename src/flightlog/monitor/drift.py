"""Data drift between a reference sample and a current sample, feature by feature.

Which tests run, and which of them decide, is a documented rule rather than a guess:

========================  ==============================  ==================================
feature, sample size      deciding tests (alert)          reported as supporting evidence
========================  ==============================  ==================================
numeric, small            KS two-sample p < 0.05          PSI (0.1 warns), Wasserstein
numeric, large            PSI >= 0.2 (0.1 warns)          KS, Wasserstein
categorical, small        chi-square p < 0.05             PSI (0.1 warns), Jensen-Shannon
categorical, large        PSI >= 0.2 (0.1 warns)          chi-square, Jensen-Shannon
every feature             missing-rate increase > 0.05    -
numeric                   out-of-range rate > 0.05        -
categorical               new-category rate > 0.01        -
========================  ==============================  ==================================

"Large" means the smaller of the two samples has more than ``small_sample_max_rows``
rows (default 1,000). Above that a hypothesis test flags differences far too small to
matter — with 1,000,000 rows a KS p-value is below 0.05 for a 0.005-sigma mean shift —
so the effect size (PSI) decides and the p-values are kept as context. Below it PSI with
ten bins is itself noisy (its expected value under no drift is about
``(bins - 1) * (1/n_ref + 1/n_cur)``), so the test with a calibrated false-alarm rate
decides. Supporting tests carry ``threshold`` = the conventional level but never change
the severity; their ``threshold`` is what a reader would compare them with.

With more than ``ks_max_rows`` (200,000) rows on a side, KS and Wasserstein — supporting
evidence at that size — are computed on 200,000 evenly spaced order statistics of each
sorted side: the KS statistic is then within 1e-5 of the exact value, its p-value uses
the full sizes, and the cost per feature drops several-fold. ``ks_max_rows=None`` is exact.

Wasserstein distance is reported in units of the reference standard deviation, so one
number means the same thing for every feature. Out-of-range means outside the
reference's [min, max]; new-category means a category the reference never had.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from flightlog.errors import MonitorError
from flightlog.monitor import stats
from flightlog.monitor.samples import CategoricalSample, FeatureSample, NumericSample

__all__ = [
    "DriftConfig",
    "DriftReport",
    "DriftTest",
    "DriftTestResult",
    "FeatureDrift",
    "FeatureKind",
    "Severity",
    "check_drift",
    "compare_feature",
    "detect_drift",
]


class FeatureKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


class Severity(StrEnum):
    NONE = "none"
    WARNING = "warning"
    ALERT = "alert"


class DriftTest(StrEnum):
    PSI = "psi"
    KS = "ks"
    WASSERSTEIN = "wasserstein"
    CHI_SQUARE = "chi_square"
    JENSEN_SHANNON = "jensen_shannon"
    MISSING_RATE = "missing_rate"
    OUT_OF_RANGE = "out_of_range"
    NEW_CATEGORY = "new_category"


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """Thresholds and sizes of the drift rule in the module docstring."""

    psi_warning: float = 0.1
    psi_alert: float = 0.2
    p_value_alpha: float = 0.05
    psi_bins: int = 10
    small_sample_max_rows: int = 1_000
    wasserstein_reference_stds: float = 0.1
    jensen_shannon_threshold: float = 0.1
    missing_rate_increase: float = 0.05
    out_of_range_rate: float = 0.05
    new_category_rate: float = 0.01
    workers: int = 4
    ks_max_rows: int | None = 200_000
    """Above this many rows per side, KS and Wasserstein (supporting tests there) run on
    this many evenly spaced order statistics: within 2 / ks_max_rows of exact for KS.
    None computes them on every row."""

    def validate(self) -> DriftConfig:
        """Return self, or raise MonitorError naming the first bad option."""
        if not 0 < self.psi_warning <= self.psi_alert:
            raise MonitorError(
                f"psi_warning={self.psi_warning} and psi_alert={self.psi_alert}: "
                "need 0 < psi_warning <= psi_alert"
            )
        if not 0 < self.p_value_alpha < 1:
            raise MonitorError(f"p_value_alpha={self.p_value_alpha}: must be in (0, 1)")
        if self.psi_bins < 2:
            raise MonitorError(f"psi_bins={self.psi_bins}: must be at least 2")
        for name in ("missing_rate_increase", "out_of_range_rate", "new_category_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise MonitorError(f"{name}={value}: must be a rate in [0, 1]")
        if self.ks_max_rows is not None and self.ks_max_rows < stats.KS_EXACT_MAX_ROWS:
            raise MonitorError(
                f"ks_max_rows={self.ks_max_rows}: must be at least {stats.KS_EXACT_MAX_ROWS} "
                "or None (exact)"
            )
        if self.workers < 1:
            raise MonitorError(f"workers={self.workers}: must be at least 1")
        return self


@dataclass(frozen=True, slots=True)
class DriftTestResult:
    """One statistic for one feature; ``threshold`` is None for purely descriptive numbers."""

    test: DriftTest
    statistic: float
    p_value: float | None
    threshold: float | None
    decides: bool
    severity: Severity

    def to_dict(self) -> dict[str, object]:
        return {
            "test": str(self.test),
            "statistic": _finite_or_none(self.statistic),
            "p_value": _finite_or_none(self.p_value),
            "threshold": self.threshold,
        }


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    name: str
    kind: FeatureKind
    tests: tuple[DriftTestResult, ...]
    severity: Severity
    reference_rows: int
    current_rows: int

    @property
    def drift(self) -> bool:
        return self.severity is Severity.ALERT

    @property
    def score(self) -> float:
        """The PSI: one comparable drift number per feature (``ml_data_drift_score``)."""
        for result in self.tests:
            if result.test is DriftTest.PSI:
                return result.statistic
        return float("nan")

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": str(self.kind),
            "tests": [result.to_dict() for result in self.tests],
            "drift": self.drift,
            "severity": str(self.severity),
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    features: tuple[FeatureDrift, ...] = field(default_factory=tuple)

    @property
    def drifted(self) -> list[str]:
        return [feature.name for feature in self.features if feature.drift]

    def to_dict(self) -> dict[str, object]:
        return {
            "features": [feature.to_dict() for feature in self.features],
            "drifted": self.drifted,
        }


def detect_drift(
    reference: Mapping[str, FeatureSample],
    current: Mapping[str, FeatureSample],
    config: DriftConfig | None = None,
    features: Sequence[str] | None = None,
) -> DriftReport:
    """Compare every feature present in both samples (or the ``features`` named).

    Features run on a small thread pool: numpy's sorts release the GIL, so on a
    multi-core machine the per-feature work overlaps.
    """
    config = (config or DriftConfig()).validate()
    if features is None:
        names = [name for name in reference if name in current]
        if not names:
            raise MonitorError(
                f"reference columns {sorted(reference)[:10]} and current columns "
                f"{sorted(current)[:10]} have no feature in common: check the column names"
            )
    else:
        names = list(features)
        for name in names:
            for side, sample in (("reference", reference), ("current", current)):
                if name not in sample:
                    raise MonitorError(f"feature {name!r} is not a column of the {side} data")
    pairs = [(name, reference[name], current[name]) for name in names]
    if config.workers == 1 or len(pairs) == 1:
        results = [compare_feature(*pair, config=config) for pair in pairs]
    else:
        with ThreadPoolExecutor(max_workers=config.workers) as pool:
            results = list(pool.map(lambda pair: compare_feature(*pair, config=config), pairs))
    return DriftReport(tuple(results))


def compare_feature(
    name: str,
    reference: FeatureSample,
    current: FeatureSample,
    config: DriftConfig | None = None,
) -> FeatureDrift:
    """Run the tests the rule picks for one feature and grade it."""
    config = config or DriftConfig()
    if isinstance(reference, NumericSample) and isinstance(current, NumericSample):
        kind = FeatureKind.NUMERIC
        tests = _numeric_tests(reference, current, config)
    elif isinstance(reference, CategoricalSample) and isinstance(current, CategoricalSample):
        kind = FeatureKind.CATEGORICAL
        tests = _categorical_tests(reference, current, config)
    else:
        raise MonitorError(
            f"feature {name!r} is {type(reference).__name__} in the reference but "
            f"{type(current).__name__} in the current data: declare it categorical on both sides"
        )
    tests.append(_missing_rate_test(reference, current, config))
    severity = max((result.severity for result in tests), key=_SEVERITY_ORDER.__getitem__)
    return FeatureDrift(name, kind, tuple(tests), severity, reference.rows, current.rows)


_SEVERITY_ORDER = {Severity.NONE: 0, Severity.WARNING: 1, Severity.ALERT: 2}


def _numeric_tests(
    reference: NumericSample, current: NumericSample, config: DriftConfig
) -> list[DriftTestResult]:
    ref, cur = reference.sorted_values, current.sorted_values
    large = min(ref.shape[0], cur.shape[0]) > config.small_sample_max_rows
    edges = stats.quantile_edges(ref, config.psi_bins)
    psi_value = (
        stats.psi(stats.bin_counts(ref, edges), stats.bin_counts(cur, edges))
        if ref.size and cur.size
        else float("nan")
    )
    ks = stats.ks_and_wasserstein(ref, cur, config.ks_max_rows)
    # The scale for Wasserstein; from the same order statistics when the sides are thinned.
    reference_std = stats.standard_deviation(
        ref if config.ks_max_rows is None else stats.thin_sorted(ref, config.ks_max_rows)
    )
    wasserstein = ks.wasserstein / reference_std if reference_std > 0 else ks.wasserstein
    tests = [
        _psi_result(psi_value, decides=large, config=config),
        _p_value_result(DriftTest.KS, ks.statistic, ks.p_value, decides=not large, config=config),
        _statistic_result(
            DriftTest.WASSERSTEIN, wasserstein, config.wasserstein_reference_stds, decides=False
        ),
    ]
    if ref.size and cur.size:
        outside = np.searchsorted(cur, ref[0], side="left") + (
            cur.shape[0] - np.searchsorted(cur, ref[-1], side="right")
        )
        out_of_range = float(outside) / cur.shape[0]
    else:
        out_of_range = float("nan")
    tests.append(
        _statistic_result(DriftTest.OUT_OF_RANGE, out_of_range, config.out_of_range_rate, True)
    )
    return tests


def _categorical_tests(
    reference: CategoricalSample, current: CategoricalSample, config: DriftConfig
) -> list[DriftTestResult]:
    _, ref_counts, cur_counts = stats.aligned_counts(reference.counts, current.counts)
    ref_total, cur_total = ref_counts.sum(), cur_counts.sum()
    large = min(ref_total, cur_total) > config.small_sample_max_rows
    if ref_total and cur_total:
        psi_value = stats.psi(ref_counts, cur_counts)
        chi2, chi2_p = stats.chi_square(ref_counts, cur_counts)
        js = stats.jensen_shannon_distance(ref_counts, cur_counts)
        new_rate = float(cur_counts[ref_counts == 0].sum() / cur_total)
    else:
        psi_value = chi2 = chi2_p = js = new_rate = float("nan")
    return [
        _psi_result(psi_value, decides=large, config=config),
        _p_value_result(DriftTest.CHI_SQUARE, chi2, chi2_p, decides=not large, config=config),
        _statistic_result(
            DriftTest.JENSEN_SHANNON, js, config.jensen_shannon_threshold, decides=False
        ),
        _statistic_result(DriftTest.NEW_CATEGORY, new_rate, config.new_category_rate, True),
    ]


def _missing_rate_test(
    reference: FeatureSample, current: FeatureSample, config: DriftConfig
) -> DriftTestResult:
    increase = current.missing_rate - reference.missing_rate
    return _statistic_result(DriftTest.MISSING_RATE, increase, config.missing_rate_increase, True)


def _psi_result(value: float, decides: bool, config: DriftConfig) -> DriftTestResult:
    if math.isnan(value):
        severity = Severity.NONE
    elif decides and value >= config.psi_alert:
        severity = Severity.ALERT
    elif value >= config.psi_warning:
        severity = Severity.WARNING
    else:
        severity = Severity.NONE
    return DriftTestResult(DriftTest.PSI, value, None, config.psi_alert, decides, severity)


def _p_value_result(
    test: DriftTest, statistic: float, p_value: float, decides: bool, config: DriftConfig
) -> DriftTestResult:
    significant = not math.isnan(p_value) and p_value < config.p_value_alpha
    severity = Severity.ALERT if decides and significant else Severity.NONE
    return DriftTestResult(test, statistic, p_value, config.p_value_alpha, decides, severity)


def _statistic_result(
    test: DriftTest, statistic: float, threshold: float, decides: bool
) -> DriftTestResult:
    crossed = not math.isnan(statistic) and statistic > threshold
    severity = Severity.ALERT if decides and crossed else Severity.NONE
    return DriftTestResult(test, statistic, None, threshold, decides, severity)


def _finite_or_none(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(value)


def check_drift(
    reference: Any,
    current: Any,
    categorical: Sequence[str] = (),
    config: DriftConfig | None = None,
    features: Sequence[str] | None = None,
) -> DriftReport:
    """Drift between two data sets given in any supported form.

    Each side is a Parquet/CSV path, a DataFrame-like object (pandas, polars, pyarrow
    Table, mapping of column name to values), or a list of prediction-log records.
    """
    from flightlog.monitor import samples, sources

    reference_samples = samples.profile(_columns(reference, sources), categorical)
    current_samples = samples.samples_like(reference_samples, _columns(current, sources))
    return detect_drift(reference_samples, current_samples, config, features)


def _columns(data: Any, sources: Any) -> Mapping[str, Any]:
    if isinstance(data, str | os.PathLike):
        return sources.read_table(data)
    if isinstance(data, list) and (not data or isinstance(data[0], Mapping)):
        return sources.columns_from_records(data)
    return sources.columns_from_frame(data)
