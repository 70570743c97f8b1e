"""Training-log analysis: curves and diagnoses from the logs ML frameworks print.

Public API (everything else in this package is an implementation detail)::

    analyze_path(path, format_name=None, params=None) -> LogAnalysis   # a log file
    analyze_text(text, format_name=None, params=None) -> LogAnalysis   # a log in a string
    analyze_records(records, run="run", params=None) -> RunAnalysis    # stored metric records
    detect_format(sample, filename="") -> str
    FORMATS                     # --format names -> one-line descriptions
    DiagnosisParams             # every threshold, frozen dataclasses with defaults

``analyze_records`` is what the server calls for a stored run: pass the run's metric
records (flightlog's JSON objects ``{"event": "metrics", "step": 12, "epoch": 1,
"loss": 0.4, "val_loss": 0.5, "ts": ...}``, any order) and get the same summary,
series and diagnoses as for a file; ``RunAnalysis.to_dict(max_points)`` is the run
object of the schema below (``max_points`` downsamples curves for the UI).

Tidy table
----------
Every parser produces points ``(run, step, epoch, split, metric, value, time)``:
``split`` is ``train``/``val``/``test``/``eval`` (extra evaluation sets keep their own
name), ``time`` is seconds (a Unix time when the log has timestamps, else elapsed
seconds) or empty. ``--output csv`` writes exactly these columns.

SCHEMA (``--output json``, ``LogAnalysis.to_dict()``), schema_version 1
-------------------------------------------------------------------------
::

    {
      "schema_version": 1,
      "format": "keras",                 # parser used (see FORMATS)
      "source": "train.log",
      "lines": 12345,
      "runs": [{
        "run": "train",                  # file stem; "train#2"... for restarts/extra runs
        "summary": {
          "steps": 3000, "epochs": 10.0, "points": 120, "total_steps": 3000 | null,
          "throughput_steps_per_sec": 25.1 | null, "elapsed_secs": 119.5 | null,
          "eta_secs": 40.0 | null,       # only while the run is not finished
          "lr_schedule": {"shape": "warmup+decay", "first", "peak", "peak_step", "last", "min"} | null,
          "metrics": [{"metric": "loss", "split": "val", "points": 10, "final": 0.31,
                       "final_step": 3000, "best": 0.29, "best_step": 2400, "goal": "min"}],
          "info": {...}                  # facts the log stated (best_iteration, train_runtime...)
        },
        "series": [{"metric": "loss", "split": "train",
                    "points": [[step, value], ...],
                    "epochs": [...], "times": [...]}],   # epochs/times only when known
        "diagnoses": [{"kind": "overfitting", "severity": "warning",
                       "message": "...", "evidence": {...},
                       "first_step": 2400, "last_step": 3000}]
      }]
    }

Non-finite values are the strings ``"nan"``, ``"inf"``, ``"-inf"``. Several logs give
``{"schema_version": 1, "logs": [<object above>, ...]}``. Diagnoses are ordered by
severity (critical, warning, info); kinds: nan, divergence, error, overfitting, spike,
stall, slow_data, plateau — thresholds and meaning in ``flightlog.analyze.diagnose``.
New keys may be added within schema_version 1; none is removed or renamed.
"""

from __future__ import annotations

from flightlog.analyze.analysis import (
    LogAnalysis,
    RunAnalysis,
    analyze_path,
    analyze_records,
    analyze_text,
)
from flightlog.analyze.diagnose import Diagnosis, DiagnosisParams
from flightlog.analyze.formats import PARSERS, detect_format
from flightlog.analyze.table import TidyRow

__all__ = [
    "FORMATS",
    "Diagnosis",
    "DiagnosisParams",
    "LogAnalysis",
    "RunAnalysis",
    "TidyRow",
    "analyze_path",
    "analyze_records",
    "analyze_text",
    "detect_format",
]

#: ``--format`` names and what each reads.
FORMATS: dict[str, str] = {name: parser.description for name, parser in PARSERS.items()}
