"""The Go-template subset of line_format / label_format."""

from __future__ import annotations

import pytest

from flightlog.query.template import TemplateError, compile_template

LABELS = {"app": "api", "status": "500", "msg": "  Upstream Timeout  ", "empty": ""}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plain text", "plain text"),
        ("{{.app}}: {{ .status }}", "api: 500"),
        ("{{ .missing }}|", "|"),
        ("{{ .msg | trim | lower }}", "upstream timeout"),
        ("{{ .app | upper }}", "API"),
        ('{{ .empty | default "none" }}', "none"),
        ('{{ printf "%s=%d" .app 7 }}', "api=7"),
        ('{{ if eq .status "500" }}server error{{ else }}fine{{ end }}', "server error"),
        ("{{ if .empty }}yes{{ else }}no{{ end }}", "no"),
        ('{{ replace "a" "o" .app }}', "opi"),
        ('{{ regexReplaceAll "(\\\\d)0+" .status "${1}xx" }}', "5xx"),
        ("{{ __line__ }}", "the line"),
        ("{{ .app -}}   !", "api!"),
        ('{{ trimPrefix "a" .app }}', "pi"),
        ("{{ len .app }}", "3"),
    ],
)
def test_render(source: str, expected: str) -> None:
    assert compile_template(source).render(LABELS, "the line", 0) == expected


@pytest.mark.parametrize(
    "source",
    [
        "{{ .a ",
        "{{ nosuchfunc .a }}",
        "{{ end }}",
        "{{ if .a }}x",
        "{{ }}",
        "{{ .a | }}",
        '{{ printf "%s" nosuchfunc }}',
        "{{ .a | nosuchfunc }}",
    ],
)
def test_garbage_templates_are_rejected(source: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(source)


def test_oversize_template_renders() -> None:
    source = "{{.app}}" * 10_000
    assert compile_template(source).render(LABELS) == "api" * 10_000
