"""Timestamp, level, labels, metadata, filter, sample and truncate stages."""

from __future__ import annotations

import logging

import pytest

from flightlog.errors import ConfigError
from flightlog.pipeline import (
    REASON_FILTERED,
    REASON_LINE_TOO_LONG,
    REASON_SAMPLED,
    Drop,
    LogRecord,
)
from flightlog.pipeline.filter import FilterStage, SampleStage
from flightlog.pipeline.labels import (
    FieldLabelsStage,
    MetadataStage,
    OutputStage,
    PathLabelsStage,
    StaticLabelsStage,
)
from flightlog.pipeline.level import LevelStage, normalize_level
from flightlog.pipeline.limits import TRUNCATION_MARK, TruncateStage
from flightlog.pipeline.timestamp import TimestampStage

GARBAGE = ["", "\x00", "x" * 100_000, "{", "level=", "\ufffd" * 50]


@pytest.mark.parametrize(
    ("value", "formats", "ts_ns"),
    [
        ("2024-01-02T03:04:05Z", ["rfc3339"], 1704164645_000000000),
        ("2024-01-02T03:04:05.123456789+01:00", ["rfc3339"], 1704161045_123456789),
        ("2024-01-02 03:04:05,250", ["%Y-%m-%d %H:%M:%S,%f"], 1704164645_250000000),
        ("1704164645", ["unix"], 1704164645_000000000),
        ("1704164645.5", ["unix"], 1704164645_500000000),
        (1704164645123, ["unix_ms"], 1704164645_123000000),
        ("1704164645123456", ["unix_us"], 1704164645_123456000),
        ("nonsense", ["rfc3339", "unix"], 7),
    ],
)
def test_timestamp_formats(value, formats, ts_ns):
    """The first format that reads the field sets the time; none keeps the old one."""
    stage = TimestampStage("time", formats)
    assert stage(LogRecord(7, "x", fields={"time": value})).ts_ns == ts_ns


def test_timestamp_counts_unreadable_values():
    """A value no format reads counts one error."""
    stage = TimestampStage("time", ["rfc3339"])
    stage(LogRecord(7, "x", fields={"time": "yesterday"}))
    assert stage.errors == 1


def test_timestamp_reads_local_times_in_the_configured_zone():
    """A strptime format without a zone is read in `timezone`."""
    stage = TimestampStage("t", ["%Y-%m-%d %H:%M:%S"], timezone="Europe/Berlin")
    assert (
        stage(LogRecord(0, "x", fields={"t": "2024-01-02 04:04:05"})).ts_ns == 1704164645_000000000
    )


@pytest.mark.parametrize(
    ("formats", "zone"), [([], "UTC"), (["weird"], "UTC"), (["rfc3339"], "Mars/Base")]
)
def test_timestamp_rejects_bad_config(formats, zone):
    """No format, an unknown format or zone is a ConfigError."""
    with pytest.raises(ConfigError):
        TimestampStage("t", formats, zone)


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("WARN", "warning"), ("warning", "warning"), ("W", "warning"), ("FATAL", "critical"),
        ("CRITICAL", "critical"), ("err", "error"), ("Info", "info"), ("dbg", "debug"),
        ("trace", "trace"), (9, "info"), (17, "error"), ("21", "critical"), ("loud", None), (True, None),
    ],
)  # fmt: skip
def test_normalize_level(raw, level):
    """Words, letters and OpenTelemetry severity numbers map to one vocabulary."""
    assert normalize_level(raw) == level


@pytest.mark.parametrize(
    ("record", "level"),
    [
        (LogRecord(1, "x", fields={"level": "WARN"}), "warning"),
        (LogRecord(1, "x", fields={"severity": "F"}), "critical"),
        (LogRecord(1, "2024-01-01 ERROR disk full"), "error"),
        (LogRecord(1, "[main] warning: low memory"), "warning"),
        (LogRecord(1, "nothing here"), None),
    ],
)
def test_level_stage_sets_the_level_label(record, level):
    """The level comes from a field, else from a level word in the line."""
    assert LevelStage()(record).labels.get("level") == level


