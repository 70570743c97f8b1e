"""The agent against a real HTTP server: tailing, rotation, multiline, outages, .gz."""

from __future__ import annotations

import gzip
import os
import threading
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from flightlog.collect import FileInput, MultilineConfig
from flightlog.collect.metrics import agent_metrics
from flightlog.pipeline.config import PipelineConfig


def _write(path: Path, lines: list[str]) -> None:
    with open(path, "a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def test_ships_lines_of_existing_and_new_files(tmp_path, recording_server, run_agent, fast_config):
    """Lines of files present at start and of files created later all arrive, labelled."""
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "a.log", ["a1", "a2"])
    config = fast_config(
        recording_server.url,
        tmp_path / "state",
        (FileInput((str(logs / "*.log"),), {"job": "train"}),),
    )
    agent = run_agent(config)
    recording_server.wait_for(2)
    _write(logs / "b.log", ["b1"])
    _write(logs / "a.log", ["a3"])
    recording_server.wait_for(4)
    agent.stop()
    assert sorted(recording_server.lines()) == ["a1", "a2", "a3", "b1"]
    labels = {entry[0]["job"] for entry in recording_server.entries}
    assert labels == {"train"}
    filenames = {entry[0]["filename"] for entry in recording_server.entries}
    assert filenames == {str(logs / "a.log"), str(logs / "b.log")}


def test_timestamps_strictly_increase(tmp_path, recording_server, run_agent, fast_config):
    """Every entry gets a distinct, increasing timestamp so none is taken for a duplicate."""
    _write(tmp_path / "x.log", [f"l{i}" for i in range(300)])
    agent = run_agent(
        fast_config(recording_server.url, tmp_path / "s", (FileInput((str(tmp_path / "*.log"),)),))
    )
    recording_server.wait_for(300)
    agent.stop()
    stamps = [entry[1] for entry in recording_server.entries]
    assert stamps == sorted(stamps) and len(set(stamps)) == 300


def _writer(path: Path, total: int, rotate_every: int, mode: str, done: threading.Event) -> None:
    """Write numbered lines fast, rotating by rename or copytruncate every N lines."""
    handle = open(path, "a")  # noqa: SIM115 - reopened at each rotation
    rotation = 0
    for i in range(total):
        handle.write(f"line {i:07d}\n")
        if i % 50 == 49:
            handle.flush()
        if i % rotate_every == rotate_every - 1:
            handle.flush()
            rotation += 1
            if mode == "rename":
                handle.close()
                os.rename(path, f"{path}.{rotation}")
                handle = open(path, "a")  # noqa: SIM115 - reopened at each rotation
            else:
                with open(path, "rb") as source, open(f"{path}.{rotation}", "wb") as copy:
                    copy.write(source.read())
                os.truncate(path, 0)
    handle.close()
    done.set()


@pytest.mark.parametrize("mode", ["rename", "copytruncate"])
def test_rotation_while_writing_delivers_every_line_once(
    tmp_path, recording_server, run_agent, mode, fast_config
):
    """Rotation by rename or copytruncate in the middle of fast writes loses and repeats nothing."""
    path = tmp_path / "train.log"
    path.touch()
    total = 12_000
    agent = run_agent(
        fast_config(recording_server.url, tmp_path / "state", (FileInput((str(path),)),))
    )
    assert agent.agent.ready.wait(10)
    done = threading.Event()
    writer = threading.Thread(target=_writer, args=(path, total, 2_500, mode, done))
    writer.start()
    writer.join()
    recording_server.wait_for(total)
    agent.stop()
    counts = Counter(recording_server.lines())
    repeated = sorted(line for line, count in counts.items() if count > 1)
    assert (total - len(counts), len(repeated)) == (0, 0), (
        f"repeated: {repeated[:3]}...{repeated[-3:]}"
    )


