"""Golden files: each real (or faithfully hand-written) framework log -> tidy table and
diagnoses. Regenerate on purpose with tests/analyze/make_fixtures/make_expected.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "make_fixtures"))
from make_expected import expected_summary, golden_logs, tidy_csv

LOGS = golden_logs()


def test_there_are_golden_logs_for_every_format() -> None:
    """Every parser has at least one golden log."""
    from flightlog.analyze import FORMATS

    formats = {json.loads(Path(f"{p}.expected.json").read_text())["format"] for p in LOGS}
    assert formats == set(FORMATS)


@pytest.mark.parametrize("log", LOGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_log_parses_to_the_expected_tidy_table(log: Path) -> None:
    """The tidy CSV of the log is exactly the reviewed one."""
    assert tidy_csv(log) == Path(f"{log}.tidy.csv").read_text()


@pytest.mark.parametrize("log", LOGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_log_gets_the_expected_format_runs_and_diagnoses(log: Path) -> None:
    """Detected format, runs and diagnoses are exactly the reviewed ones."""
    assert expected_summary(log) == json.loads(Path(f"{log}.expected.json").read_text())
