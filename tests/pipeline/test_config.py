"""The pipeline: YAML config validation, counters, and running over pushes."""

from __future__ import annotations

import pytest
import yaml
from prometheus_client import CollectorRegistry

from flightlog.errors import ConfigError
from flightlog.model import PushRequest, StreamBatch
from flightlog.pipeline import STAGE_KINDS, Drop, LogRecord, PipelineConfig, build_pipeline
from flightlog.pipeline.push import apply_pipeline

FULL = """
- json: {}
- logfmt: {}
- regex: {expression: 'took (?P<ms>[0-9]+)ms'}
- pattern: {expression: '<method> <path>', source: request}
- grok: {pattern: PYTHON_LOGGING}
- timestamp: {field: time, formats: [rfc3339, unix_ms]}
- level: {}
- labels: {fields: [service], max_values_per_window: 10}
- static_labels: {labels: {cluster: eu1}}
- path_labels: {template: '/var/log/{service}/app.log'}
- metadata: {fields: [trace_id]}
- output: {field: message}
- filter: {action: drop, expression: '|= "healthz"'}
- sample: {rate: 1.0}
- redact: {hash_fields: [user_id]}
- truncate: {max_line_bytes: 1024}
"""


def test_every_stage_kind_loads_from_yaml():
    """The documented YAML for every stage kind validates and builds."""
    config = PipelineConfig.from_yaml_section(yaml.safe_load(FULL))
    assert {stage.kind for stage in config.stages} == set(STAGE_KINDS)
    assert len(build_pipeline(config, registry=CollectorRegistry())) == len(STAGE_KINDS)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"json": {}}, "must be a list"),
        ([{"jsn": {}}], "unknown stage 'jsn'"),
        ([{"json": {}, "logfmt": {}}], "one mapping"),
        (
            [{"labels": {"fields": ["a"], "max_values_per_window": 0}}],
            "pipeline[0].labels.max_values_per_window",
        ),
        ([{"regex": {"expression": "("}}], "RE2"),
        ([{"sample": {"rate": 2}}], "rate"),
        ([{"redact": {"kinds": ["emails"]}}], "emails"),
        ([{"json": {"sorce": "x"}}], "sorce"),
        ([{"timestamp": {"field": "t", "formats": ["%Q nonsense"]}}], None),
    ],
)
def test_bad_sections_name_the_item_and_key(section, message):
    """Invalid sections raise ConfigError naming where and what."""
    if message is None:
        PipelineConfig.from_yaml_section(section)  # strptime formats are checked when read
        return
    with pytest.raises(ConfigError) as caught:
        PipelineConfig.from_yaml_section(section)
    assert message in str(caught.value)


def test_bare_stage_names_are_accepted():
    """`- json` (no options) means `- json: {}`."""
    assert PipelineConfig.from_yaml_section(["json", "logfmt"]).stages[0].kind == "json"


def test_counters_per_stage(tmp_path):
    """received / sent / dropped{reason} / errors are counted per stage."""
    registry = CollectorRegistry()
    pipeline = build_pipeline(
        PipelineConfig.from_yaml_section(
            [{"json": {}}, {"filter": {"expression": '|= "drop me"'}}]
        ),
        name="t",
        registry=registry,
    )
    records = [
        LogRecord(1, '{"a":1}'),
        LogRecord(2, "{broken"),
        LogRecord(3, "drop me"),
        LogRecord(4, "keep"),
    ]
    assert [r.line for r in pipeline.process(records)] == ['{"a":1}', "{broken", "keep"]

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"pipeline": "t", **labels})

    assert value("flightlog_pipeline_received_records_total", stage="0:json") == 4
    assert value("flightlog_pipeline_errors_total", stage="0:json") == 1
    assert value("flightlog_pipeline_sent_records_total", stage="1:filter") == 3
    assert (
        value("flightlog_pipeline_dropped_records_total", stage="1:filter", reason="filtered") == 1
    )


def test_process_one_returns_the_drop():
    """process_one gives the final record or the Drop with its reason."""
    pipeline = build_pipeline(
        PipelineConfig.from_yaml_section([{"filter": {"expression": '|= "x"'}}])
    )
    assert pipeline.process_one(LogRecord(1, "x")) == Drop("filtered")
    assert pipeline.process_one(LogRecord(1, "y")) == LogRecord(1, "y")


def test_apply_pipeline_regroups_streams():
    """Over a push, stages may move entries between streams; dropped ones disappear."""
    pipeline = build_pipeline(
        PipelineConfig.from_yaml_section([{"level": {}}, {"filter": {"expression": '|= "debug"'}}]),
        registry=CollectorRegistry(),
    )
    push = PushRequest(
        "t",
        (
            StreamBatch(
                (("job", "a"),),
                [1, 2, 3],
                ["ERROR boom", "INFO ok", "debug noise"],
                [None, {"k": "v"}, None],
            ),
        ),
    )
    out = apply_pipeline(pipeline, push)
    streams = {s.labels: (list(s.lines), list(s.metadata)) for s in out.streams}
    assert streams == {
        (("job", "a"), ("level", "error")): (["ERROR boom"], [None]),
        (("job", "a"), ("level", "info")): (["INFO ok"], [{"k": "v"}]),
    }


def test_records_are_never_mutated():
    """Stages return new records; the inputs' mappings are unchanged after a full pipeline."""
    labels, metadata, fields = {"job": "a"}, {"m": "1"}, {"service": "x"}
    record = LogRecord(
        1,
        '{"level":"warn","user_id":"u1","trace_id":"t"} bob@example.com',
        labels,
        metadata,
        fields,
    )
    pipeline = build_pipeline(
        PipelineConfig.from_yaml_section(yaml.safe_load(FULL)), registry=CollectorRegistry()
    )
    pipeline.process([record])
    assert (labels, metadata, fields) == ({"job": "a"}, {"m": "1"}, {"service": "x"})
