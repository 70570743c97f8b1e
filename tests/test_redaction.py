"""The shared secret patterns: no generated secret of any kind survives the pipeline's
``Scrubber`` or the SDK's ``Redactor``, and both hide it in the same words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlog.redaction import BUILTIN_PATTERNS, DEFAULT_KINDS, Scrubber, luhn_valid
from flightlog.sdk.processors import Redactor

# Separators that cannot glue onto a secret (no word characters touching it).
filler = st.lists(
    st.sampled_from([" ", "\t", ",", ";", "|", "(", ")", "[", "]", "\n", " ok ", " é ", " 日本 "]),
    max_size=8,
).map("".join)


def _luhn_complete(prefix: str) -> str:
    for check in "0123456789":
        if luhn_valid(prefix + check):
            return prefix + check
    raise AssertionError("unreachable")


def _grouped(digits: str, separator: str) -> str:
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


_token = st.from_regex(r"[A-Za-z0-9\-._~+/]{8,40}", fullmatch=True)
_value = st.from_regex(r"[A-Za-z0-9!#$%()*+./:<>?@^_`{|~\-]{4,30}", fullmatch=True)

# kind -> (text that carries the secret, the part of it that must not survive)
SECRETS: dict[str, st.SearchStrategy[tuple[str, str]]] = {
    "bearer": _token.map(lambda t: (f"Bearer {t}", t)),
    "api_key": st.one_of(
        st.from_regex(r"sk-[A-Za-z0-9]{20,40}", fullmatch=True),
        st.from_regex(r"(sk|pk|rk)_(live|test)_[A-Za-z0-9]{8,30}", fullmatch=True),
        st.from_regex(r"AKIA[0-9A-Z]{16}", fullmatch=True),
        st.from_regex(r"gh[pousr]_[A-Za-z0-9]{20,40}", fullmatch=True),
        st.from_regex(r"xox[abprs]-[A-Za-z0-9\-]{10,30}", fullmatch=True),
        st.from_regex(r"hf_[A-Za-z0-9]{20,40}", fullmatch=True),
    ).map(lambda key: (key, key)),
    "secret_assignment": st.tuples(
        st.sampled_from(["password", "PASSWD", "pwd", "secret", "token", "api_key", "apiKey"]),
        st.sampled_from(["=", ": ", '": "', "='", " = "]),
        st.one_of(_value, _token.map(lambda t: f"Bearer {t}")),
    ).map(lambda parts: ("".join(parts), parts[2].removeprefix("Bearer "))),
    "email": st.emails().map(lambda e: (e, e)),
    "ipv4": st.ip_addresses(v=4).map(lambda a: (str(a), str(a))),
    "ipv6": st.ip_addresses(v=6)
    .filter(lambda a: a.ipv4_mapped is None)
    .map(lambda a: (str(a), str(a))),
    "card": st.tuples(
        st.from_regex(r"(4[0-9]{14}|5[1-5][0-9]{13}|3[47][0-9]{12}|6011[0-9]{11})", fullmatch=True),
        st.sampled_from(["", " ", "-"]),
    ).map(lambda parts: (_grouped(_luhn_complete(parts[0]), parts[1]),) * 2),
}
assert set(SECRETS) == set(BUILTIN_PATTERNS) == set(DEFAULT_KINDS)

kinds = st.sampled_from(sorted(SECRETS))
secrets = kinds.flatmap(lambda kind: SECRETS[kind])
SCRUBBER = Scrubber()
REDACTOR = Redactor()


@settings(max_examples=300, deadline=None)
@given(before=filler, secret=secrets, after=filler)
def test_no_secret_survives_the_scrubber(before: str, secret: tuple[str, str], after: str) -> None:
    """Every kind, between any separators, is gone from a scrubbed text."""
    text, body = secret
    assert body not in SCRUBBER.scrub(before + text + after)


@settings(max_examples=150, deadline=None)
@given(
    before=filler,
    secret=secrets,
    after=filler,
    place=st.sampled_from(["msg", "extra", "nested_dict", "nested_list", "tuple"]),
)
def test_no_secret_survives_the_sdk_redactor(
    before: str, secret: tuple[str, str], after: str, place: str
) -> None:
    """Wherever a secret sits in an event, the SDK's default Redactor hides it, as the
    pipeline's Scrubber does."""
    text, body = secret
    carried = before + text + after
    event: dict[str, object] = {"level": "INFO", "msg": "hello", "step": 3}
    if place == "msg":
        event["msg"] = carried
    elif place == "extra":
        event["note"] = carried
    elif place == "nested_dict":
        event["request"] = {"headers": {"x-note": carried}, "n": 1}
    elif place == "nested_list":
        event["items"] = [1, {"deep": [carried]}]
    else:
        event["pair"] = ("a", carried)
    out = REDACTOR(event)
    assert body not in repr(out)
    assert REDACTOR.redact_text(carried) == SCRUBBER.scrub(carried)


