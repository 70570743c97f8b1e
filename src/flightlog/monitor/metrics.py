"""``ModelMonitor``: Prometheus metrics for one model version, cheap enough for every prediction.

Metric families (shared by every monitor on the same registry)::

    ml_model_predictions_total{model,version,status}          counter, status ok|error
    ml_model_inference_duration_seconds{model,version}        histogram, ML-serving buckets
    ml_model_labelled_predictions_total{model,version,outcome} counter, outcome correct|incorrect
    ml_model_accuracy{model,version}                           gauge, rolling window of labels
    ml_model_quality{model,version,metric}                     gauge, any quality number (f1, rmse)
    ml_data_drift_score{model,feature}                         gauge, PSI per feature
    ml_model_last_data_timestamp_seconds{model,version}        gauge, unix time of the last prediction
    ml_model_last_label_timestamp_seconds{model,version}       gauge, unix time of the last label

Per-call cost is kept to a few microseconds by resolving ``.labels(...)`` children once in
the constructor; a prediction is then two clock reads, one histogram observe, one counter
increment and one gauge set.

Multiprocess servers (gunicorn/uvicorn workers): set ``PROMETHEUS_MULTIPROC_DIR`` before
``prometheus_client`` is imported and expose with ``multiprocess_registry()``. Gauges
declare how processes combine: accuracy, quality and drift keep the most recent value,
timestamps the maximum. The rolling accuracy is per process in that mode; the
``labelled_predictions_total`` counters give the exact fleet-wide accuracy in PromQL
(see ``flightlog.monitor.exports``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from flightlog.errors import MonitorError
from flightlog.metric_families import FamiliesPerRegistry
from flightlog.monitor.prediction_log import PredictionLogger

if TYPE_CHECKING:
    # Only for annotations: importing drift pulls in scipy, too heavy for every worker.
    from flightlog.monitor.drift import DriftReport

__all__ = [
    "INPUT_FEATURE",
    "LATENCY_BUCKETS_SECONDS",
    "ModelMonitor",
    "PredictionStatus",
    "PredictionTimer",
    "multiprocess_registry",
]

# Serving latencies run from sub-millisecond (tree models) to tens of seconds (LLM
# generation); dense buckets around 5-500 ms where most SLO thresholds sit.
LATENCY_BUCKETS_SECONDS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip


class PredictionStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


class LabelOutcome(StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"


@dataclass(frozen=True, slots=True)
class _Families:
    predictions: Counter
    latency: Histogram
    labelled: Counter
    accuracy: Gauge
    quality: Gauge
    drift: Gauge
    last_data: Gauge
    last_label: Gauge
    buckets: tuple[float, ...]


def _build_families(registry: CollectorRegistry, buckets: tuple[float, ...]) -> _Families:
    model_version = ("model", "version")
    return _Families(
        predictions=Counter(
            "ml_model_predictions",
            "Predictions served, by outcome status.",
            [*model_version, "status"],
            registry=registry,
        ),
        latency=Histogram(
            "ml_model_inference_duration_seconds",
            "Time spent in the model's predict call.",
            model_version,
            buckets=buckets,
            registry=registry,
        ),
        labelled=Counter(
            "ml_model_labelled_predictions",
            "Predictions whose ground truth arrived, by outcome.",
            [*model_version, "outcome"],
            registry=registry,
        ),
        accuracy=Gauge(
            "ml_model_accuracy",
            "Accuracy over the most recent labelled predictions.",
            model_version,
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        quality=Gauge(
            "ml_model_quality",
            "A model quality metric (f1, auc, rmse, ...) computed from labels.",
            [*model_version, "metric"],
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        drift=Gauge(
            "ml_data_drift_score",
            "Drift score (PSI) of a feature against the reference data.",
            ["model", "feature"],
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        last_data=Gauge(
            "ml_model_last_data_timestamp_seconds",
            "Unix time of the most recent prediction (data freshness).",
            model_version,
            registry=registry,
            multiprocess_mode="max",
        ),
        last_label=Gauge(
            "ml_model_last_label_timestamp_seconds",
            "Unix time of the most recent ground-truth label.",
            model_version,
            registry=registry,
            multiprocess_mode="max",
        ),
        buckets=buckets,
    )


_FAMILIES: FamiliesPerRegistry[_Families] = FamiliesPerRegistry()


def _families(registry: CollectorRegistry, buckets: tuple[float, ...]) -> _Families:
    # The first monitor on a registry fixes its histogram buckets; later ones must agree.
    families = _FAMILIES.get(registry, lambda new: _build_families(new, buckets))
    if families.buckets != buckets:
        raise MonitorError(
            f"latency buckets {buckets} differ from {families.buckets} already "
            "registered on this registry: use the same buckets for every model"
        )
    return families


def multiprocess_registry() -> CollectorRegistry:
    """A registry that collects every worker's metrics from ``PROMETHEUS_MULTIPROC_DIR``."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