def test_multiline_tracebacks_arrive_whole(tmp_path, recording_server, run_agent, fast_config):
    """A Python traceback after a timestamped line joins it as one entry."""
    path = tmp_path / "app.log"
    traceback = [
        "2024-05-01 10:00:01 ERROR step failed",
        "Traceback (most recent call last):",
        '  File "train.py", line 10, in <module>',
        "    loss.backward()",
        "RuntimeError: CUDA out of memory",
    ]
    _write(path, ["2024-05-01 10:00:00 INFO start", *traceback, "2024-05-01 10:00:02 INFO next"])
    multiline = MultilineConfig(r"^\d{4}-\d{2}-\d{2} ", flush_timeout_secs=0.1)
    agent = run_agent(
        fast_config(
            recording_server.url,
            tmp_path / "state",
            (FileInput((str(path),), multiline=multiline),),
        )
    )
    lines = recording_server.wait_for(3)
    agent.stop()
    assert lines == [
        "2024-05-01 10:00:00 INFO start",
        "\n".join(traceback),
        "2024-05-01 10:00:02 INFO next",
    ]


def test_multiline_respects_max_lines(tmp_path, recording_server, run_agent, fast_config):
    """An entry is cut at max_lines even when no new start line comes."""
    path = tmp_path / "app.log"
    _write(path, ["START"] + [f"  cont {i}" for i in range(9)])
    multiline = MultilineConfig("^START", max_lines=4, flush_timeout_secs=0.1)
    agent = run_agent(
        fast_config(
            recording_server.url,
            tmp_path / "state",
            (FileInput((str(path),), multiline=multiline),),
        )
    )
    lines = recording_server.wait_for(3)
    agent.stop()
    assert [len(line.split("\n")) for line in lines] == [4, 4, 2]


def test_server_down_buffers_then_delivers(tmp_path, recording_server, run_agent, fast_config):
    """Lines written while the server is down are buffered on disk and delivered once it is back."""
    path = tmp_path / "app.log"
    _write(path, ["before"])
    registry = CollectorRegistry()
    agent = run_agent(
        fast_config(recording_server.url, tmp_path / "state", (FileInput((str(path),)),)),
        registry=registry,
    )
    recording_server.wait_for(1)
    recording_server.stop()
    _write(path, [f"offline {i}" for i in range(2000)])
    buffer_dir = tmp_path / "state" / "buffer"
    failed_sends = agent_metrics(registry).send_errors.labels("connection")
    # Bring the server back only once a send has failed with the batch on disk, so the
    # delivery below really comes from the buffer after an outage.
    deadline = 200
    while not (any(buffer_dir.glob("*.batch")) and failed_sends._value.get() >= 1) and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    assert any(buffer_dir.glob("*.batch")), "nothing was buffered while the server was down"
    assert failed_sends._value.get() >= 1, "no send failed while the server was down"
    recording_server.start()
    lines = recording_server.wait_for(2001)
    agent.stop()
    assert Counter(lines) == Counter(["before"] + [f"offline {i}" for i in range(2000)])


def test_buffer_bound_drops_oldest_and_counts(tmp_path, recording_server, run_agent, fast_config):
    """Past the buffer bound the oldest batches go first, their lines counted; the rest arrive."""
    recording_server.stop()
    path = tmp_path / "app.log"
    lines = [f"{i:05d} " + os.urandom(100).hex() for i in range(3000)]
    _write(path, lines)
    registry = CollectorRegistry()
    config = fast_config(
        recording_server.url,
        tmp_path / "state",
        (FileInput((str(path),)),),
        batch_max_bytes=16 * 1024,
        buffer_max_bytes=40 * 1024,
    )
    metrics = agent_metrics(registry)
    agent = run_agent(config, registry=registry)
    size = path.stat().st_size
    positions = tmp_path / "state" / "positions.json"
    deadline = 400
    while deadline and not (positions.exists() and f'"offset":{size}' in positions.read_text()):
        threading.Event().wait(0.05)
        deadline -= 1
    dropped = int(metrics.buffer_dropped_lines._value.get())
    assert dropped > 0
    recording_server.start()
    delivered = recording_server.wait_for(3000 - dropped)
    agent.stop()
    assert len(delivered) == 3000 - dropped
    assert delivered == lines[dropped:]  # the oldest went first


