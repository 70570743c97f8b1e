"""Sampled structured prediction logs through stdlib ``logging``.

Each sampled prediction becomes one ``logging`` record (message ``"prediction"``) whose
extra fields form a JSON-able event that drift checks read back from the logs
(``flightlog.monitor.sources.columns_from_records``)::

    {"event": "prediction", "model": "churn", "model_version": "3",
     "features": {"age": 42, "country": "DE", "embedding": {"mean": .., "min": .., "max": .., "len": 64}},
     "prediction": 1, "confidence": 0.93, "latency_seconds": 0.0042, "status": "ok",
     "sample_rate": 0.01, "correlation_id": "...", "trace_id": "...", "span_id": "..."}

``sample_rate`` lets a reader count predictions from the sampled logs (each logged one
stands for ``1 / sample_rate``): the throughput SLI of ``flightlog.monitor.slo_inputs``.

Features are *summarised* per feature: scalars as they are, vectors as mean/min/max/len,
so a log line stays small whatever the model's input. With flightlog's SDK handler
installed, these fields land in the JSON line as top-level keys; with any other handler
they are ordinary ``LogRecord`` attributes.
"""

from __future__ import annotations

import logging
import math
import random
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["PREDICTION_EVENT", "PredictionLogger", "summarise_features", "summarise_value"]

PREDICTION_EVENT = "prediction"
_MAX_LISTED_ITEMS = 8


class PredictionLogger:
    """Logs ``sample_rate`` of predictions (0..1) to ``logger`` at ``level``."""

    def __init__(
        self,
        sample_rate: float = 0.01,
        logger: logging.Logger | None = None,
        level: int = logging.INFO,
        random_source: Callable[[], float] = random.random,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            from flightlog.errors import MonitorError

            raise MonitorError(f"sample_rate={sample_rate}: must be within [0, 1]")
        self.sample_rate = sample_rate
        self.logger = logger or logging.getLogger("flightlog.predictions")
        self.level = level
        self._random = random_source

    def sampled(self) -> bool:
        """Whether this prediction is one of the sampled ones (cheap: one random draw)."""
        return self.sample_rate > 0.0 and self._random() < self.sample_rate

    def log(
        self,
        model: str,
        version: str,
        features: Mapping[str, Any] | None,
        prediction: Any,
        confidence: float | None,
        latency_seconds: float,
        status: str,
    ) -> None:
        """Emit one prediction event (call it for sampled predictions only)."""
        if not self.logger.isEnabledFor(self.level):
            return
        event: dict[str, Any] = {
            "event": PREDICTION_EVENT,
            "model": model,
            "model_version": version,
            "features": summarise_features(features or {}),
            "prediction": summarise_value(prediction),
            "confidence": None if confidence is None else float(confidence),
            "latency_seconds": latency_seconds,
            "status": str(status),
            "sample_rate": self.sample_rate,
        }
        event.update(_context_ids())
        self.logger.log(self.level, PREDICTION_EVENT, extra=event)


def summarise_features(features: Mapping[str, Any]) -> dict[str, Any]:
    """Each feature as a scalar, or a mean/min/max/len summary when it is a vector."""
    return {str(name): _feature_summary(value) for name, value in features.items()}


def summarise_value(value: Any) -> Any:
    """A JSON-able form of a prediction: scalars as they are, short vectors listed."""
    scalar = _scalar(value)
    if scalar is not _NOT_SCALAR:
        return scalar
    items = _as_list(value)
    if items is None:
        return str(value)
    if len(items) <= _MAX_LISTED_ITEMS:
        return [summarise_value(item) for item in items]
    return _vector_summary(items)


_NOT_SCALAR = object()


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int | float):
        return value if not (isinstance(value, float) and math.isnan(value)) else None
    item = getattr(value, "item", None)  # numpy scalars and 0-d arrays
    if item is not None and getattr(value, "ndim", 1) == 0:
        return _scalar(item())
    return _NOT_SCALAR


def _as_list(value: Any) -> list[Any] | None:
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        converted = tolist()
        return converted if isinstance(converted, list) else [converted]
    if isinstance(value, list | tuple):
        return list(value)
    return None


def _feature_summary(value: Any) -> Any:
    scalar = _scalar(value)
    if scalar is not _NOT_SCALAR:
        return scalar
    if isinstance(value, Mapping):
        return summarise_features(value)
    items = _as_list(value)
    if items is None:
        return str(value)
    return _vector_summary(items)


def _vector_summary(items: list[Any]) -> dict[str, Any]:
    numbers = [
        float(x) for x in _flatten(items) if isinstance(x, int | float) and not isinstance(x, bool)
    ]
    numbers = [x for x in numbers if math.isfinite(x)]
    if not numbers:
        return {"len": len(items)}
    return {
        "mean": sum(numbers) / len(numbers),
        "min": min(numbers),
        "max": max(numbers),
        "len": len(items),
    }


def _flatten(items: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        if isinstance(item, list):
            flat.extend(_flatten(item))
        else:
            flat.append(item)
    return flat


def _context_ids() -> dict[str, str]:
    """Correlation and trace IDs bound in flightlog's SDK context / the active OTel span."""
    ids: dict[str, str] = {}
    context = sys.modules.get("flightlog.sdk.context")
    if context is not None:
        correlation = context.bound_fields().get("correlation_id")
        if correlation is not None:
            ids["correlation_id"] = str(correlation)
        trace = context.trace_ids()
        if trace is not None:
            ids["trace_id"], ids["span_id"] = trace
        return ids
    # Without the SDK: read the active OpenTelemetry span if the application uses tracing.
    otel = sys.modules.get("opentelemetry.trace")
    if otel is not None:
        span = otel.get_current_span().get_span_context()
        if span.is_valid:
            ids["trace_id"] = format(span.trace_id, "032x")
            ids["span_id"] = format(span.span_id, "016x")
    return ids
