"""Redaction never leaks: secrets embedded anywhere in lines, metadata and fields."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlog.errors import ConfigError
from flightlog.pipeline import LogRecord, PipelineConfig, build_pipeline
from flightlog.pipeline.redact import RedactStage
from flightlog.redaction import Scrubber, hash_value, luhn_valid

# Filler is text that cannot itself glue onto a secret (no word characters touching it).
filler = st.lists(
    st.sampled_from(
        [
            " ",
            "\t",
            ",",
            ";",
            "|",
            "(",
            ")",
            "[",
            "]",
            "<",
            ">",
            "\n",
            " ok ",
            " -- ",
            " é ",
            " 日本 ",
        ]
    ),
    max_size=10,
).map("".join)


def _luhn_complete(prefix: str) -> str:
    for check in "0123456789":
        if luhn_valid(prefix + check):
            return prefix + check
    raise AssertionError("unreachable")


cards = st.from_regex(r"4[0-9]{14}", fullmatch=True).map(_luhn_complete)
emails = st.emails().filter(lambda e: len(e.split("@")[0]) <= 64)
ipv4s = st.ip_addresses(v=4).map(str)
ipv6s = st.ip_addresses(v=6).filter(lambda a: a.ipv4_mapped is None).map(str)
bearers = st.from_regex(r"[A-Za-z0-9\-._~+/]{8,40}", fullmatch=True).map(lambda t: f"Bearer {t}")
api_keys = st.one_of(
    st.from_regex(r"sk-[A-Za-z0-9]{20,40}", fullmatch=True),
    st.from_regex(r"AKIA[0-9A-Z]{16}", fullmatch=True),
    st.from_regex(r"ghp_[A-Za-z0-9]{36}", fullmatch=True),
    st.from_regex(r"hf_[A-Za-z0-9]{30}", fullmatch=True),
    st.from_regex(r"sk_live_[A-Za-z0-9]{24}", fullmatch=True),
)
secrets = st.one_of(cards, emails, ipv4s, ipv6s, bearers, api_keys)


def _secret_body(secret: str) -> str:
    """The part of a secret that must not survive (the token of `Bearer <token>`)."""
    return secret.split(" ", 1)[1] if secret.startswith("Bearer ") else secret


@settings(max_examples=150, deadline=None)
@given(before=filler, secret=secrets, after=filler)
def test_secret_never_survives_in_a_line(before, secret, after):
    """Any generated secret between arbitrary separators is gone from the redacted line."""
    out = Scrubber().scrub(before + secret + after)
    assert _secret_body(secret) not in out


@settings(max_examples=50, deadline=None)
@given(
    items=st.lists(st.tuples(filler, secrets, filler), min_size=1, max_size=20),
    clean=st.lists(filler, max_size=20),
)
def test_batch_scan_matches_one_by_one(items, clean):
    """Scanning a batch at once redacts exactly what scanning each text alone does."""
    texts = [a + s + b for a, s, b in items] + clean
    scrubber = Scrubber()
    assert scrubber.scrub_many(texts) == [scrubber.scrub(text) for text in texts]
    for (_, secret, _), out in zip(items, scrubber.scrub_many(texts), strict=False):
        assert _secret_body(secret) not in out


@settings(max_examples=50, deadline=None)
@given(secret=secrets, key=st.sampled_from(["msg", "note", "user"]))
def test_secret_never_survives_in_metadata_labels_or_promoted_fields(secret, key):
    """Secrets in metadata, labels and fields later promoted are redacted too."""
    pipeline = build_pipeline(
        PipelineConfig.from_yaml_section([{"redact": {}}, {"metadata": {"fields": [key]}}]),
    )
    record = LogRecord(1, "line", {"tag": secret}, {"other": f"x {secret} y"}, {key: secret})
    (out,) = pipeline.process([record])
    body = _secret_body(secret)
    assert body not in out.line
    assert all(body not in value for value in out.labels.values())
    assert all(body not in value for value in out.metadata.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail bob@example.com now", "mail [EMAIL] now"),
        ("from 10.1.2.3:8080", "from [IP]:8080"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [REDACTED]"),
        ("password=hunter2 ok", "password=[REDACTED] ok"),
        ('{"api_key": "s3cr3t"}', '{"api_key": "[REDACTED]"}'),
        ("card 4111 1111 1111 1111 paid", "card [CARD] paid"),
        ("step 1234567890123 done", "step 1234567890123 done"),  # not Luhn-valid: a counter
        ("at 12:30:45 std::vector", "at 12:30:45 std::vector"),
        ("nothing secret", "nothing secret"),
    ],
)
def test_builtin_kinds(text, expected):
    """Each kind is replaced by its marker; look-alikes (counters, times) survive."""
    assert Scrubber().scrub(text) == expected


def test_custom_patterns_and_kind_selection():
    """Custom RE2 patterns are redacted; kinds not chosen are left alone."""
    scrubber = Scrubber(kinds=["email"], patterns=[r"run-[0-9]{4}"])
    assert scrubber.scrub("bob@x.io 10.0.0.1 run-1234") == "[EMAIL] 10.0.0.1 [REDACTED]"


@pytest.mark.parametrize(("kinds", "patterns"), [(["emails"], []), ([], ["("])])
def test_bad_redaction_config(kinds, patterns):
    """Unknown kinds or invalid custom patterns are ConfigErrors."""
    with pytest.raises(ConfigError):
        Scrubber(kinds, patterns)


def test_hash_fields_everywhere_they_appear():
    """A hashed field is replaced in fields, metadata and inside the line, the same way."""
    stage = RedactStage(kinds=[], hash_fields=["user_id"], salt="s")
    record = LogRecord(
        1, '{"user_id":"u123","msg":"hi"}', metadata={"user_id": "u123"}, fields={"user_id": "u123"}
    )
    out = stage(record)
    digest = hash_value("u123", "s")
    assert "u123" not in out.line and digest in out.line
    assert out.metadata["user_id"] == digest and out.fields["user_id"] == digest


@pytest.mark.parametrize(
    "text", ["", "\ud800 bob@example.com", "@" * 10_000, "1" * 10_000, ":" * 5000, "a." * 5000]
)
def test_garbage_and_oversize(text):
    """Surrogates, huge and pathological inputs are scanned (linear time) without raising."""
    out = Scrubber().scrub(text)
    assert "bob@example.com" not in out


def test_ipv6_forms():
    """Full and compressed IPv6 addresses are redacted."""
    for address in [
        "2001:db8::1",
        "::1",
        "fe80::1ff:fe23:4567:890a",
        "2001:0db8:0000:0000:0000:ff00:0042:8329",
    ]:
        assert str(ipaddress.ip_address(address)) not in Scrubber().scrub(f"peer {address} up")