def test_reads_rotated_gz_once(tmp_path, recording_server, run_agent, fast_config):
    """A rotated .gz file is read whole once when asked, and not again after a restart."""
    with gzip.open(tmp_path / "old.log.1.gz", "wt") as handle:
        handle.write("old 1\nold 2\n")
    _write(tmp_path / "new.log", ["new 1"])
    inputs = (FileInput((str(tmp_path / "*.log"), str(tmp_path / "*.gz")), read_gz=True),)
    agent = run_agent(fast_config(recording_server.url, tmp_path / "state", inputs))
    recording_server.wait_for(3)
    agent.stop()
    agent = run_agent(fast_config(recording_server.url, tmp_path / "state", inputs))
    _write(tmp_path / "new.log", ["new 2"])
    recording_server.wait_for(4)
    agent.stop()
    assert sorted(recording_server.lines()) == ["new 1", "new 2", "old 1", "old 2"]


def test_restart_resumes_without_loss_or_duplicates(
    tmp_path, recording_server, run_agent, fast_config
):
    """A stopped and restarted agent continues after the last line it shipped."""
    path = tmp_path / "app.log"
    _write(path, [f"first {i}" for i in range(100)])
    config = fast_config(recording_server.url, tmp_path / "state", (FileInput((str(path),)),))
    agent = run_agent(config)
    recording_server.wait_for(100)
    agent.stop()
    _write(path, [f"second {i}" for i in range(100)])
    agent = run_agent(config)
    recording_server.wait_for(200)
    agent.stop()
    assert Counter(recording_server.lines()) == Counter(
        [f"first {i}" for i in range(100)] + [f"second {i}" for i in range(100)]
    )


def test_pipeline_runs_before_shipping(tmp_path, recording_server, run_agent, fast_config):
    """Configured stages (parse, level, redact) apply to what is shipped."""
    path = tmp_path / "app.log"
    _write(path, ['{"level":"WARN","msg":"mail bob@example.com"}', "level=debug msg=healthz"])
    pipeline = PipelineConfig.from_yaml_section(
        [
            {"json": {}},
            {"logfmt": {}},
            {"level": {}},
            {"filter": {"expression": '|= "healthz"'}},
            {"redact": {}},
        ]
    )
    agent = run_agent(
        fast_config(
            recording_server.url, tmp_path / "s", (FileInput((str(path),)),), pipeline=pipeline
        )
    )
    recording_server.wait_for(1)
    agent.stop()
    assert len(recording_server.entries) == 1
    labels, _, line, _ = recording_server.entries[0]
    assert labels["level"] == "warning"
    assert "bob@example.com" not in line and "[EMAIL]" in line


def test_metrics_port_serves_agent_and_pipeline_counters(
    tmp_path, recording_server, run_agent, fast_config
):
    """With metrics_port set, /metrics shows lines read and sent and the pipeline's stage counters."""
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "app.log"
    _write(path, ["GET /healthz", "real work"])
    pipeline = PipelineConfig.from_yaml_section([{"filter": {"expression": '|= "healthz"'}}])
    registry = CollectorRegistry()
    config = fast_config(
        recording_server.url,
        tmp_path / "s",
        (FileInput((str(path),)),),
        pipeline=pipeline,
        metrics_port=port,
    )
    agent = run_agent(config, registry=registry)
    recording_server.wait_for(1)
    deadline = 100
    text = ""
    while deadline and "flightlog_collect_sent_lines_total 1.0" not in text:
        threading.Event().wait(0.05)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        deadline -= 1
    agent.stop()
    assert "flightlog_collect_read_lines_total 2.0" in text
    assert "flightlog_collect_sent_lines_total 1.0" in text
    assert (
        'flightlog_pipeline_dropped_records_total{pipeline="collect",reason="filtered",stage="0:filter"} 1.0'
        in text
    )


