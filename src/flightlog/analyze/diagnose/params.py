"""Thresholds of every diagnosis: frozen dataclasses with documented defaults.

Change them with ``dataclasses.replace`` (or ``--set``-style CLI options) and pass a
``DiagnosisParams`` to the analysis functions. "Evaluations" are the points of the
curve being checked (an epoch for Keras, an eval for Hugging Face, a round for boosting).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

__all__ = [
    "DiagnosisParams",
    "DivergenceParams",
    "OverfittingParams",
    "PlateauParams",
    "SlowDataParams",
    "SpikeParams",
    "StallParams",
    "params_with",
]


@dataclass(frozen=True)
class OverfittingParams:
    """Validation worse than its best for ``patience`` evaluations while training improved.

    ``min_worsening``: the last validation value must be worse than the best by this
    fraction of the best (relative, default 2 %). ``min_points``: evaluations needed.
    """

    patience: int = 3
    min_worsening: float = 0.02
    min_points: int = 4


@dataclass(frozen=True)
class PlateauParams:
    """Best value improved by less than ``min_relative_improvement`` over the last
    ``window`` points (default: < 1 % over 10 points). Early stopping with that window
    as patience is said to save the points after the plateau began plus the window."""

    window: int = 10
    min_relative_improvement: float = 0.01
    min_points: int = 15


@dataclass(frozen=True)
class DivergenceParams:
    """The loss's recent median (last ``window`` points) rose above its minimum by more
    than ``rise_fraction`` of its initial drop (first - min) and by ``min_ratio`` x min."""

    window: int = 3
    rise_fraction: float = 1.0
    min_ratio: float = 1.5
    min_points: int = 4


@dataclass(frozen=True)
class SpikeParams:
    """Points whose robust z-score against the preceding ``window`` points (median and
    MAD) exceeds ``z_threshold``. At most ``max_reported`` are listed in the evidence."""

    window: int = 25
    z_threshold: float = 8.0
    min_points: int = 30
    max_reported: int = 10


@dataclass(frozen=True)
class StallParams:
    """A gap between consecutive progress points longer than ``factor`` x the median gap
    and longer than ``min_gap_secs`` seconds."""

    factor: float = 10.0
    min_gap_secs: float = 30.0
    min_points: int = 5


@dataclass(frozen=True)
class SlowDataParams:
    """Mean data-loading time above ``max_fraction`` of the mean step time."""

    max_fraction: float = 0.3


@dataclass(frozen=True)
class DiagnosisParams:
    """All thresholds, one group per diagnosis kind."""

    overfitting: OverfittingParams = field(default_factory=OverfittingParams)
    plateau: PlateauParams = field(default_factory=PlateauParams)
    divergence: DivergenceParams = field(default_factory=DivergenceParams)
    spike: SpikeParams = field(default_factory=SpikeParams)
    stall: StallParams = field(default_factory=StallParams)
    slow_data: SlowDataParams = field(default_factory=SlowDataParams)


def params_with(overrides: list[str], base: DiagnosisParams | None = None) -> DiagnosisParams:
    """``base`` with ``group.field=value`` overrides applied (``plateau.window=20``).

    Raises ``ValueError`` naming the bad override and the valid choices.
    """
    params = base or DiagnosisParams()
    for override in overrides:
        name, sep, raw = override.partition("=")
        group_name, dot, field_name = name.strip().partition(".")
        groups = {f.name for f in fields(DiagnosisParams)}
        if not sep or not dot or group_name not in groups:
            raise ValueError(
                f"threshold override {override!r} is not group.field=value with group one of "
                f"{', '.join(sorted(groups))} (e.g. plateau.window=20)"
            )
        group = getattr(params, group_name)
        kinds = {f.name: f.type for f in fields(group)}
        if field_name not in kinds:
            raise ValueError(
                f"{group_name} has no threshold {field_name!r}: use one of {', '.join(sorted(kinds))}"
            )
        current = getattr(group, field_name)
        try:
            value = type(current)(raw.strip())
        except ValueError:
            raise ValueError(
                f"threshold {name} needs a {type(current).__name__}, got {raw!r}"
            ) from None
        params = replace(params, **{group_name: replace(group, **{field_name: value})})
    return params
