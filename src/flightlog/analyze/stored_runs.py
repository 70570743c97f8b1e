"""Views of training runs stored on the server, built from the events the SDK shipped.

A ``flightlog.Run`` ships one JSON line per event (``run_start``, ``metrics``,
``validation``, ``milestone``, ``error``, ``system``, ``run_end``...) in streams labelled
with its ``run_id``. ``run_overview`` condenses those events into one row of the runs list
(status, timing, progress, best validation value, error count, newest event time,
diagnoses summary); ``run_detail`` adds the curves and diagnoses of ``analyze_records``
plus hyperparameters, system metrics and errors — the objects ``GET /api/v1/runs`` and
``GET /api/v1/runs/{run_id}`` return.

``diagnoses_summary`` (``{"count", "by_severity", "kinds", "covers_curves"}``) is only as
wide as the events given: with ``metrics`` records it counts every diagnosis the run page
shows; without them (the runs list leaves them out, reading every run's curves is the
cost it avoids) it counts the error-signature diagnoses of the ``error`` events and says
``covers_curves: false``. ``last_event`` (seconds) lets a reader call a run that never
sent ``run_end`` stale; the web UI does so after 15 minutes of silence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flightlog.analyze.analysis import analyze_records

__all__ = ["diagnoses_summary", "parse_event_ts", "run_detail", "run_overview"]

_MAX_ERRORS = 50


def parse_event_ts(value: object) -> float | None:
    """Seconds since the epoch of an event's ``ts`` (RFC3339 text or a number of ns/s)."""
    if isinstance(value, int | float):
        return value / 1e9 if value > 1e12 else float(value)
    if not isinstance(value, str) or not value:
        return None
    text = value.rstrip("Z")
    fraction = ""
    if "." in text:
        text, fraction = text.split(".", 1)
    try:
        whole = datetime.fromisoformat(text + "+00:00").timestamp()
    except ValueError:
        return None
    digits = "".join(ch for ch in fraction if ch.isdigit())
    return whole + (int(digits) / 10 ** len(digits) if digits else 0.0)


def run_overview(run_id: str, events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One row of the runs list: status, timing, progress, ETA, best metric, errors, diagnoses."""
    if any(e.get("event") == "metrics" for e in events):
        diagnoses = diagnoses_summary(_analysis(run_id, events)["diagnoses"], covers_curves=True)
    else:
        error_events = [e for e in events if e.get("event") == "error"]
        found = analyze_records(error_events, run=run_id).to_dict()["diagnoses"]
        diagnoses = diagnoses_summary(found, covers_curves=False)
    return _overview(run_id, events, diagnoses)


def diagnoses_summary(
    diagnoses: Sequence[Mapping[str, Any]], *, covers_curves: bool
) -> dict[str, Any]:
    """How many diagnoses of each severity and which kinds, for the runs list."""
    return {
        "count": len(diagnoses),
        "by_severity": dict(Counter(str(d.get("severity")) for d in diagnoses)),
        "kinds": sorted({str(d.get("kind")) for d in diagnoses}),
        "covers_curves": covers_curves,
    }


def _overview(
    run_id: str, events: Sequence[Mapping[str, Any]], diagnoses: Mapping[str, Any]
) -> dict[str, Any]:
    start = end = last_seen = None
    name = run_id
    status = "running"
    progress: float | None = None
    eta: float | None = None
    total_epochs: int | None = None
    epochs_done = 0
    best: dict[str, Any] | None = None
    errors = 0
    for event in events:
        kind = event.get("event")
        ts = parse_event_ts(event.get("ts"))
        if ts is not None:
            last_seen = ts if last_seen is None else max(last_seen, ts)
        if kind == "run_start":
            start = ts
            name = str(event.get("run_name") or name)
        elif kind == "run_end":
            end = ts
            status = str(event.get("status") or "completed")
        elif kind == "epoch_start" and isinstance(event.get("total_epochs"), int):
            total_epochs = event["total_epochs"]
        elif kind == "epoch_end":
            epochs_done += 1
        elif kind == "milestone":
            pct = event.get("milestone_pct")
            if isinstance(pct, int | float):
                progress = max(progress or 0.0, pct / 100)
                eta = (
                    event.get("eta_secs") if isinstance(event.get("eta_secs"), int | float) else eta
                )
        elif kind == "error":
            errors += 1
        elif kind == "validation" and event.get("is_best"):
            metrics = event.get("metrics") or {}
            metric = next((m for m in ("loss", "accuracy", "acc") if m in metrics), None)
            if metric is not None:
                best = {
                    "metric": f"val_{metric}",
                    "value": metrics[metric],
                    "step": event.get("epoch"),
                }
    if total_epochs:
        progress = max(progress or 0.0, min(1.0, epochs_done / total_epochs))
    if status != "running":
        eta = None
    if start is None and last_seen is not None:
        start = min(parse_event_ts(e.get("ts")) or last_seen for e in events)
    finish = end if end is not None else last_seen
    return {
        "run_id": run_id,
        "name": name,
        "status": status,
        "start": start,
        "end": end,
        "duration_s": (finish - start) if start is not None and finish is not None else None,
        "progress": progress,
        "eta_s": eta,
        "best": best,
        "errors": errors,
        "last_event": last_seen,
        "diagnoses_summary": dict(diagnoses),
    }


def run_detail(
    run_id: str, events: Sequence[Mapping[str, Any]], max_points: int = 2000
) -> dict[str, Any]:
    """Everything the run page shows: overview, hyperparameters, curves, diagnoses, system, errors."""
    analysis = _analysis(run_id, events, max_points)
    overview = _overview(
        run_id, events, diagnoses_summary(analysis["diagnoses"], covers_curves=True)
    )
    config: dict[str, Any] = {}
    system: dict[str, list[list[float]]] = {}
    errors: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "run_start" and isinstance(event.get("config"), Mapping):
            config.update(event["config"])
        elif kind == "hyperparameters" and isinstance(event.get("params"), Mapping):
            config.update(event["params"])
        elif kind == "system":
            ts = parse_event_ts(event.get("ts"))
            for metric, value in (event.get("metrics") or {}).items():
                if ts is not None and isinstance(value, int | float):
                    system.setdefault(metric, []).append([ts, float(value)])
        elif kind == "error" and len(errors) < _MAX_ERRORS:
            errors.append(
                {
                    "ts": event.get("ts"),
                    "type": event.get("error_type"),
                    "message": event.get("error_message") or event.get("msg"),
                    "operation": event.get("operation"),
                }
            )
    return {
        **overview,
        "config": config,
        "summary": analysis.get("summary", {}),
        "series": analysis.get("series", []),
        "diagnoses": analysis.get("diagnoses", []),
        "system": [{"metric": m, "points": sorted(p)} for m, p in sorted(system.items())],
        "errors": errors,
    }


def _analysis(
    run_id: str, events: Sequence[Mapping[str, Any]], max_points: int | None = None
) -> dict[str, Any]:
    """``analyze_records`` over a run's events (system samples are no curves)."""
    metric_events = [e for e in events if e.get("event") != "system"]
    return analyze_records(_with_steps(metric_events), run=run_id).to_dict(max_points)


def _with_steps(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Give validation records the last training step seen, so curves share one x axis."""
    ordered = sorted(events, key=lambda e: parse_event_ts(e.get("ts")) or 0.0)
    last_step: int | None = None
    out: list[Mapping[str, Any]] = []
    for event in ordered:
        step = event.get("step")
        if isinstance(step, int):
            last_step = step
        elif event.get("event") == "validation" and last_step is not None:
            event = {**event, "step": last_step}
        out.append(event)
    return out
