"""ModelMonitor against a real model server, read back from /metrics with prometheus' parser."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap

import httpx
import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flightlog.errors import MonitorError
from flightlog.monitor.metrics import LATENCY_BUCKETS_SECONDS, ModelMonitor
from flightlog.monitor.prediction_log import PredictionLogger

from .model_server import FEATURES, build_app, serve


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition as {(name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples[(name, tuple(sorted(labels.items())))]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.slow
def test_model_server_workload_is_counted_exactly() -> None:
    """Predictions, errors, latency counts, accuracy and correlation IDs match the workload."""
    registry = CollectorRegistry()
    handler = _ListHandler()
    logger = logging.getLogger("tests.monitor.predictions")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    rng = np.random.default_rng(11)
    ok_requests, bad_requests = 40, 7
    with (
        serve(build_app(registry, PredictionLogger(1.0, logger))) as url,
        httpx.Client(base_url=url) as client,
    ):
        predictions = []
        for index in range(ok_requests):
            features = dict(
                zip(FEATURES, rng.uniform(0.5, 7.0, size=4).round(2).tolist(), strict=True)
            )
            response = client.post(
                "/predict",
                json={"features": features},
                headers={"X-Correlation-ID": f"req-{index}"},
            )
            assert response.status_code == 200
            assert response.headers["X-Correlation-ID"] == f"req-{index}"
            predictions.append(response.json()["prediction"])
        for _ in range(bad_requests):
            response = client.post("/predict", json={"features": {"sepal_length": 1.0}})
            assert response.status_code == 500
            assert len(response.headers["X-Correlation-ID"]) == 32  # created when absent
        correct = 0
        for index, prediction in enumerate(predictions):
            label = prediction if index % 4 else (prediction + 1) % 3
            correct += label == prediction
            client.post(
                "/label", json={"prediction": prediction, "label": label}
            ).raise_for_status()
        samples = _samples(client.get("/metrics").text)

    for model in ("iris", "iris-http"):
        assert (
            _value(samples, "ml_model_predictions_total", model=model, version="1", status="ok")
            == ok_requests
        )
        assert (
            _value(samples, "ml_model_predictions_total", model=model, version="1", status="error")
            == bad_requests
        )
        assert (
            _value(samples, "ml_model_inference_duration_seconds_count", model=model, version="1")
            == ok_requests + bad_requests
        )
        inf_bucket = _value(
            samples,
            "ml_model_inference_duration_seconds_bucket",
            model=model,
            version="1",
            le="+Inf",
        )
        assert inf_bucket == ok_requests + bad_requests
    assert _value(samples, "ml_model_accuracy", model="iris", version="1") == pytest.approx(
        correct / ok_requests
    )
    assert (
        _value(
            samples,
            "ml_model_labelled_predictions_total",
            model="iris",
            version="1",
            outcome="correct",
        )
        == correct
    )
    assert (
        _value(samples, "ml_model_last_data_timestamp_seconds", model="iris", version="1") > 1.7e9
    )
    logged = [
        record for record in handler.records if getattr(record, "event", None) == "prediction"
    ]
    assert len(logged) == ok_requests + bad_requests
    first = logged[0]
    assert first.correlation_id == "req-0"
    assert set(first.features) == set(FEATURES)
    assert first.model == "iris" and first.model_version == "1" and first.status == "ok"
    assert 0 < first.confidence <= 1 and first.latency_seconds > 0


def test_latency_buckets_fit_serving() -> None:
    """Buckets are sorted and span 1 ms to a minute."""
    assert list(LATENCY_BUCKETS_SECONDS) == sorted(LATENCY_BUCKETS_SECONDS)
    assert LATENCY_BUCKETS_SECONDS[0] == 0.001 and LATENCY_BUCKETS_SECONDS[-1] == 60.0


def test_context_manager_counts_exception_as_error_and_reraises() -> None:
    """An exception inside predict() is counted with status=error and propagates."""
    registry = CollectorRegistry()
    monitor = ModelMonitor("m", "2", registry=registry)
    with pytest.raises(ValueError), monitor.predict():
        raise ValueError("bad input")
    assert (
        registry.get_sample_value(
            "ml_model_predictions_total", {"model": "m", "version": "2", "status": "error"}
        )
        == 1
    )


def test_decorator_times_sync_and_async_functions() -> None:
    """@track records one prediction per call for plain and coroutine functions."""
    registry = CollectorRegistry()
    ticks = iter([1.0, 1.25, 2.0, 2.5])
    monitor = ModelMonitor("m", "1", registry=registry, clock=lambda: next(ticks))

    @monitor.track
    def predict(x: int) -> int:
        return x * 2

    @monitor.track
    async def predict_async(x: int) -> int:
        return x + 1

    assert predict(2) == 4
    assert asyncio.run(predict_async(2)) == 3
    labels = {"model": "m", "version": "1"}
    assert registry.get_sample_value("ml_model_inference_duration_seconds_count", labels) == 2
    assert registry.get_sample_value(
        "ml_model_inference_duration_seconds_sum", labels
    ) == pytest.approx(0.75)


def test_accuracy_is_a_rolling_window() -> None:
    """Only the last accuracy_window outcomes count."""
    registry = CollectorRegistry()
    monitor = ModelMonitor("m", "1", registry=registry, accuracy_window=4)
    for outcome in (False, False, True, True, True, True):
        monitor.record_outcome(outcome)
    assert registry.get_sample_value("ml_model_accuracy", {"model": "m", "version": "1"}) == 1.0
    assert (
        registry.get_sample_value(
            "ml_model_labelled_predictions_total",
            {"model": "m", "version": "1", "outcome": "incorrect"},
        )
        == 2
    )


def test_drift_and_quality_gauges() -> None:
    """set_drift publishes one gauge per feature, set_quality one per metric."""
    registry = CollectorRegistry()
    monitor = ModelMonitor("m", "1", registry=registry)
    monitor.set_drift({"age": 0.25, "country": 0.01})
    monitor.set_quality("f1", 0.8)
    assert (
        registry.get_sample_value("ml_data_drift_score", {"model": "m", "feature": "age"}) == 0.25
    )
    assert (
        registry.get_sample_value(
            "ml_model_quality", {"model": "m", "version": "1", "metric": "f1"}
        )
        == 0.8
    )


def test_two_monitors_share_one_registry() -> None:
    """Models on one registry share the metric families instead of clashing."""
    registry = CollectorRegistry()
    ModelMonitor("a", "1", registry=registry).observe(0.01)
    ModelMonitor("b", "1", registry=registry).observe(0.02)
    text = generate_latest(registry).decode()
    assert text.count("# TYPE ml_model_predictions_total counter") == 1
    with pytest.raises(MonitorError, match="buckets"):
        ModelMonitor("c", "1", registry=registry, latency_buckets=(0.1, 1.0))


@pytest.mark.parametrize(("name", "version"), [("", "1"), ("m", "")])
def test_empty_names_are_rejected(name: str, version: str) -> None:
    """A monitor needs a model name and version."""
    with pytest.raises(MonitorError):
        ModelMonitor(name, version, registry=CollectorRegistry())


def test_prediction_logger_samples_and_summarises() -> None:
    """The sampler follows its random source; vectors are summarised, not logged whole."""
    handler = _ListHandler()
    logger = logging.getLogger("tests.monitor.sampling")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    draws = iter([0.05, 0.5, 0.09])
    monitor = ModelMonitor(
        "m",
        "1",
        registry=CollectorRegistry(),
        prediction_logger=PredictionLogger(0.1, logger, random_source=lambda: next(draws)),
    )
    for _ in range(3):
        with monitor.predict({"embedding": np.arange(64.0), "age": np.int64(3)}) as timer:
            timer.result(np.float32(0.5), 0.7)
    assert len(handler.records) == 2
    record = handler.records[0]
    assert record.features == {
        "embedding": {"mean": 31.5, "min": 0.0, "max": 63.0, "len": 64},
        "age": 3,
    }
    assert record.prediction == 0.5


MULTIPROCESS_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, sys

    def work(version_offset):
        from prometheus_client import REGISTRY
        from flightlog.monitor.metrics import ModelMonitor
        monitor = ModelMonitor("mp", "1", registry=REGISTRY)
        for _ in range(25):
            monitor.observe(0.003)
        monitor.record_outcome(True)

    if __name__ == "__main__":
        ctx = multiprocessing.get_context("spawn")
        workers = [ctx.Process(target=work, args=(i,)) for i in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
            assert worker.exitcode == 0, worker.exitcode
        from prometheus_client import generate_latest
        from flightlog.monitor.metrics import multiprocess_registry
        sys.stdout.write(generate_latest(multiprocess_registry()).decode())
    """
)


