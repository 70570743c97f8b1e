"""``flightlog push``: files and stdin to a real server; one line and exit 1 on failure."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import orjson

from server.readback import queried_rows


def _push(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flightlog", "push", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _ndjson(count: int) -> bytes:
    base = time.time_ns() - 3600 * 10**9  # recent, so the query API's default limits cover it
    return b"".join(
        orjson.dumps({"ts": base + i, "labels": {"app": "cli"}, "line": f"line {i}"}) + b"\n"
        for i in range(count)
    )


def test_pushes_an_ndjson_file_in_batches_with_extra_labels(flightlog_module_server, tmp_path):
    source = tmp_path / "logs.ndjson"
    source.write_bytes(_ndjson(250))
    url = flightlog_module_server.url
    result = _push(
        str(source),
        "--url",
        url,
        "--tenant",
        "nd",
        "--batch-size",
        "100",
        "--label",
        "env=test",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    rows = queried_rows(url, '{app="cli"}', "nd")
    assert [r[2] for r in rows] == [f"line {i}" for i in range(250)]
    assert {tuple(sorted(r[0].items())) for r in rows} == {(("app", "cli"), ("env", "test"))}


def test_pushes_plain_lines_from_stdin_to_a_tenant(flightlog_module_server):
    url = flightlog_module_server.url
    result = _push(
        "-",
        "--url",
        url,
        "--format",
        "lines",
        "--tenant",
        "t1",
        "-l",
        "job=stdin",
        stdin=b"first\nsecond\n",
    )
    assert result.returncode == 0, result.stderr
    assert "pushed 2 lines" in result.stderr
    rows = queried_rows(url, '{job="stdin"}', "t1")
    assert [(r[0], r[2]) for r in rows] == [
        ({"job": "stdin"}, "first"),
        ({"job": "stdin"}, "second"),
    ]


def test_format_is_detected_from_the_first_line(flightlog_module_server, tmp_path):
    """Without --format, a plain log goes as lines and an NDJSON file as objects."""
    plain = tmp_path / "app.log"
    plain.write_text("\nstarted\n{not json either\n")
    structured = tmp_path / "app.ndjson"
    structured.write_bytes(_ndjson(2))
    url = flightlog_module_server.url
    for path in (plain, structured):
        result = _push(
            str(path), "--url", url, "--tenant", "auto", "--quiet", "--label", "job=auto"
        )
        assert result.returncode == 0, result.stderr
    plain_rows = queried_rows(url, '{job="auto", filename=~".+"}', "auto")
    assert [(r[0]["filename"], r[2]) for r in plain_rows] == [
        (str(plain.resolve()), "started"),
        (str(plain.resolve()), "{not json either"),
    ]
    assert [r[2] for r in queried_rows(url, '{app="cli"}', "auto")] == ["line 0", "line 1"]


def test_server_down_exits_1_with_one_line(tmp_path):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    source = tmp_path / "logs.ndjson"
    source.write_bytes(_ndjson(3))
    result = _push(str(source), "--url", f"http://127.0.0.1:{port}", "--retries", "1", "--quiet")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: cannot reach http://127.0.0.1:{port}/api/v1/push/ndjson")
    assert "gave up after 2 attempts" in lines[0]


def test_rejected_body_exits_1_with_the_server_message(flightlog_module_server, tmp_path):
    source = tmp_path / "not.ndjson"
    source.write_text("this is not json\n")
    result = _push(
        str(source), "--url", flightlog_module_server.url, "--quiet", "--format", "ndjson"
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: server answered 400: line 1: not valid JSON")


def test_missing_file_exits_1(tmp_path):
    result = _push(str(tmp_path / "nope.log"), "--quiet")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: cannot read {tmp_path / 'nope.log'}: No such file or directory"
    )


def test_rotated_gz_and_zst_files_are_decompressed(flightlog_module_server, tmp_path):
    """Compressed backups are recognised by their magic bytes and pushed as their lines."""
    import gzip

    import zstandard

    text = b"".join(f"rotated line {i}\n".encode() for i in range(5))
    compressor = zstandard.ZstdCompressor()
    sources = {
        "gz": gzip.compress(text[:40]) + gzip.compress(text[40:]),  # two members
        "zst": compressor.compress(text[:40]) + compressor.compress(text[40:]),  # two frames
    }
    url = flightlog_module_server.url
    for kind, data in sources.items():
        source = tmp_path / f"app.log.20260101T000000.{kind}"
        source.write_bytes(data)
        result = _push(str(source), "--url", url, "--tenant", "rot", "-l", f"job={kind}", "-q")
        assert result.returncode == 0, result.stderr
        rows = queried_rows(url, f'{{job="{kind}"}}', "rot")
        assert [r[2] for r in rows] == [f"rotated line {i}" for i in range(5)]


def test_a_corrupt_compressed_file_exits_1_with_one_line(tmp_path):
    """A cut-off gzip file stops the push with a line naming the file."""
    import gzip

    source = tmp_path / "cut.log.gz"
    source.write_bytes(gzip.compress(b"line\n" * 1000)[:-20])
    result = _push(str(source), "--url", "http://127.0.0.1:9", "--retries", "0", "--quiet")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot decompress {source}")


def test_a_pushed_run_metrics_file_keeps_its_times_and_run(flightlog_module_server, tmp_path):
    """SDK records keep their own ts and get the run_id label: the run shows in /api/v1/runs."""
    import httpx

    import flightlog

    with flightlog.Run("pushed", config={"lr": 0.1}, dir=tmp_path) as run:
        for step in range(1, 4):
            run.log_batch(step=step, epoch=1, loss=1.0 / step)
        run.log_validation(1, {"loss": 0.4})
    metrics_file = tmp_path / "pushed_metrics.jsonl"
    records = [orjson.loads(line) for line in metrics_file.read_bytes().splitlines()]
    url = flightlog_module_server.url
    result = _push(str(metrics_file), "--url", url, "--tenant", "runs", "--quiet")
    assert result.returncode == 0, result.stderr
    rows = queried_rows(url, f'{{run_id="{run.run_id}"}}', "runs")
    assert [orjson.loads(line) for _, _, line in rows] == records
    # the records' own times, to the nanosecond ("2026-11-23T20:41:40.401000000Z")
    assert [ts for _, ts, _ in rows] == [
        _epoch_ns(r["ts"][:19]) + int(r["ts"][20:29]) for r in records
    ]
    assert {labels["run_id"] for labels, _, _ in rows} == {run.run_id}
    runs = httpx.get(f"{url}/api/v1/runs", headers={"X-Scope-OrgID": "runs"}, timeout=30).json()[
        "data"
    ]
    (shown,) = [r for r in runs if r["run_id"] == run.run_id]
    assert shown["name"] == "pushed" and shown["status"] == "completed"


def _epoch_ns(text: str) -> int:
    import calendar

    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")) * 10**9
