"""Processors: redaction, sampling and level filtering over immutable events."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from types import MappingProxyType

import pytest

from flightlog.sdk.processors import LevelFilter, Redactor, Sampler, luhn_valid, run_processors
from flightlog.testing import capture_records


@pytest.mark.parametrize(
    ("text", "secret", "replacement"),
    [
        ("contact alice.smith+ml@example.co.uk now", "alice.smith+ml@example.co.uk", "[EMAIL]"),
        (
            "Authorization: Bearer eyJhbGciOi.J9-x_y~z/abc==",
            "eyJhbGciOi.J9-x_y~z/abc==",
            "Bearer [REDACTED]",
        ),
        (
            "key sk-proj-ABCDEFGHIJKLMNOP1234 used",
            "sk-proj-ABCDEFGHIJKLMNOP1234",
            "[REDACTED_API_KEY]",
        ),
        ("stripe sk_live_abcdEFGH12345678", "sk_live_abcdEFGH12345678", "[REDACTED_API_KEY]"),
        ("aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "[REDACTED_API_KEY]"),
        (
            "gh ghp_abcdefghijklmnopqrstuvwxyz0123",
            "ghp_abcdefghijklmnopqrstuvwxyz0123",
            "[REDACTED_API_KEY]",
        ),
        (
            "hf token hf_abcdefghijklmnopqrstuvwxyz",
            "hf_abcdefghijklmnopqrstuvwxyz",
            "[REDACTED_API_KEY]",
        ),
        ("password=hunter2 and more", "hunter2", "password=[REDACTED]"),
        ('{"api_key": "abc123xyz"}', "abc123xyz", "[REDACTED]"),
        ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111", "[CARD]"),
        ("card 5500-0000-0000-0004 charged", "5500-0000-0000-0004", "[CARD]"),
    ],
)
def test_redactor_replaces_known_secrets(text: str, secret: str, replacement: str) -> None:
    """Each built-in secret kind is replaced by its marker."""
    redacted = Redactor().redact_text(text)
    assert secret not in redacted
    assert replacement in redacted


def test_non_luhn_digit_runs_are_kept() -> None:
    """Long numbers that fail the Luhn check (step counts, IDs) are not cards."""
    assert Redactor().redact_text("step 1234567890123") == "step 1234567890123"
    assert not luhn_valid("1234567890123")
    assert luhn_valid("4111111111111111")


def test_custom_re2_patterns() -> None:
    """Extra patterns are RE2 and replaced by [REDACTED]."""
    redactor = Redactor(patterns=[r"patient-\d+"])
    assert redactor.redact_text("patient-42 seen") == "[REDACTED] seen"


def test_hash_fields_are_stable_and_salted() -> None:
    """user_id becomes a salted sha256 prefix: equal inputs give equal outputs."""
    first = Redactor(salt="s")({"user_id": 42})
    second = Redactor(salt="s")({"user_id": 42})
    other_salt = Redactor(salt="t")({"user_id": 42})
    assert first == second
    assert first["user_id"].startswith("sha256:") and "42" not in first["user_id"]
    assert first != other_salt


def test_sensitive_field_names_and_nested_values() -> None:
    """Fields named like secrets are blanked; strings nested in dicts/lists are redacted."""
    event = {"password": "p", "Authorization": "x", "nested": {"to": ["a@b.io"]}, "n": 3}
    out = Redactor()(MappingProxyType(event))
    assert out == {
        "password": "[REDACTED]",
        "Authorization": "[REDACTED]",
        "nested": {"to": ["[EMAIL]"]},
        "n": 3,
    }


def test_processors_never_mutate_their_input() -> None:
    """The chain passes read-only views and returns a new dict."""
    event = {"level": "INFO", "msg": "mail a@b.io", "user_id": 1}
    original = dict(event)
    out = run_processors((Redactor(), LevelFilter("DEBUG")), event, {})
    assert event == original
    assert out is not event and out["msg"] == "mail [EMAIL]"


def test_sampler_keeps_warnings_and_is_deterministic_per_trace() -> None:
    """WARNING+ always kept; INFO kept or dropped the same way for every line of a trace."""
    sampler = Sampler(rate=0.3)
    assert sampler({"level": "ERROR", "trace_id": "t"}) is not None
    decisions = {
        f"t{i}": sampler({"level": "INFO", "trace_id": f"t{i}"}) is not None for i in range(2000)
    }
    again = {t: Sampler(rate=0.3)({"level": "DEBUG", "trace_id": t}) is not None for t in decisions}
    assert decisions == again
    kept = sum(decisions.values()) / len(decisions)
    assert 0.25 < kept < 0.35


def test_sampler_without_trace_uses_injected_rng() -> None:
    """Lines without a trace ID are sampled with the given random source."""
    sampler = Sampler(rate=0.5, rng=random.Random(1))
    kept = [sampler({"level": "INFO"}) is not None for _ in range(1000)]
    assert 400 < sum(kept) < 600


def test_sampler_rejects_bad_rate() -> None:
    """A rate outside 0..1 is an error naming the value."""
    with pytest.raises(ValueError, match=r"1\.5"):
        Sampler(rate=1.5)


def test_level_filter_and_drop_counting() -> None:
    """Dropped events are counted under the processor's reason."""
    dropped: dict[str, int] = {}
    assert run_processors((LevelFilter("WARNING"),), {"level": "INFO"}, dropped) is None
    assert run_processors((LevelFilter("WARNING"),), {"level": "ERROR"}, dropped) is not None
    assert dropped == {"level": 1}