def test_multiprocess_mode_sums_workers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Three worker processes writing to PROMETHEUS_MULTIPROC_DIR are collected as one."""
    script = tmp_path / "mp.py"
    script.write_text(MULTIPROCESS_SCRIPT)
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    result = subprocess.run(
        [sys.executable, str(script)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    samples = _samples(result.stdout)
    assert _value(samples, "ml_model_predictions_total", model="mp", version="1", status="ok") == 75
    assert (
        _value(samples, "ml_model_inference_duration_seconds_count", model="mp", version="1") == 75
    )
    assert (
        _value(
            samples,
            "ml_model_labelled_predictions_total",
            model="mp",
            version="1",
            outcome="correct",
        )
        == 3
    )
    assert _value(samples, "ml_model_accuracy", model="mp", version="1") == 1.0


def test_set_drift_accepts_a_drift_report() -> None:
    """A DriftReport publishes each feature's PSI."""
    from flightlog.monitor.drift import detect_drift
    from flightlog.monitor.samples import profile

    rng = np.random.default_rng(1)
    report = detect_drift(
        profile({"x": rng.normal(0, 1, 5_000)}), profile({"x": rng.normal(1, 1, 5_000)})
    )
    registry = CollectorRegistry()
    ModelMonitor("m", "1", registry=registry).set_drift(report)
    assert registry.get_sample_value(
        "ml_data_drift_score", {"model": "m", "feature": "x"}
    ) == pytest.approx(report.features[0].score)


