"""Diagnoses of a training run: one module per kind, each a plain function.

``diagnose_run(run, errors, params)`` runs them all and returns the diagnoses ordered by
severity (critical first), then by first step. Kinds and default thresholds:

| kind | severity | fires when (defaults in ``params``) |
|---|---|---|
| ``nan`` | critical | a value is NaN/inf (first step reported) |
| ``divergence`` | critical | a loss's recent median rose above its minimum by more than its initial drop |
| ``error`` | critical/warning | an error signature matched (see ``flightlog.analyze.signatures``) |
| ``overfitting`` | warning | held-out metric worse than its best for 3 evaluations (>2 %) while train improved |
| ``spike`` | warning | robust z-score > 8 against the previous 25 points |
| ``stall`` | warning | a gap between progress points > 10x the median and > 30 s (``--follow``: also the silence since the last progress line, while it lasts) |
| ``slow_data`` | warning | data time > 30 % of step time |
| ``plateau`` | info | best improved < 1 % over the last 10 points (+ early-stopping saving) |
"""

from __future__ import annotations

from collections.abc import Sequence

from flightlog.analyze.diagnose.divergence import find_divergence
from flightlog.analyze.diagnose.errors import find_errors
from flightlog.analyze.diagnose.model import SEVERITY_RANK, Diagnosis, Kind
from flightlog.analyze.diagnose.nan import find_nan
from flightlog.analyze.diagnose.overfitting import find_overfitting
from flightlog.analyze.diagnose.params import DiagnosisParams
from flightlog.analyze.diagnose.plateau import find_plateau
from flightlog.analyze.diagnose.slow_data import find_slow_data
from flightlog.analyze.diagnose.spike import find_spikes
from flightlog.analyze.diagnose.stall import find_stalls
from flightlog.analyze.diagnose.summary import summarize
from flightlog.analyze.table import ErrorLine, RunTable

__all__ = ["Diagnosis", "DiagnosisParams", "Kind", "diagnose_run", "summarize"]


def diagnose_run(
    run: RunTable, errors: Sequence[ErrorLine] = (), params: DiagnosisParams | None = None
) -> list[Diagnosis]:
    """Every diagnosis for ``run``, most severe first."""
    params = params or DiagnosisParams()
    found: list[Diagnosis] = []
    found += find_nan(run)
    found += find_divergence(run, params.divergence)
    found += find_errors(errors)
    found += find_overfitting(run, params.overfitting)
    found += find_spikes(run, params.spike)
    found += find_stalls(run, params.stall)
    found += find_slow_data(run, params.slow_data)
    found += find_plateau(run, params.plateau)
    found.sort(
        key=lambda d: (
            -SEVERITY_RANK[d.severity],
            d.first_step if d.first_step is not None else -1,
        )
    )
    return found
