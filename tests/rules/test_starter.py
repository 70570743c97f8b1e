"""The starter rules on real runs: what the SDK ships, stored, evaluated by the engine."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import flightlog
from flightlog.model import PushRequest, StreamBatch, canonical_labels
from flightlog.query import Engine
from flightlog.rules.loader import parse_rule_groups
from flightlog.rules.model import AlertingRule
from flightlog.rules.querier import EngineQuerier
from flightlog.rules.starter import STARTER_RULES
from flightlog.store import Store, StoreConfig
from flightlog.testing import CapturedEntry, InMemoryExporter

S = 1_000_000_000
T0 = 1_767_225_600 * S


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(StoreConfig(tmp_path / "data", fsync=False))
    yield opened
    opened.close()


def _shipped_run(tmp_path: Path, name: str) -> list[CapturedEntry]:
    """What a real `flightlog.Run` of a few batches ships, up to and including run_end."""
    exporter = InMemoryExporter()
    config = flightlog.configure(exporter=exporter, service="trainer", stream=io.StringIO())
    try:
        with flightlog.Run(name, dir=tmp_path / name, flush_interval_secs=0.05) as run:
            for step in range(1, 4):
                run.log_batch(step=step, epoch=1, loss=1.0 / step)
        assert config.shipper is not None and config.shipper.flush(5.0)
    finally:
        flightlog.shutdown()
    return list(exporter.entries)


def _store_ending_at(store: Store, entries: list[CapturedEntry], last_ns: int) -> None:
    """Store the entries as they were shipped, shifted so the newest is at ``last_ns``."""
    shift = last_ns - max(e.ts_ns for e in entries)
    for entry in entries:
        batch = StreamBatch(
            canonical_labels(entry.labels), [entry.ts_ns + shift], [entry.line], [None]
        )
        store.append(PushRequest("default", (batch,)))


def test_training_job_silent_ignores_runs_that_ended(tmp_path: Path, store: Store) -> None:
    """20 minutes after their last line, a run that sent run_end is quiet; one killed before is not."""
    finished = _shipped_run(tmp_path, "finished")
    assert any(e.event["event"] == "run_end" for e in finished)
    killed = [e for e in _shipped_run(tmp_path, "killed") if e.event["event"] != "run_end"]
    _store_ending_at(store, finished, T0 - 20 * 60 * S)
    _store_ending_at(store, killed, T0 - 20 * 60 * S)
    (rule,) = [
        r
        for g in parse_rule_groups(STARTER_RULES, "starter.yaml")
        for r in g.rules
        if isinstance(r, AlertingRule) and r.name == "TrainingJobSilent"
    ]
    silent = EngineQuerier(Engine(store))(rule.expr, T0, "default")
    assert [s.labels["run_id"].split("-")[0] for s in silent] == ["killed"]
