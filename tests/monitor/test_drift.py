"""The drift rule: known shifts alert, no shift stays quiet, each check reports on its own."""

from __future__ import annotations

import numpy as np
import pytest

from flightlog.errors import MonitorError
from flightlog.monitor.drift import DriftConfig, DriftTest, Severity, detect_drift
from flightlog.monitor.samples import categorical_sample, numeric_sample, profile, samples_like

RNG_SEED = 20261123


def _numeric(size: int, mean: float = 0.0, std: float = 1.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(RNG_SEED + seed).normal(mean, std, size)


def _tests(report, name):  # type: ignore[no-untyped-def]
    feature = next(feature for feature in report.features if feature.name == name)
    return feature, {result.test: result for result in feature.tests}


@pytest.mark.parametrize("rows", [300, 50_000])
def test_no_shift_no_alert(rows: int) -> None:
    """Two samples of the same distribution raise no alert, small or large."""
    reference = {"x": numeric_sample(_numeric(rows, seed=1))}
    current = {"x": numeric_sample(_numeric(rows, seed=2))}
    report = detect_drift(reference, current)
    assert report.drifted == []
    assert report.features[0].severity is Severity.NONE


@pytest.mark.parametrize(
    ("rows", "mean", "std"),
    [(300, 0.5, 1.0), (50_000, 0.5, 1.0), (300, 0.0, 2.0), (50_000, 0.0, 2.0)],
    ids=["small-mean", "large-mean", "small-variance", "large-variance"],
)
def test_mean_shift_and_variance_change_alert(rows: int, mean: float, std: float) -> None:
    """A half-sigma mean shift or a doubled standard deviation is reported as drift."""
    reference = {"x": numeric_sample(_numeric(rows, seed=1))}
    current = {"x": numeric_sample(_numeric(rows, mean, std, seed=2))}
    report = detect_drift(reference, current)
    assert report.drifted == ["x"]


def test_large_samples_let_psi_decide_not_ks() -> None:
    """With many rows a tiny shift makes KS significant, but only PSI decides (no alert)."""
    reference = {"x": numeric_sample(_numeric(200_000, seed=1))}
    current = {"x": numeric_sample(_numeric(200_000, 0.03, seed=2))}
    feature, tests = _tests(detect_drift(reference, current), "x")
    assert tests[DriftTest.KS].p_value < 0.05
    assert not tests[DriftTest.KS].decides and tests[DriftTest.PSI].decides
    assert not feature.drift


def test_small_samples_let_ks_decide() -> None:
    """Below the size rule KS decides and PSI only warns."""
    reference = {"x": numeric_sample(_numeric(200, seed=1))}
    current = {"x": numeric_sample(_numeric(200, 0.6, seed=2))}
    feature, tests = _tests(detect_drift(reference, current), "x")
    assert tests[DriftTest.KS].decides and tests[DriftTest.KS].severity is Severity.ALERT
    assert not tests[DriftTest.PSI].decides
    assert feature.drift


def test_psi_between_warning_and_alert_warns() -> None:
    """PSI in [0.1, 0.2) on a large sample is a warning, not drift."""
    reference = {"x": numeric_sample(_numeric(100_000, seed=1))}
    current = {"x": numeric_sample(_numeric(100_000, 0.35, seed=2))}
    feature, tests = _tests(detect_drift(reference, current), "x")
    assert 0.1 <= tests[DriftTest.PSI].statistic < 0.2
    assert feature.severity is Severity.WARNING and not feature.drift


def test_new_category_alerts() -> None:
    """A category the reference never had, at 5 % of rows, is drift."""
    rng = np.random.default_rng(RNG_SEED)
    reference = rng.choice(["DE", "FR", "US"], 5_000).tolist()
    current = rng.choice(["DE", "FR", "US"], 5_000).tolist()
    current[:250] = ["BR"] * 250
    report = detect_drift({"c": categorical_sample(reference)}, {"c": categorical_sample(current)})
    feature, tests = _tests(report, "c")
    assert tests[DriftTest.NEW_CATEGORY].statistic == pytest.approx(0.05)
    assert tests[DriftTest.NEW_CATEGORY].severity is Severity.ALERT
    assert feature.drift


def test_same_categories_no_alert() -> None:
    """Categorical samples from one distribution do not drift."""
    rng = np.random.default_rng(RNG_SEED)
    weights = [0.5, 0.3, 0.2]
    reference = rng.choice(["a", "b", "c"], 3_000, p=weights).tolist()
    current = rng.choice(["a", "b", "c"], 3_000, p=weights).tolist()
    report = detect_drift({"c": categorical_sample(reference)}, {"c": categorical_sample(current)})
    assert report.drifted == []


def test_missing_rate_increase_is_its_own_check() -> None:
    """Values that go missing alert through missing_rate even if the rest is unchanged."""
    values = _numeric(2_000, seed=3)
    holes = values.copy()
    holes[::5] = np.nan
    feature, tests = _tests(
        detect_drift({"x": numeric_sample(values)}, {"x": numeric_sample(holes)}), "x"
    )
    assert tests[DriftTest.MISSING_RATE].statistic == pytest.approx(0.2)
    assert tests[DriftTest.MISSING_RATE].severity is Severity.ALERT
    assert tests[DriftTest.KS].severity is Severity.NONE
    assert feature.drift


def test_out_of_range_rate_is_its_own_check() -> None:
    """Current values beyond the reference's min/max are counted as a rate."""
    reference = np.linspace(0, 1, 1_000)
    current = np.concatenate([np.linspace(0, 1, 900), np.full(100, 5.0)])
    _, tests = _tests(
        detect_drift({"x": numeric_sample(reference)}, {"x": numeric_sample(current)}), "x"
    )
    assert tests[DriftTest.OUT_OF_RANGE].statistic == pytest.approx(0.1)
    assert tests[DriftTest.OUT_OF_RANGE].severity is Severity.ALERT


def test_report_json_shape() -> None:
    """to_dict has exactly the documented keys."""
    report = detect_drift(
        profile({"x": _numeric(100, seed=1), "c": ["a", "b"] * 50}),
        profile({"x": _numeric(100, 3.0, seed=2), "c": ["a", "b"] * 50}),
    )
    document = report.to_dict()
    assert set(document) == {"features", "drifted"}
    assert document["drifted"] == ["x"]
    for feature in document["features"]:
        assert set(feature) == {"name", "kind", "tests", "drift", "severity"}
        assert feature["kind"] in ("numeric", "categorical")
        for test in feature["tests"]:
            assert set(test) == {"test", "statistic", "p_value", "threshold"}


def test_profile_infers_kinds_and_current_follows_reference() -> None:
    """Strings are categorical, numbers numeric; current values get the reference's kind."""
    reference = profile(
        {"n": [1, 2, 3], "s": ["a", "b", "a"], "forced": [1, 2, 1]}, categorical=["forced"]
    )
    assert type(reference["n"]).__name__ == "NumericSample"
    assert type(reference["s"]).__name__ == "CategoricalSample"
    current = samples_like(reference, {"forced": [1.0, 2.0], "n": [1, None]})
    assert current["forced"].counts == {"1": 1, "2": 1}
    assert current["n"].missing == 1


def test_numeric_reference_with_text_current_is_rejected() -> None:
    """A numeric feature holding text in the current data names the feature and the fix."""
    reference = profile({"age": [1.0, 2.0]})
    with pytest.raises(MonitorError, match=r"age.*categorical"):
        samples_like(reference, {"age": ["old", "young"]})


def test_no_common_feature_is_rejected() -> None:
    """Disjoint column sets are a clear error, not an empty report."""
    with pytest.raises(MonitorError, match="no feature in common"):
        detect_drift(profile({"a": [1.0]}), profile({"b": [1.0]}))


def test_config_validation_names_the_option() -> None:
    """A warning threshold above the alert threshold is rejected by name."""
    with pytest.raises(MonitorError, match="psi_warning"):
        DriftConfig(psi_warning=0.3, psi_alert=0.2).validate()


class _FrameLike:
    """The DataFrame protocol drift relies on: ``.columns`` and ``frame[name]`` with ``to_numpy``."""

    class _Column:
        def __init__(self, values: np.ndarray) -> None:
            self._values = values

        def to_numpy(self) -> np.ndarray:
            return self._values

    def __init__(self, **columns: np.ndarray) -> None:
        self._columns = columns
        self.columns = list(columns)

    def __getitem__(self, name: str) -> _Column:
        return self._Column(self._columns[name])


def test_check_drift_accepts_files_frames_and_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A Parquet reference against a DataFrame-like current and against prediction-log records."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flightlog.monitor.drift import check_drift

    rng = np.random.default_rng(RNG_SEED)
    pq.write_table(
        pa.table({"age": rng.normal(40, 5, 3_000), "plan": rng.choice(["a", "b"], 3_000)}),
        tmp_path / "ref.parquet",
    )
    frame = _FrameLike(
        age=rng.normal(48, 5, 3_000), plan=rng.choice(["a", "b"], 3_000).astype(object)
    )
    assert check_drift(tmp_path / "ref.parquet", frame).drifted == ["age"]
    records = [
        {"features": {"age": float(age), "plan": "a" if age > 40 else "b"}}
        for age in rng.normal(40, 5, 3_000)
    ]
    assert check_drift(str(tmp_path / "ref.parquet"), records).drifted == []
