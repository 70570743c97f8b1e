"""Parser stages: json, logfmt, regex, pattern, grok."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flightlog.errors import ConfigError
from flightlog.pipeline import LogRecord
from flightlog.pipeline.grok import GrokStage, expand_grok
from flightlog.pipeline.parse import JsonStage, LogfmtStage, PatternStage, RegexStage, parse_logfmt

GARBAGE = ["", "{", "{]", "\x00\xff", "=" * 10_000, '"unterminated', "<<>>", "{" * 5000, "\ud800"]


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ('{"a": 1, "b": "x"}', {"a": 1, "b": "x"}),
        ('  {"a": true}', {"a": True}),
        ('{"req": {"method": "GET", "path": "/x"}}', {"req_method": "GET", "req_path": "/x"}),
        ('{"tags": [1, 2]}', {"tags": "[1,2]"}),
        ("plain text", {}),
    ],
)
def test_json_extracts_fields(line, fields):
    """JSON objects become fields; nested keys join with _; lists stay JSON text."""
    assert dict(JsonStage()(LogRecord(1, line)).fields) == fields


@pytest.mark.parametrize(("line", "errors"), [('{"a": ', 1), ("{not json}", 1), ("[1, 2]", 0)])
def test_json_counts_an_error_for_broken_json_and_passes_the_record(line, errors):
    """A line that starts like a JSON object but is not one passes unchanged and counts an error."""
    stage = JsonStage()
    record = LogRecord(1, line)
    assert stage(record) is record
    assert stage.errors == errors


def test_json_does_not_mutate_its_input():
    """The input record's fields mapping is copied, never changed."""
    fields = {"x": 1}
    record = LogRecord(1, '{"a": 2}', fields=fields)
    out = JsonStage()(record)
    assert fields == {"x": 1} and dict(out.fields) == {"x": 1, "a": 2}


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ("level=info msg=hello", {"level": "info", "msg": "hello"}),
        ('msg="hello world" n=3', {"msg": "hello world", "n": "3"}),
        ('msg="say \\"hi\\"" empty=', {"msg": 'say "hi"', "empty": ""}),
        ("no pairs here", {}),
        ('{"json": 1} a=b', {}),
    ],
)
def test_logfmt_extracts_pairs(line, fields):
    """logfmt pairs become fields, quoted values unquoted; JSON lines are left to json."""
    assert dict(LogfmtStage()(LogRecord(1, line)).fields) == fields


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
        st.text(st.characters(codec="utf-8", exclude_characters='"\\\n'), max_size=20),
        max_size=5,
    )
)
def test_logfmt_round_trips_quoted_values(pairs):
    """Any key/value set written as logfmt with quoted values reads back the same."""
    line = " ".join(f'{k}="{v}"' for k, v in pairs.items())
    assert parse_logfmt(line) == pairs


def test_regex_extracts_named_groups():
    """Named groups of an RE2 expression become fields."""
    stage = RegexStage(r"took (?P<ms>\d+)ms status=(?P<status>\d+)")
    assert dict(stage(LogRecord(1, "GET / took 12ms status=200")).fields) == {
        "ms": "12",
        "status": "200",
    }


def test_regex_reads_a_field_when_given_a_source():
    """With source set, the regex runs over that field."""
    stage = RegexStage(r"(?P<user>\w+)@", source="email")
    record = LogRecord(1, "x", fields={"email": "bob@example.com"})
    assert stage(record).fields["user"] == "bob"


@pytest.mark.parametrize("expression", ["(", "no groups here", "(?P<a>x"])
def test_regex_rejects_bad_expressions(expression):
    """Invalid RE2, or no named group, is a ConfigError."""
    with pytest.raises(ConfigError):
        RegexStage(expression)


@pytest.mark.parametrize(
    ("pattern", "line", "fields"),
    [
        ('<ip> - - [<_>] "<method> <path> <_>" <status> <_>',
         '10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "GET /api/v1 HTTP/1.1" 200 512',
         {"ip": "10.0.0.1", "method": "GET", "path": "/api/v1", "status": "200"}),
        ("level=<level> <msg>", "level=warn disk almost full", {"level": "warn", "msg": "disk almost full"}),
        ("<a> <b>", "onlyone", {}),
    ],
)  # fmt: skip
def test_pattern_extracts_like_loki(pattern, line, fields):
    """Loki pattern syntax: <name> captures up to the next literal, <_> skips."""
    assert dict(PatternStage(pattern)(LogRecord(1, line)).fields) == fields


