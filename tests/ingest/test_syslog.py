"""Syslog: the parser on RFC 5424/3164 examples, and util-linux `logger` into a real server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightlog.errors import ConfigError
from flightlog.ingest.syslog import parse_syslog
from flightlog.server.routes.syslog import syslog_config

LOGGER = shutil.which("logger")
needs_logger = pytest.mark.skipif(
    LOGGER is None, reason="util-linux `logger` is not installed (apt-get install -y bsdutils)"
)


@pytest.mark.parametrize(
    ("message", "labels", "line", "metadata"),
    [
        ('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App"] \ufeffAn application event',
         {"facility": "local4", "level": "info", "hostname": "mymachine.example.com", "service_name": "evntslog"},
         "An application event", {"msgid": "ID47", "exampleSDID_iut": "3", "exampleSDID_eventSource": "App"}),
        ("<34>1 2003-10-11T22:14:15.003Z - - - - - hello",
         {"facility": "auth", "level": "critical", "service_name": "syslog"}, "hello", {}),
        ("<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
         {"facility": "auth", "level": "critical", "hostname": "mymachine", "service_name": "su"},
         "'su root' failed", {"timestamp": "Oct 11 22:14:15"}),
        ("<13>Nov  3 01:02:03 trainer[4242]: epoch 3",
         {"facility": "user", "level": "info", "service_name": "trainer"}, "epoch 3", {"procid": "4242", "timestamp": "Nov 3 01:02:03"}),
        ("<191>1 - h a p m - debug", {"facility": "local7", "level": "debug", "hostname": "h", "service_name": "a"}, "debug", {"procid": "p", "msgid": "m"}),
    ],
)  # fmt: skip
def test_parses_rfc5424_and_rfc3164(message, labels, line, metadata):
    """Header fields land on labels, the rest on metadata, MSG on the line."""
    parsed = parse_syslog(message, 7)
    assert (dict(parsed.labels), parsed.line, dict(parsed.metadata)) == (labels, line, metadata)


def test_rfc5424_timestamp_is_used():
    """An RFC 5424 timestamp (with fraction and offset) becomes the entry time."""
    assert (
        parse_syslog("<14>1 2024-01-02T03:04:05.5+01:00 h a - - - x", 7).ts_ns
        == 1704161045_500000000
    )


@pytest.mark.parametrize(
    "garbage", ["", "no pri", "<999>1 x", "<12", "<1>1 \x00\xff", "<" * 5000, "<13>" + "x" * 70000]
)
def test_garbage_becomes_a_line_not_an_error(garbage):
    """Anything that is not syslog is kept as a line, never raises."""
    parsed = parse_syslog(garbage, 7)
    assert parsed.ts_ns in (7,) or parsed.ts_ns > 0


@given(st.text(max_size=300))
def test_parser_total(text):
    """Every string parses to some message."""
    assert isinstance(parse_syslog(text, 1).line, str)


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def syslog_server(flightlog_module_server_factory):  # type: ignore[no-untyped-def]
    tcp, udp = _free_port(socket.SOCK_STREAM), _free_port(socket.SOCK_DGRAM)
    server = flightlog_module_server_factory(
        {
            "syslog": {
                "tcp_port": tcp,
                "udp_port": udp,
                "labels": {"job": "syslog"},
                "flush_interval_secs": 0.05,
            }
        }
    )
    server.tcp_port, server.udp_port = tcp, udp
    return server


def _entries(server, selector: str):  # type: ignore[no-untyped-def]
    now = time.time_ns()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with server.client() as http:
            response = http.get(
                "/loki/api/v1/query_range",
                params={
                    "query": selector,
                    "start": str(now - 3600 * 10**9),
                    "end": str(now + 60 * 10**9),
                },
                headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"},
            )
        result = response.json()["data"]["result"]
        if result:
            return [
                (s["stream"], v[1], (v[2] if len(v) > 2 else {}).get("structuredMetadata", {}))
                for s in result
                for v in s["values"]
            ]
        time.sleep(0.1)
    raise AssertionError(f"nothing for {selector}")


@needs_logger
@pytest.mark.parametrize(
    ("transport", "tag"),
    [
        (["-T", "--octet-count", "--rfc5424"], "tcp-octet"),
        (["-T", "--rfc5424"], "tcp-newline"),
        (["-d", "--rfc5424"], "udp-5424"),
        (["-d", "--rfc3164"], "udp-3164"),
        (["-T", "--rfc3164"], "tcp-3164"),
    ],
)
def test_util_linux_logger_reaches_the_store(syslog_server, transport, tag):
    """`logger` over TCP (octet counting and newline framing) and UDP, RFC 5424 and 3164."""
    port = syslog_server.udp_port if "-d" in transport else syslog_server.tcp_port
    subprocess.run(
        [LOGGER, "-n", "127.0.0.1", "-P", str(port), *transport, "-t", tag, "-p", "local3.err",
         "--", f"disk full on /data ({tag})"],
        check=True,
        timeout=10,
    )  # fmt: skip
    ((labels, line, metadata),) = _entries(syslog_server, f'{{service_name="{tag}"}}')
    assert line == f"disk full on /data ({tag})"
    assert (
        labels["level"] == "error" and labels["facility"] == "local3" and labels["job"] == "syslog"
    )
    if "--rfc5424" in transport:
        assert "timeQuality_tzKnown" in metadata


@needs_logger
def test_many_messages_over_one_tcp_connection(syslog_server):
    """Several octet-counted frames on one connection are all stored."""
    lines = "\n".join(f"message {i}" for i in range(50))
    subprocess.run(
        [LOGGER, "-n", "127.0.0.1", "-P", str(syslog_server.tcp_port), "-T", "--octet-count", "--rfc5424",
         "-t", "bulk"],
        input=lines.encode(), check=True, timeout=10,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while (
        time.monotonic() < deadline and len(_entries(syslog_server, '{service_name="bulk"}')) < 50
    ):
        time.sleep(0.1)
    assert sorted(
        line for _, line, _ in _entries(syslog_server, '{service_name="bulk"}')
    ) == sorted(lines.split("\n"))


def test_bad_syslog_section_is_refused():
    """An unknown key in `syslog:` is a ConfigError naming it (the server refuses to start)."""
    with pytest.raises(ConfigError) as caught:
        syslog_config({"tcp_prot": 1514})
    assert "tcp_prot" in str(caught.value)