@settings(max_examples=50, deadline=None)
@given(texts=st.lists(st.tuples(filler, secrets, filler).map(lambda t: t[0] + t[1][0] + t[2])))
def test_redactor_scans_an_event_as_each_string_alone(texts: list[str]) -> None:
    """Scanning every string of an event at once gives what scanning each alone gives."""
    out = REDACTOR({f"k{i}": text for i, text in enumerate(texts)})
    assert list(out.values()) == [SCRUBBER.scrub(text) for text in texts]


def test_assignment_of_a_bearer_token_hides_the_token() -> None:
    """`token: Bearer abc` hides `abc`, not just the word Bearer."""
    assert SCRUBBER.scrub("token: Bearer abc.def x") == "token: [REDACTED] x"


def test_over_long_email_is_hidden_whole() -> None:
    """A local part longer than 64 characters leaves nothing of it readable."""
    assert SCRUBBER.scrub("to " + "a" * 80 + "@example.com") == "to [EMAIL]"


def test_sdk_can_leave_ip_addresses_readable() -> None:
    """IPs are redacted by default; a Redactor without the IP kinds keeps them."""
    line = "peer 10.0.0.5 and fe80::1 rank 3"
    assert Redactor().redact_text(line) == "peer [IP] and [IP] rank 3"
    no_ips = Redactor(kinds=[k for k in DEFAULT_KINDS if k not in ("ipv4", "ipv6")])
    assert no_ips.redact_text(line) == line
    assert Redactor(cards=False).redact_text("card 4111 1111 1111 1111") == (
        "card 4111 1111 1111 1111"
    )


def test_surrogates_and_oversize_strings_in_an_event() -> None:
    """Lone surrogates and huge strings are scanned without raising."""
    out = Redactor()({"a": "\ud800 bob@example.com", "b": "x" * 200_000 + " 10.1.2.3"})
    assert "bob@example.com" not in out["a"] and out["b"].endswith(" [IP]")


@pytest.mark.parametrize(
    "patterns",
    [[r"^id-[0-9]+"], [r"secret$"], [r"\Arun-\d+"], [r"k[^\n]*\z"], [r"a|^b"], [r"x\s"]],
)
def test_custom_patterns_match_as_in_each_text_alone(patterns: list[str]) -> None:
    """A custom pattern anchored at a text's start or end (or one that takes in a newline)
    redacts in a batch, and in an event, what it redacts in each text alone."""
    texts = ["id-42 x", "a secret", "run-7 ok", "b k v", "ax", "x y", "plain"]
    scrubber = Scrubber(kinds=[], patterns=patterns)
    alone = [scrubber.scrub(text) for text in texts]
    assert alone != texts
    assert scrubber.scrub_many(texts) == alone
    out = Redactor(patterns=patterns)({str(i): text for i, text in enumerate(texts)})
    assert list(out.values()) == [Scrubber(patterns=patterns).scrub(text) for text in texts]
