"""Loki's template functions, each against the output its documentation gives or implies.

Expected values come from Loki's "LogQL template functions" page (and, where Loki defers to
them, the Go ``time``/``regexp``/``fmt`` and Sprig documentation), worked out by hand.
"""

from __future__ import annotations

import time
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from flightlog.query import template_functions
from flightlog.query.template import TemplateError, compile_template

# 2021-11-02T00:00:00.123456789Z
TS_NS = 1_635_811_200_123_456_789
LABELS = {
    "path": "my path here",
    "from": "1679577215",
    "multi": "a\nb",
    "json": '{"foo": 55, "bar": [1, "x"]}',
    "queries": '[{"query": "a"}, {"query": "b"}]',
    "list": "[1, 2]",
    "size": "1.5KiB",
    "err": "other",
    "nowEpoch": "100",
    "createDateEpoch": "40",
    "url": "a b&c=d/é",
}


@pytest.fixture(autouse=True)
def _utc_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_functions, "local_zone", lambda: UTC)


def render(source: str) -> str:
    return compile_template(source).render(LABELS, "XYZ and XYZ", TS_NS)


CASES = [
    # dates and times
    ("{{ __timestamp__ }}", "2021-11-02 00:00:00.123456789 +0000 UTC"),
    ('{{ __timestamp__ | date "2006-01-02T15:04:05.00Z07:00" }}', "2021-11-02T00:00:00.12Z"),
    ("{{ __timestamp__ | unixEpoch }}", "1635811200"),
    ("{{ __timestamp__ | unixEpochMillis }}", "1635811200123"),
    ("{{ __timestamp__ | unixEpochNanos }}", "1635811200123456789"),
    ('{{ date "2006-01-02" 1635811200 }}', "2021-11-02"),
    ('{{ toDateInZone "2006-01-02" "UTC" "2021-11-02" | unixEpoch }}', "1635811200"),
    ('{{ toDate "2006-01-02" "2021-11-02" | unixEpochMillis }}', "1635811200000"),
    ('{{ unixEpoch (toDate "2006-01-02" "2021-11-02") }}', "1635811200"),
    (
        '{{ toDateInZone "2006-01-02 15:04" "Europe/Berlin" "2021-11-02 01:00" | unixEpoch }}',
        "1635811200",
    ),
    (
        '{{ toDateInZone "2006-01-02T15:04:05Z07:00" "UTC" "2021-11-02T02:00:00+02:00"'
        " | unixEpoch }}",
        "1635811200",
    ),
    (
        '{{ toDateInZone "2006-01-02T15:04:05.999999999Z" "UTC" "2021-11-02T00:00:00.5Z"'
        " | unixEpochMillis }}",
        "1635811200500",
    ),
    ('{{ toDate "2006-01-02" "not a date" | unixEpoch }}', "-62135596800"),  # Go's zero time
    ('from="{{ date "2006-01-02" (unixToTime .from) }}"', 'from="2023-03-23"'),
    ('{{ unixToTime "1679577215000" | unixEpoch }}', "1679577215"),
    ('{{ unixToTime "1679577215000000" | unixEpoch }}', "1679577215"),
    ('{{ unixToTime "1679577215000000000" | unixEpochNanos }}', "1679577215000000000"),
    ('{{ unixToTime "19439" | unixEpoch }}', "1679529600"),  # days
    ("{{ sub .nowEpoch .createDateEpoch }}", "60"),
    # strings
    ('{{ .path | replace " " "_" | trunc 5 | upper }}', "MY_PA"),
    ('{{ trunc 5 "hello world" }}', "hello"),
    ('{{ trunc -5 "hello world" }}', "world"),
    ('{{ repeat 3 "hello" }}', "hellohellohello"),
    ('{{ substr 0 5 "hello world" }}', "hello"),
    ('{{ substr 6 11 "hello world" }}', "world"),
    ('{{ substr -1 5 "hello world" }}', "hello"),
    ('{{ substr 6 -1 "hello world" }}', "world"),
    ('{{ substr 6 99 "hello world" }}', "world"),
    ('{{ alignLeft 5 "hello world" }}', "hello"),
    ('{{ alignLeft 5 "hi" }}', "hi   "),
    ('{{ alignRight 5 "hello world" }}', "world"),
    ('{{ alignRight 5 "hi" }}', "   hi"),
    ('{{ abbrev 5 "hello world" }}', "he..."),
    ('{{ abbrevboth 5 10 "1234 5678 9123" }}', "...5678..."),
    ("{{ indent 4 .multi }}", "    a\n    b"),
    ("{{ nindent 4 .multi }}", "\n    a\n    b"),
    ('{{ b64enc "hello" }}', "aGVsbG8="),
    ('{{ "aGVsbG8=" | b64dec }}', "hello"),
    ("{{ urlencode .url }}", "a+b%26c%3Dd%2F%C3%A9"),
    ('{{ urldecode "a+b%26c%3Dd%2F%C3%A9" }}', "a b&c=d/é"),
    ("{{ fromJson .json }}", "map[bar:[1 x] foo:55]"),
    ('{{ fromJson "not json" }}', ""),
    ('{{ bytes "42 MB" }}', "42000000"),
    ("{{ .size | bytes }}", "1536"),
    ('{{ duration "1h30m" }}', "5400"),
    ('{{ "300ms" | duration_seconds }}', "0.3"),
    ('{{ duration_seconds "-1.5h" }}', "-5400"),
    ('{{ default "-" "" }}', "-"),
    ('{{ default "-" "foo" }}', "foo"),
    ("{{ .missing | default `-` }}", "-"),
    ('{{ trimAll "$" "$5.00" }}', "5.00"),
    ('{{ title "hello world" }}', "Hello World"),
    # logic
    ('{{ contains "he" "hello" }}', "true"),
    ('{{ if hasPrefix "he" "hello" }} yes {{end}}', " yes "),
    ('{{ if hasSuffix "lo" "hello" }} yes {{end}}', " yes "),
    ('{{ hasPrefix "hello" "he" }}', "false"),
    ('{{ if and (contains "he" "hello") (contains "llo" "hello") }} yes {{end}}', " yes "),
    (
        '{{ if contains "ErrTimeout" .err }} timeout {{else if contains "he" "hello"}} yes'
        " {{else}} no {{end}}",
        " yes ",
    ),
    ('{{ if eq .err "x" }}a{{ else if eq .err "y" }}b{{ else }}c{{ end }}', "c"),
    # numbers
    ("{{ add 3 2 5 }}", "10"),
    ("{{ addf 3.5 2 5 }}", "10.5"),
    ("{{ ceil 123.001 }}", "124"),
    ("{{ floor 123.9999 }}", "123"),
    ("{{ div 10 2 }}", "5"),
    ("{{ div 7 -2 }}", "-3"),  # Go's integer division truncates towards zero
    ("{{ div 1 0 }}", ""),  # a run-time error renders nothing
    ("{{ divf 10 2 4 }}", "1.25"),
    ('{{ "3.5" | float64 }}', "3.5"),
    ('{{ "3" | int }}', "3"),
    ("{{ max 1 2 3 }}", "3"),
    ("{{ maxf 1 2.5 3 }}", "3"),
    ("{{ min 1 2 3 }}", "1"),
    ("{{ minf 1 2.5 3 }}", "1"),  # the page prints 1.5, but the smallest of 1, 2.5, 3 is 1
    ("{{ mul 5 2 3 }}", "30"),
    ("{{ mulf 5.5 2 2.5 }}", "27.5"),
    ("{{ mulf 1000 1000 }}", "1e+06"),  # Go's %v of a float64
    ("{{ mod 10 3 }}", "1"),
    ("{{ mod -7 3 }}", "-1"),
    ("{{ round 123.555555 3 }}", "123.556"),
    ("{{ round 123.88571428571 5 .2 }}", "123.88572"),
    ("{{ round 123.88571428571 5 }}", "123.88571"),
    ("{{ sub 5 2 }}", "3"),
    ("{{ subf 5.5 2 1.5 }}", "2"),
    # regular expressions
    ('{{ count "a|b" "abab" }}', "4"),
    ('{{ count "o" "foo" }}', "2"),
    ('{{ __line__ | count "XYZ" }}', "2"),
    ('{{ regexReplaceAll "(a*)bc" "aabc" "${1}a" }}', "aaa"),
    ('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', "-W-xxW-"),
    ('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}', "---"),  # $1W names group "1W"
    ('{{ regexReplaceAll "a(?P<x>x*)b" "-ab-axxb-" "[$x]" }}', "-[]-[xx]-"),
    ('{{ regexReplaceAllLiteral "(ts=)" "ts=1 x" "timestamp=" }}', "timestamp=1 x"),
    ('{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}', "-${1}-${1}-"),
    # range
    ("{{ range $q := fromJson .queries }}[{{ $q.query }}]{{ end }}", "[a][b]"),
    ("{{ range fromJson .list }}{{ . }},{{ end }}", "1,2,"),
    ("{{ range $i, $v := fromJson .list }}{{ $i }}={{ $v }} {{ end }}", "0=1 1=2 "),
    ("{{ range fromJson .json }}<{{ . }}>{{ end }}", "<[1 x]><55>"),  # map values by key
    ('{{ range fromJson "[]" }}x{{ else }}none{{ end }}', "none"),
    ("{{ range fromJson .list }}{{ $.path }};{{ end }}", "my path here;my path here;"),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_function(source: str, expected: str) -> None:
    assert render(source) == expected


def test_date_formats_in_the_server_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_functions, "local_zone", lambda: ZoneInfo("Asia/Tokyo"))
    assert render('{{ __timestamp__ | date "Jan 2 15:04 MST" }}') == "Nov 2 09:00 JST"
    assert render('{{ date "Monday 3PM" (unixToTime "1635811200") }}') == "Tuesday 9AM"


def test_now_is_the_current_time() -> None:
    before = int(time.time())
    value = int(render("{{ now | unixEpoch }}"))
    assert before <= value <= int(time.time())
    assert render('{{ date "2006" now }}') == time.strftime("%Y", time.gmtime())


@pytest.mark.parametrize(
    "source",
    [
        "{{ abbrevx 5 .path }}",
        "{{ (nosuch .path) }}",
        '{{ date "2006" (nosuch) }}',
        "{{ range nosuch }}x{{ end }}",
        "{{ range fromJson .list }}x",
        "{{ .path | alignleft 5 }}",
        "{{ (trunc 2 .path }}",
        "{{ trunc 2 .path) }}",
    ],
)
def test_unknown_functions_and_bad_syntax_fail_at_parse_time(source: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(source)