def test_garbage_in_the_buffer_is_set_aside(tmp_path, recording_server, run_agent, fast_config):
    """An unreadable spool file does not stop the agent; it is moved aside and the rest ships."""
    buffer = tmp_path / "state" / "buffer"
    buffer.mkdir(parents=True)
    (buffer / "0000000000000001.batch").write_bytes(b"\x00garbage\nmore")
    (tmp_path / "state" / "positions.json").write_text('{"seq": 0, "files": {}}')
    _write(tmp_path / "a.log", ["fine"])
    agent = run_agent(
        fast_config(
            recording_server.url, tmp_path / "state", (FileInput((str(tmp_path / "a.log"),)),)
        )
    )
    recording_server.wait_for(1)
    agent.stop()
    assert recording_server.lines() == ["fine"]
    assert (buffer / "0000000000000001.corrupt").exists()


def test_garbage_positions_file_names_the_fix(tmp_path, fast_config):
    """A corrupt positions.json is a ConfigError saying what to do."""
    from flightlog.collect import Agent
    from flightlog.errors import ConfigError

    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "positions.json").write_text("{nope")
    with pytest.raises(ConfigError, match="move it away"):
        Agent(
            fast_config("http://127.0.0.1:1", tmp_path / "state", ()), registry=CollectorRegistry()
        )


def test_two_agents_cannot_share_a_data_dir(tmp_path, fast_config):
    """A second agent on the same data dir is refused with what to do."""
    from flightlog.collect import Agent
    from flightlog.errors import ConfigError

    config = fast_config("http://127.0.0.1:1", tmp_path / "state", ())
    first = Agent(config, registry=CollectorRegistry())
    with pytest.raises(ConfigError, match="own --data-dir"):
        Agent(config, registry=CollectorRegistry())
    assert first.ready is not None


def test_multiline_java_stack_trace_arrives_whole(
    tmp_path, recording_server, run_agent, fast_config
):
    """A Java stack trace with a `Caused by:` chain is one entry; so is each line around it."""
    path = tmp_path / "server.log"
    trace = [
        "2024-05-01 10:00:01,123 ERROR [main] c.e.Trainer - step failed",
        "java.lang.IllegalStateException: checkpoint missing",
        "\tat com.example.Trainer.load(Trainer.java:42)",
        "Caused by: java.io.FileNotFoundException: /ckpt/step-100",
        "\t... 2 more",
    ]
    _write(path, ["2024-05-01 10:00:00,000 INFO [main] start", *trace])
    multiline = MultilineConfig(r"^\d{4}-\d{2}-\d{2} ", flush_timeout_secs=0.1)
    agent = run_agent(
        fast_config(
            recording_server.url,
            tmp_path / "state",
            (FileInput((str(path),), multiline=multiline),),
        )
    )
    lines = recording_server.wait_for(2)  # the trace leaves on the idle flush
    agent.stop()
    assert lines == ["2024-05-01 10:00:00,000 INFO [main] start", "\n".join(trace)]


def test_path_labels_match_relative_globs(
    tmp_path, recording_server, run_agent, fast_config, monkeypatch
):
    """An absolute path_labels template matches files the agent found by a relative glob."""
    monkeypatch.chdir(tmp_path)  # the glob below is relative to the working directory
    (tmp_path / "logs" / "svc").mkdir(parents=True)
    _write(tmp_path / "logs" / "svc" / "app.log", ["hello"])
    pipeline = PipelineConfig.from_yaml_section(
        [{"path_labels": {"template": f"{tmp_path}/logs/{{service}}/app.log"}}]
    )
    agent = run_agent(
        fast_config(
            recording_server.url,
            tmp_path / "state",
            (FileInput(("logs/*/app.log",)),),
            pipeline=pipeline,
        )
    )
    recording_server.wait_for(1)
    agent.stop()
    labels = recording_server.entries[0][0]
    assert labels["service"] == "svc"
    assert labels["filename"] == "logs/svc/app.log"