def test_capture_records_applies_processors() -> None:
    """capture_records(processors=...) shows what a configured pipeline would emit."""
    with capture_records(processors=[Redactor()]) as records:
        logging.getLogger("x").info("user %s", "bob@example.com")
    assert records[0]["msg"] == "user [EMAIL]"


def test_redactor_hashes_as_the_pipeline_does() -> None:
    """A hashed field joins with the pipeline's hash of the same value and salt."""
    from flightlog.redaction import hash_value

    assert Redactor(salt="s")({"user_id": "u1"})["user_id"] == hash_value("u1", "s")


def test_redactor_handles_field_names_beyond_its_cache() -> None:
    """Past thousands of distinct field names, named fields are still hashed and blanked."""
    redactor = Redactor()
    wide = {f"f{i}": f"v{i} a@b.io" for i in range(5000)}
    out = redactor({**wide, "password": "p", "user_id": "u", "note": None})
    assert out["password"] == "[REDACTED]" and out["user_id"].startswith("sha256:")
    assert out["note"] is None and out["f4999"] == "v4999 [EMAIL]"
    again = redactor({"Password": "p", "user_id": "u", "f1": "x"})
    assert again == {"Password": "[REDACTED]", "user_id": out["user_id"], "f1": "x"}


class _Note:
    """A custom object whose text holds a secret."""

    def __str__(self) -> str:
        return "note for bob@example.com"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"x a@b.com"}, ["x [EMAIL]"]),
        (frozenset({"a@b.com"}), ["[EMAIL]"]),
        (Path("/data/Bearer abcdef123456"), "/data/Bearer [REDACTED]"),
        (ValueError("bad a@b.com"), "bad [EMAIL]"),
        (_Note(), "note for [EMAIL]"),
        (b"to a@b.com", "b'to [EMAIL]'"),
        (({"a@b.com"}, 1), [["[EMAIL]"], 1]),
    ],
    ids=["set", "frozenset", "path", "exception", "custom-object", "bytes", "tuple-of-set"],
)
def test_redactor_writes_non_json_values_as_redacted_text(value: object, expected: object) -> None:
    """Values the encoder would write with str() (or as lists) come out as redacted text."""
    assert Redactor()({"v": value}) == {"v": expected}


def test_redactor_keeps_numbers_dates_and_numeric_numpy_as_they_are() -> None:
    """Values written as themselves, with no text, are not stringified."""
    import datetime as dt

    import numpy as np

    when = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    event = {"n": 4111111111111111, "f": 0.5, "b": True, "when": when, "np": np.float32(0.1)}
    assert Redactor()(event) == event
    assert type(Redactor()(event)["np"]) is np.float32


def test_redactor_walks_dataclasses_and_enums_as_the_encoder_writes_them() -> None:
    """A dataclass becomes its fields and an enum its value, both redacted."""
    import dataclasses
    import enum

    @dataclasses.dataclass
    class Contact:
        email: str

    class Owner(enum.Enum):
        ALICE = "alice@example.com"

    out = Redactor()({"contact": Contact("a@b.com"), "owner": Owner.ALICE})
    assert out == {"contact": {"email": "[EMAIL]"}, "owner": "[EMAIL]"}


def test_redactor_scrubs_field_names() -> None:
    """A secret in a field name, at any depth and of any key type, is replaced too."""
    out = Redactor()(
        {"a@b.com": 1, "nested": {"to sk-ABCDEFGHIJKLMNOPQRSTUV": [{"c@d.io": "x"}]}, 7: "n"}
    )
    assert out == {"[EMAIL]": 1, "nested": {"to [REDACTED_API_KEY]": [{"[EMAIL]": "x"}]}, 7: "n"}
    assert Redactor()({Path("/u/x a@b.com"): 1}) == {"/u/x [EMAIL]": 1}


def test_redactor_hashes_and_blanks_by_the_original_field_name() -> None:
    """hash_fields and drop_fields match the name as given, whatever it is scrubbed to."""
    out = Redactor(hash_fields=("user_id",))({"user_id": 123, "password": 5})
    assert out["user_id"].startswith("sha256:") and out["password"] == "[REDACTED]"
    assert Redactor().changes_field("user_id") and Redactor().changes_field("a@b.com")
    assert not Redactor().changes_field("loss")
