"""Per-entry pipeline stages: parsers, filters and label handling as Loki documents them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlog.errors import QueryError
from flightlog.query import ast
from flightlog.query.entry import Entry
from flightlog.query.parser import parse
from flightlog.query.parsers import parse_logfmt
from flightlog.query.pipeline import Pipeline


def run(
    query: str,
    line: str,
    stream: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
) -> Entry | None:
    expr = parse(query)
    assert isinstance(expr, ast.LogQuery)
    return Pipeline(expr.stages).run(1, line, stream or {"app": "x"}, metadata)


def test_json_flattens_nested_objects_and_skips_arrays() -> None:
    entry = run(
        '{app="x"} | json',
        '{"a": {"b": {"c": 1}}, "list": [1, 2], "t": true, "n": null, "f": 1.5, "bad-key": "v"}',
    )
    assert entry is not None
    assert entry.parsed == {"a_b_c": "1", "t": "true", "n": "", "f": "1.5", "bad_key": "v"}


def test_json_collision_with_stream_and_metadata_gets_extracted_suffix() -> None:
    entry = run('{app="x"} | json', '{"app": "y", "trace_id": "z"}', metadata={"trace_id": "m"})
    assert entry is not None
    assert entry.parsed == {"app_extracted": "y", "trace_id_extracted": "z"}
    assert entry.labels()["app"] == "x" and entry.labels()["trace_id"] == "m"


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '{"a": ', ""])
def test_json_errors_keep_the_line_with_error_label(line: str) -> None:
    entry = run('{app="x"} | json', line)
    assert entry is not None and entry.parsed["__error__"] == "JSONParserErr"


def test_logfmt_quoted_values_bare_keys_and_strict() -> None:
    pairs, error = parse_logfmt('a=1 b="two words" c= d e="x\\"y"', strict=False)
    assert error is None
    assert pairs == [("a", "1"), ("b", "two words"), ("c", ""), ("d", None), ("e", 'x"y')]
    assert run('{app="x"} | logfmt', "a=1 c= d").parsed == {"a": "1"}  # type: ignore[union-attr]
    assert run('{app="x"} | logfmt --keep-empty', "a=1 c= d").parsed == {"a": "1", "c": "", "d": ""}  # type: ignore[union-attr]
    strict = run('{app="x"} | logfmt --strict', 'a=1 b="unterminated')
    assert strict is not None and strict.parsed["__error__"] == "LogfmtParserErr"


def test_logfmt_extraction_renames() -> None:
    entry = run('{app="x"} | logfmt lvl="level"', "level=warn msg=hi")
    assert entry is not None and entry.parsed == {"lvl": "warn"}


def test_unpack_restores_entry_line() -> None:
    entry = run('{app="x"} | unpack', '{"_entry": "original line", "pod": "p1", "n": 3}')
    assert entry is not None and entry.line == "original line" and entry.parsed == {"pod": "p1"}


def test_label_filter_conversion_error_keeps_line_with_error() -> None:
    entry = run('{app="x"} | logfmt | n > 5', "n=abc")
    assert entry is not None and entry.parsed["__error__"] == "LabelFilterErr"
    assert run('{app="x"} | logfmt | n > 5', "other=1") is None


def test_pattern_parser_captures_and_skips() -> None:
    entry = run(
        '{app="x"} | pattern "<ip> - <_> [<ts>] \\"<method> <path> <_>\\""',
        '1.2.3.4 - - [01/Jan] "GET /a HTTP/1.1"',
    )
    assert entry is not None
    assert entry.parsed == {"ip": "1.2.3.4", "ts": "01/Jan", "method": "GET", "path": "/a"}


def test_bad_template_in_pipeline_is_a_query_error() -> None:
    with pytest.raises(QueryError, match="line_format"):
        run('{app="x"} | line_format "{{ nope .a }}"', "x")


@pytest.mark.parametrize(
    ("query", "line", "kept"),
    [
        ('{app="x"} |= ip("192.168.0.0/16")', "from 192.168.4.5:443 ok", True),
        ('{app="x"} |= ip("192.168.0.0/16")', "from 10.1.1.1 ok", False),
        ('{app="x"} != ip("10.0.0.1-10.0.0.9")', "peer 10.0.0.3", False),
        ('{app="x"} |= ip("::1")', "ipv6 [::1]:80", True),
        ('{app="x"} | logfmt | addr = ip("10.0.0.0/8")', "addr=10.2.3.4", True),
        ('{app="x"} | logfmt | addr != ip("10.0.0.0/8")', "addr=11.2.3.4", True),
        ('{app="x"} | logfmt | addr = ip("10.0.0.0/8")', "addr=not-an-ip", False),
    ],
)
def test_ip_filters(query: str, line: str, kept: bool) -> None:
    assert (run(query, line) is not None) is kept


_LOGFMT_ALPHABET = st.sampled_from([*'ab=" \\\t\nxé{}:,', "\u2003", "\x1c"])


@given(st.lists(_LOGFMT_ALPHABET, max_size=40).map("".join), st.booleans())
@settings(max_examples=200, deadline=None)
def test_logfmt_fast_path_equals_the_careful_loop(line: str, strict: bool) -> None:
    from flightlog.query.parsers import _parse_logfmt_slow

    assert parse_logfmt(line, strict) == _parse_logfmt_slow(line, strict)


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(alphabet="ab-1_.é ", max_size=4), inner, max_size=4)
        ),
        max_leaves=12,
    ).filter(lambda v: isinstance(v, dict)),
    st.sampled_from([{"app": "x"}, {"a": "s"}, {"a_b": "s", "b": "t"}]),
)
@settings(max_examples=200, deadline=None)
def test_json_flattening_matches_the_reference(obj: dict, stream: dict) -> None:
    import orjson

    from flightlog.query.entry import sanitize_label_name
    from flightlog.query.parsers import _json_value

    expected = Entry(0, "", stream, {}, {})

    def reference(prefix: str, value: dict) -> None:
        for key, item in value.items():
            name = sanitize_label_name(f"{prefix}_{key}" if prefix else key)
            if isinstance(item, dict):
                reference(name, item)
            elif not isinstance(item, list):
                expected.add_parsed(name, _json_value(item))

    reference("", obj)
    entry = run('{app="x"} | json', orjson.dumps(obj).decode(), stream)
    assert entry is not None
    assert entry.parsed == expected.parsed


@given(st.lists(_LOGFMT_ALPHABET, max_size=40).map("".join), st.booleans())
@settings(max_examples=200, deadline=None)
def test_lenient_logfmt_stage_matches_the_careful_loop(line: str, keep_empty: bool) -> None:
    from flightlog.query.entry import sanitize_label_name
    from flightlog.query.parsers import _parse_logfmt_slow

    expected = Entry(0, line, {"app": "x"}, {}, {})
    for key, value in _parse_logfmt_slow(line, strict=False)[0]:
        if value is None or value == "":
            if not keep_empty:
                continue
            value = ""
        expected.add_parsed(sanitize_label_name(key), value)
    entry = run('{app="x"} | logfmt' + (" --keep-empty" if keep_empty else ""), line)
    assert entry is not None and entry.parsed == expected.parsed