def test_level_stage_can_target_metadata_and_default():
    """target=metadata writes structured metadata; `default` fills records without a level."""
    stage = LevelStage(target="metadata", default="info")
    assert stage(LogRecord(1, "plain")).metadata == {"level": "info"}


def test_labels_promote_fields():
    """Fields named in the mapping become labels with string values."""
    stage = FieldLabelsStage({"service": "svc", "code": "status"})
    out = stage(LogRecord(1, "x", {"job": "a"}, fields={"svc": "api", "status": 500}))
    assert out.labels == {"job": "a", "service": "api", "code": "500"}


def test_labels_cardinality_guard_demotes_to_metadata_and_logs_once(caplog):
    """A label past max values per window becomes structured metadata, logged once."""
    now = [0.0]
    stage = FieldLabelsStage(
        {"trace_id": "trace_id"}, max_values_per_window=3, window_secs=60, clock=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING, logger="flightlog.pipeline"):
        outs = [stage(LogRecord(i, "x", fields={"trace_id": f"t{i}"})) for i in range(10)]
    assert [("trace_id" in out.labels) for out in outs] == [True] * 3 + [False] * 7
    assert all(out.metadata["trace_id"] == f"t{i}" for i, out in enumerate(outs[3:], start=3))
    warnings = [r for r in caplog.records if "trace_id" in r.getMessage()]
    assert len(warnings) == 1 and "structured metadata" in warnings[0].getMessage()


def test_labels_guard_counts_values_per_window():
    """Values seen in an earlier window do not count against the next one."""
    now = [0.0]
    stage = FieldLabelsStage(
        {"pod": "pod"}, max_values_per_window=2, window_secs=10, clock=lambda: now[0]
    )
    stage(LogRecord(1, "x", fields={"pod": "a"}))
    stage(LogRecord(1, "x", fields={"pod": "b"}))
    now[0] = 11.0
    assert stage(LogRecord(1, "x", fields={"pod": "c"})).labels == {"pod": "c"}


def test_static_labels_do_not_override_by_default():
    """Static labels fill in; a record's own label of the same name wins unless override."""
    assert StaticLabelsStage({"job": "train", "env": "dev"})(
        LogRecord(1, "x", {"env": "prod"})
    ).labels == {
        "job": "train",
        "env": "prod",
    }
    assert StaticLabelsStage({"env": "dev"}, override=True)(
        LogRecord(1, "x", {"env": "prod"})
    ).labels == {"env": "dev"}


@pytest.mark.parametrize(
    ("template", "source", "labels"),
    [
        (
            "/var/log/ml/{service}/{run_id}.log",
            "/var/log/ml/trainer/r42.log",
            {"service": "trainer", "run_id": "r42"},
        ),
        ("/var/log/ml/{service}/*.log", "/var/log/ml/api/x.log", {"service": "api"}),
        ("/var/log/ml/{service}/{run_id}.log", "/elsewhere/a.log", {}),
        ("{job}/train.log", "/data/runs/exp7/train.log", {"job": "exp7"}),
    ],
)
def test_path_labels_from_template(template, source, labels):
    """Labels come from the parts of the source path the template names."""
    assert dict(PathLabelsStage(template)(LogRecord(1, "x", source=source)).labels) == labels


@pytest.mark.parametrize("name", ["bad-name", "1x"])
def test_label_names_are_checked(name):
    """A label name that Loki would refuse is a ConfigError at load."""
    with pytest.raises(ConfigError):
        StaticLabelsStage({name: "v"})


def test_metadata_and_output_stages():
    """Fields go to structured metadata; output replaces the line with a field."""
    record = LogRecord(1, "raw", fields={"trace_id": "abc", "message": "clean"})
    out = OutputStage("message")(MetadataStage({"trace_id": "trace_id"})(record))
    assert (out.line, out.metadata) == ("clean", {"trace_id": "abc"})