def test_public_names_resolve() -> None:
    """Every name in flightlog.monitor.__all__ imports."""
    import flightlog.monitor as monitor

    for name in monitor.__all__:
        assert getattr(monitor, name) is not None
    with pytest.raises(AttributeError):
        _ = monitor.not_a_name


def _sampling_monitor(name: str) -> tuple[ModelMonitor, _ListHandler]:
    """A monitor logging every prediction to a list."""
    handler = _ListHandler()
    logger = logging.getLogger(f"tests.monitor.track.{name}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    monitor = ModelMonitor(
        "m", "1", registry=CollectorRegistry(), prediction_logger=PredictionLogger(1.0, logger)
    )
    return monitor, handler


def test_track_logs_the_first_argument_and_the_return_value() -> None:
    """@track logs a mapping argument as the features and the return value as the prediction."""
    monitor, handler = _sampling_monitor("plain")

    @monitor.track
    def predict(features: dict[str, object]) -> int:
        return int(features["age"] > 40)  # type: ignore[operator]

    assert predict({"age": 52, "country": "DE"}) == 1
    (record,) = handler.records
    assert record.features == {"age": 52, "country": "DE"}
    assert record.prediction == 1 and record.status == "ok"


def test_track_skips_self_and_summarises_an_array_input() -> None:
    """On a method the argument after self is read; a vector is summarised under 'input'."""
    monitor, handler = _sampling_monitor("method")

    class Model:
        @monitor.track
        def predict(self, row: np.ndarray) -> float:
            return float(row.sum())

    assert Model().predict(np.arange(4.0)) == 6.0
    (record,) = handler.records
    assert record.features == {"input": {"mean": 1.5, "min": 0.0, "max": 3.0, "len": 4}}
    assert record.prediction == 6.0


def test_track_options_shape_the_log_of_a_coroutine_function() -> None:
    """features=, prediction= and confidence= callables pick what an async call logs."""
    monitor, handler = _sampling_monitor("options")

    @monitor.track(
        features=lambda request, *, user: {"age": request["age"], "user": user},
        prediction=lambda result: result["label"],
        confidence=lambda result: result["p"],
    )
    async def predict(request: dict[str, int], *, user: str) -> dict[str, float]:
        return {"label": 1.0, "p": 0.75}

    assert asyncio.run(predict({"age": 30}, user="u1")) == {"label": 1.0, "p": 0.75}
    (record,) = handler.records
    assert record.features == {"age": 30, "user": "u1"}
    assert record.prediction == 1.0 and record.confidence == 0.75


def test_track_logs_inputs_of_a_failed_call_without_prediction() -> None:
    """A raising call is logged as an error with its inputs and no prediction."""
    monitor, handler = _sampling_monitor("error")

    @monitor.track
    def predict(features: dict[str, int]) -> int:
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        predict({"age": 1})
    (record,) = handler.records
    assert record.features == {"age": 1}
    assert record.prediction is None and record.status == "error"
