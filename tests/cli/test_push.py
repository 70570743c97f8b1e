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