@pytest.mark.parametrize(
    ("expression", "action", "line", "kept"),
    [
        ('|= "healthz"', "drop", "GET /healthz 200", False),
        ('|= "healthz"', "drop", "GET /predict 200", True),
        ('|~ "GET /(healthz|metrics)" != "500"', "drop", "GET /metrics 200", False),
        ('|~ "GET /(healthz|metrics)" != "500"', "drop", "GET /metrics 500", True),
        ('|= "error"', "keep", "an error", True),
        ('|= "error"', "keep", "all good", False),
        ("!~ `^\\s*$`", "keep", "   ", False),
        ('|= "say \\"hi\\""', "keep", 'they say "hi"', True),
    ],
)
def test_filter_line_filters(expression, action, line, kept):
    """LogQL line filters decide; `drop` removes matches, `keep` removes the rest."""
    out = FilterStage(expression, action=action)(LogRecord(1, line))
    assert (out == Drop(REASON_FILTERED)) is (not kept)


def test_filter_with_selector():
    """A label selector narrows a filter to some streams."""
    stage = FilterStage(selector='{level="debug"}')
    assert stage(LogRecord(1, "x", {"level": "debug"})) == Drop(REASON_FILTERED)
    assert isinstance(stage(LogRecord(1, "x", {"level": "info"})), LogRecord)


@pytest.mark.parametrize("expression", ['|= "open', "contains x", '|~ "("', ""])
def test_filter_rejects_bad_expressions(expression):
    """Unreadable filters are ConfigErrors that show the bad part."""
    with pytest.raises(ConfigError):
        FilterStage(expression)


def test_sampling_keeps_warnings_and_is_deterministic_per_trace():
    """Warnings and above always pass; the rest is kept or dropped per trace ID, every time."""
    stage = SampleStage(0.3)
    assert isinstance(
        stage(LogRecord(1, "x", {"level": "error"}, fields={"trace_id": "t"})), LogRecord
    )
    verdicts = {}
    for trace in range(2000):
        record = LogRecord(
            1, f"line {trace}", {"level": "info"}, metadata={"trace_id": f"trace-{trace}"}
        )
        first = stage(record)
        again = stage(
            LogRecord(2, "other line", {"level": "debug"}, metadata={"trace_id": f"trace-{trace}"})
        )
        assert (first == Drop(REASON_SAMPLED)) == (again == Drop(REASON_SAMPLED))
        verdicts[trace] = isinstance(first, LogRecord)
    assert 0.25 < sum(verdicts.values()) / len(verdicts) < 0.35


@pytest.mark.parametrize(("rate", "kept"), [(0.0, 0), (1.0, 100)])
def test_sampling_rate_bounds(rate, kept):
    """Rate 0 keeps none of the low levels, rate 1 keeps all."""
    stage = SampleStage(rate)
    assert sum(isinstance(stage(LogRecord(1, f"l{i}")), LogRecord) for i in range(100)) == kept


def test_truncate_cuts_at_bytes_and_marks():
    """Long lines are cut to max_line_bytes UTF-8 bytes (never mid-character) and marked."""
    out = TruncateStage(64)(LogRecord(1, "é" * 100))
    assert out.line.endswith(TRUNCATION_MARK) and len(out.line.encode()) <= 64
    assert TruncateStage(64)(LogRecord(1, "short")).line == "short"
    assert TruncateStage(64, action="drop")(LogRecord(1, "x" * 65)) == Drop(REASON_LINE_TOO_LONG)


@pytest.mark.parametrize(
    "stage",
    [
        TimestampStage("t", ["rfc3339"]), LevelStage(), FieldLabelsStage({"a": "a"}), StaticLabelsStage({"a": "b"}),
        PathLabelsStage("/x/{a}.log"), MetadataStage({"a": "a"}), OutputStage("a"), FilterStage('|= "x"'),
        SampleStage(0.5), TruncateStage(100),
    ],
    ids=lambda stage: stage.kind,
)  # fmt: skip
@pytest.mark.parametrize("line", GARBAGE)
def test_stages_survive_garbage(stage, line):
    """Garbage and oversize lines, with garbage fields, never raise."""
    out = stage(LogRecord(1, line, fields={"t": line, "a": line, "level": line}, source=line))
    assert isinstance(out, LogRecord | Drop)