@pytest.mark.parametrize("pattern", ["no captures", "<a><b>", "<a> <a>"])
def test_pattern_rejects_bad_expressions(pattern):
    """No capture, touching captures or a repeated name are ConfigErrors."""
    with pytest.raises(ConfigError):
        PatternStage(pattern)


@pytest.mark.parametrize(
    ("name", "line", "expected"),
    [
        ("NGINX_ACCESS",
         '192.168.1.7 - - [10/Oct/2024:13:55:36 +0000] "POST /predict HTTP/1.1" 503 17 "-" "curl/8.0"',
         {"remote_addr": "192.168.1.7", "method": "POST", "path": "/predict", "status": "503", "http_user_agent": "curl/8.0"}),
        ("APACHE_COMMON", '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326',
         {"client": "127.0.0.1", "auth": "frank", "status": "200", "bytes": "2326"}),
        ("SYSLOG_RFC3164", "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed",
         {"priority": "34", "hostname": "mymachine", "appname": "su", "procid": "123", "message": "'su root' failed"}),
        ("SYSLOG_RFC5424", '<165>1 2003-10-11T22:14:15.003Z host app 42 ID47 [exampleSDID@32473 iut="3"] hello',
         {"priority": "165", "hostname": "host", "appname": "app", "procid": "42", "msgid": "ID47", "message": "hello"}),
        ("PYTHON_LOGGING", "WARNING:torch.distributed:NCCL timeout", {"level": "WARNING", "logger": "torch.distributed", "message": "NCCL timeout"}),
        ("PYTHON_LOGGING_ASCTIME", "2024-05-01 10:00:00,123 - trainer - ERROR - CUDA out of memory",
         {"asctime": "2024-05-01 10:00:00,123", "logger": "trainer", "level": "ERROR", "message": "CUDA out of memory"}),
        ("K8S_CRI", "2023-10-06T00:17:09.669794202Z stdout F epoch 3 done",
         {"time": "2023-10-06T00:17:09.669794202Z", "stream": "stdout", "flags": "F", "message": "epoch 3 done"}),
    ],
)  # fmt: skip
def test_grok_library_reads_real_formats(name, line, expected):
    """Each named whole-line format extracts its fields from a real example."""
    fields = GrokStage(name)(LogRecord(1, line)).fields
    assert {k: fields.get(k) for k in expected} == expected


def test_grok_composes_references_with_fields():
    """%{NAME:field} captures; custom patterns extend the library."""
    stage = GrokStage("%{IP:client} %{RUNID:run}", custom_patterns={"RUNID": r"r[0-9]+"})
    assert dict(stage(LogRecord(1, "10.1.2.3 r42")).fields) == {"client": "10.1.2.3", "run": "r42"}


def test_grok_unknown_reference_names_the_choices():
    """An unknown %{NAME} is a ConfigError listing what exists."""
    with pytest.raises(ConfigError, match="NOPE"):
        expand_grok("%{NOPE}")


@pytest.mark.parametrize(
    "stage",
    [
        JsonStage(),
        LogfmtStage(),
        RegexStage(r"(?P<a>\d+)"),
        PatternStage("<a> <b>"),
        GrokStage("NGINX_ACCESS"),
    ],
    ids=["json", "logfmt", "regex", "pattern", "grok"],
)
@pytest.mark.parametrize("line", GARBAGE)
def test_parsers_survive_garbage(stage, line):
    """Garbage, oversize and truncated input never raises; the record passes on."""
    out = stage(LogRecord(1, line))
    assert isinstance(out, LogRecord) and out.line == line


@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    '{"a": 1}',
                    '{"n": {"x": [1]}}',
                    "{bad",
                    "[1]",
                    'k=v q="a b" e=',
                    '  {"s": "t"}',
                    "",
                ]
            ),
            st.text(max_size=40),
        ),
        max_size=20,
    )
)
def test_batch_path_equals_record_path(lines):
    """json and logfmt give the same records (and error counts) in batches as one by one."""
    for make in (JsonStage, LogfmtStage):
        one, many = make(), make()
        records = [
            LogRecord(i, line, fields={"pre": "x"} if i % 2 else {}) for i, line in enumerate(lines)
        ]
        assert many.process_batch(records) == [one(record) for record in records]
        assert many.errors == one.errors
