"""The diagnosis record, severities, and which way each metric should move.

A ``Diagnosis`` is ``{kind, severity, message, evidence, first_step, last_step}``: the
message says in plain words what happened and what to try; ``evidence`` holds the numbers
it rests on. Severities order ``critical`` > ``warning`` > ``info``; a critical
diagnosis makes ``flightlog analyze`` exit with code 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flightlog.analyze.table import RunTable, Series

__all__ = [
    "CRITICAL",
    "INFO",
    "SEVERITY_RANK",
    "WARNING",
    "Diagnosis",
    "Kind",
    "direction",
    "is_curve_metric",
    "loss_series",
    "round_value",
]

INFO = "info"
WARNING = "warning"
CRITICAL = "critical"
SEVERITY_RANK = {INFO: 0, WARNING: 1, CRITICAL: 2}


class Kind(StrEnum):
    """The kinds of diagnosis."""

    OVERFITTING = "overfitting"
    PLATEAU = "plateau"
    DIVERGENCE = "divergence"
    NAN = "nan"
    SPIKE = "spike"
    STALL = "stall"
    SLOW_DATA = "slow_data"
    ERROR = "error"


@dataclass(frozen=True)
class Diagnosis:
    """One finding about a run, with the evidence it rests on."""

    kind: str
    severity: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    first_step: int | None = None
    last_step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "severity": self.severity,
            "message": self.message,
            "evidence": dict(self.evidence),
            "first_step": self.first_step,
            "last_step": self.last_step,
        }


_LOWER_IS_BETTER = (
    "loss",
    "error",
    "err",
    "mse",
    "mae",
    "rmse",
    "perplexity",
    "ppl",
    "logloss",
    "wer",
    "cer",
    "nll",
)
_HIGHER_IS_BETTER = (
    "acc",
    "accuracy",
    "auc",
    "f1",
    "precision",
    "recall",
    "score",
    "map",
    "ndcg",
    "r2",
    "bleu",
    "rouge",
    "iou",
    "dice",
)
_NOT_CURVES = (
    "learning_rate",
    "lr",
    "runtime",
    "samples_per_second",
    "steps_per_second",
    "step_time_s",
    "time",
    "mfu",
    "grad_norm",
    "epoch",
    "total_flos",
    "data_time",
    "batch_time",
    "oob_improvement",
)


def direction(metric: str) -> int:
    """-1 when lower is better (losses, errors), +1 when higher is better, 0 unknown."""
    name = metric.lower()
    for suffix in ("_step", "_epoch"):  # Lightning's on_step / on_epoch variants
        name = name.removesuffix(suffix)
    if (
        name in _NOT_CURVES
        or name.startswith(("lr", "learning_rate"))
        or name.endswith(("runtime", "per_second", "_time", "_time_s", "_secs", "_ms", "flos"))
        or name.endswith("_std")  # a cross-validation spread, not a curve to judge
    ):
        return 0
    tokens = name.replace("-", "_").replace("/", "_").replace("@", "_").replace(".", "_").split("_")
    if any(t in _LOWER_IS_BETTER for t in tokens) or name.endswith("loss"):
        return -1
    if any(t in _HIGHER_IS_BETTER for t in tokens):
        return 1
    return 0


def is_curve_metric(metric: str) -> bool:
    return direction(metric) != 0


def loss_series(run: RunTable, split: str = "train") -> Series | None:
    """The run's main loss curve on ``split``: ``loss`` if logged, else the first loss-like."""
    exact = run.series.get((split, "loss"))
    if exact is not None and len(exact):
        return exact
    for (series_split, metric), series in run.series.items():
        if series_split == split and direction(metric) < 0 and len(series):
            return series
    return None


def round_value(value: float) -> float:
    """Round for messages and evidence: 4 significant digits."""
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.4g}")