P = ParamSpec("P")
R = TypeVar("R")


class ModelMonitor:
    """Metrics (and optional sampled prediction logs) for one ``model_name``/``model_version``."""

    def __init__(
        self,
        model_name: str,
        model_version: str,
        registry: CollectorRegistry | None = None,
        latency_buckets: tuple[float, ...] = LATENCY_BUCKETS_SECONDS,
        accuracy_window: int = 1_000,
        prediction_logger: PredictionLogger | None = None,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not model_name or not model_version:
            raise MonitorError("model_name and model_version must be non-empty strings")
        if accuracy_window < 1:
            raise MonitorError(f"accuracy_window={accuracy_window}: must be at least 1")
        self.model_name = model_name
        self.model_version = model_version
        self.prediction_logger = prediction_logger
        self.clock = clock
        self.wall_clock = wall_clock
        families = _families(registry or DEFAULT_REGISTRY, tuple(latency_buckets))
        self._families = families
        labels = (model_name, model_version)
        self._ok = families.predictions.labels(*labels, PredictionStatus.OK.value)
        self._error = families.predictions.labels(*labels, PredictionStatus.ERROR.value)
        self._latency = families.latency.labels(*labels)
        self._last_data = families.last_data.labels(*labels)
        self._last_label = families.last_label.labels(*labels)
        self._correct = families.labelled.labels(*labels, LabelOutcome.CORRECT.value)
        self._incorrect = families.labelled.labels(*labels, LabelOutcome.INCORRECT.value)
        self._accuracy = families.accuracy.labels(*labels)
        self._outcomes: deque[bool] = deque(maxlen=accuracy_window)
        self._correct_in_window = 0
        self._outcomes_lock = threading.Lock()

    def observe(
        self,
        latency_seconds: float,
        status: PredictionStatus = PredictionStatus.OK,
    ) -> None:
        """Record one prediction that took ``latency_seconds``."""
        self._latency.observe(latency_seconds)
        (self._ok if status is PredictionStatus.OK else self._error).inc()
        self._last_data.set(self.wall_clock())

    def predict(self, features: Mapping[str, Any] | None = None) -> PredictionTimer:
        """Context manager timing one predict call; an exception counts as an error."""
        return PredictionTimer(self, features)

    @overload
    def track(self, function: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def track(
        self,
        function: None = None,
        /,
        *,
        features: FeaturesOf | None = None,
        prediction: Callable[[Any], Any] | None = None,
        confidence: Callable[[Any], float | None] | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def track(
        self,
        function: Callable[P, R] | None = None,
        /,
        *,
        features: FeaturesOf | None = None,
        prediction: Callable[[Any], Any] | None = None,
        confidence: Callable[[Any], float | None] | None = None,
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorator timing every call of a (sync or async) predict function.

        ``@monitor.track`` or ``@monitor.track(features=..., prediction=..., confidence=...)``.
        A sampled
        prediction log carries what the context manager's ``.result()`` would:

        - features: ``features(*args, **kwargs)`` when given (return a mapping of feature
          name to value); otherwise the first positional argument (the one after
          ``self``/``cls`` for a method): a mapping as it is, anything else (an array, a
          list, one value) summarised under the name ``input``;
        - prediction: the return value (awaited for a coroutine function), or
          ``prediction(return value)`` when given; none when the call raised;
        - confidence: ``confidence(return value)`` when given.

        Inputs are read only for sampled calls, after the call returned.
        """
        outputs = (prediction, confidence)
        if function is None:
            return lambda wrapped: self._tracked(wrapped, features, outputs)
        return self._tracked(function, features, outputs)

    def _tracked(
        self,
        function: Callable[P, R],
        features: FeaturesOf | None,
        outputs: Outputs,
    ) -> Callable[P, R]:
        extract = features or _first_argument_features(function)
        if asyncio.iscoroutinefunction(function):

            @functools.wraps(function)
            async def timed_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                with PredictionTimer(self, None) as timer:
                    timer._inputs = (extract, args, kwargs)
                    result = await function(*args, **kwargs)
                    timer._returned(result, outputs)
                    return result

            return timed_async  # type: ignore[return-value]

        @functools.wraps(function)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with PredictionTimer(self, None) as timer:
                timer._inputs = (extract, args, kwargs)
                result = function(*args, **kwargs)
                timer._returned(result, outputs)
                return result

        return timed

    def record_outcome(self, correct: bool) -> None:
        """A label arrived for one prediction; updates the counters and the rolling accuracy."""
        (self._correct if correct else self._incorrect).inc()
        with self._outcomes_lock:
            if len(self._outcomes) == self._outcomes.maxlen:
                self._correct_in_window -= self._outcomes[0]
            self._outcomes.append(correct)
            self._correct_in_window += correct
            accuracy = self._correct_in_window / len(self._outcomes)
        self._accuracy.set(accuracy)
        self._last_label.set(self.wall_clock())

    def record_label(self, prediction: Any, label: Any) -> None:
        """Convenience for classifiers: the outcome is ``prediction == label``."""
        self.record_outcome(bool(prediction == label))

    def set_quality(self, metric: str, value: float) -> None:
        """Publish a quality metric computed elsewhere (f1, auc, rmse, ...)."""
        self._families.quality.labels(self.model_name, self.model_version, metric).set(value)

    def set_drift(self, scores: Mapping[str, float] | DriftReport) -> None:
        """Publish per-feature drift scores: a ``DriftReport`` (its PSI) or ``{feature: score}``."""
        features = getattr(scores, "features", None)
        if features is not None:  # a DriftReport
            scores = {feature.name: feature.score for feature in features}
        for feature, score in scores.items():
            if not math.isnan(score):
                self._families.drift.labels(self.model_name, feature).set(score)


FeaturesOf = Callable[..., Mapping[str, Any] | None]
"""``track``'s ``features=``: the call's arguments -> {feature: value}."""
Outputs = tuple[Callable[[Any], Any] | None, Callable[[Any], float | None] | None]
"""``track``'s ``prediction=`` and ``confidence=``: the return value -> what is logged."""


class PredictionTimer:
    """One timed prediction; ``result(...)`` attaches what the sampled log should carry."""

    __slots__ = (
        "_confidence",
        "_features",
        "_inputs",
        "_monitor",
        "_outputs",
        "_prediction",
        "_start",
        "latency_seconds",
    )

    def __init__(self, monitor: ModelMonitor, features: Mapping[str, Any] | None) -> None:
        self._monitor = monitor
        self._features = features
        # From ``track``: read only when the prediction is sampled.
        self._inputs: tuple[FeaturesOf, tuple[Any, ...], dict[str, Any]] | None = None
        self._outputs: Outputs | None = None
        self._prediction: Any = None
        self._confidence: float | None = None
        self._start = 0.0
        self.latency_seconds = 0.0

    def result(self, prediction: Any, confidence: float | None = None) -> None:
        self._prediction = prediction
        self._confidence = confidence

    def _returned(self, value: Any, outputs: Outputs) -> None:
        self._prediction = value
        self._outputs = outputs

    def __enter__(self) -> PredictionTimer:
        self._start = self._monitor.clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        monitor = self._monitor
        self.latency_seconds = latency = monitor.clock() - self._start
        status = PredictionStatus.OK if exc_type is None else PredictionStatus.ERROR
        monitor.observe(latency, status)
        logger = monitor.prediction_logger
        if logger is not None and logger.sampled():
            features, prediction, confidence = self._features, self._prediction, self._confidence
            if self._inputs is not None:
                extract, args, kwargs = self._inputs
                features = extract(*args, **kwargs)
            if self._outputs is not None:
                prediction_of, confidence_of = self._outputs
                returned = self._prediction
                prediction = returned if prediction_of is None else prediction_of(returned)
                confidence = None if confidence_of is None else confidence_of(returned)
            logger.log(
                model=monitor.model_name,
                version=monitor.model_version,
                features=features,
                prediction=prediction,
                confidence=confidence,
                latency_seconds=latency,
                status=status,
            )


INPUT_FEATURE = "input"
"""Feature name under which ``track`` logs a first argument that is not a mapping."""


def _first_argument_features(
    function: Callable[..., Any],
) -> Callable[..., Mapping[str, Any] | None]:
    """The default ``features=`` of ``track``: the first argument after ``self``/``cls``."""
    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        parameters = []
    index = 1 if parameters and parameters[0] in ("self", "cls") else 0

    def features(*args: Any, **kwargs: Any) -> Mapping[str, Any] | None:
        if len(args) > index:
            value = args[index]
        elif len(parameters) > index and parameters[index] in kwargs:
            value = kwargs[parameters[index]]
        else:
            return None
        return value if isinstance(value, Mapping) else {INPUT_FEATURE: value}

    return features
