"""The one set of secret patterns flightlog redacts, shared by the SDK and the pipeline.

A shared leaf like ``flightlog.model``: the SDK (in user code) and the pipeline (in the
agent and the server) both redact with these, so a secret hidden by one is hidden by
the other, in the same words. ``Scrubber`` compiles the chosen kinds into ONE
alternation, so a text without secrets costs one scan whatever the number of kinds.

Patterns are RE2 (google-re2): linear time whatever the input, so neither ours nor a
user's can hang the agent or the server. The binding costs ~2 µs per call, more than
the scan of a typical line, so ``scrub_many`` scans a whole batch joined into one text
and rewrites only the texts a match falls in; scans run over UTF-8 bytes, which the
binding handles without mapping offsets back to characters.

Kinds: ``bearer``, ``api_key`` (Stripe, OpenAI, AWS, GitHub, Slack, Hugging Face key
shapes), ``secret_assignment`` (``password=...``, ``api_key: ...``), ``email``, ``ipv4``,
``ipv6``, ``card`` (13-19 digits, Luhn-checked so step counters survive).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import re2

from flightlog.errors import ConfigError

__all__ = [
    "BUILTIN_PATTERNS",
    "DEFAULT_KINDS",
    "Scrubber",
    "hash_value",
    "luhn_valid",
]

# kind -> (pattern, replacement). A pattern with a group named `keep` keeps that part
# (the `password=` of an assignment) and replaces the rest. The kinds are branches of ONE
# alternation, so a match hides any secret that starts inside it: an assignment's value
# takes a `Bearer ` prefix along (else `token: Bearer abc` would end the match before
# `abc`), and an email's local part is unbounded (a bound would leave the start of an
# over-long one readable).
BUILTIN_PATTERNS: Mapping[str, tuple[str, str]] = {
    "bearer": (r"\b(?i:bearer)\s+[A-Za-z0-9\-._~+/]+=*", "Bearer [REDACTED]"),
    "api_key": (
        r"\b(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|sk-[A-Za-z0-9_\-]{16,}"
        r"|AKIA[0-9A-Z]{16}\b|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}"
        r"|hf_[A-Za-z0-9]{20,})",
        "[REDACTED_API_KEY]",
    ),
    "secret_assignment": (
        r"\b(?P<keep>(?i:api[_-]?key|apikey|secret|token|password|passwd|pwd)[\"']?\s*[:=]\s*[\"']?)"
        r"(?:(?i:bearer)\s+)?[^\s\"',;&}]+",
        "[REDACTED]",
    ),
    "email": (
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?",
        "[EMAIL]",
    ),
    "ipv4": (
        r"\b(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\b",
        "[IP]",
    ),
    "ipv6": (
        r"(?i:\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"
        r"|(?:\b(?:[0-9a-f]{1,4}:){1,7}|\B:)(?::[0-9a-f]{1,4}){1,7}\b"
        r"|(?:\b(?:[0-9a-f]{1,4}:){1,7}|\B:):)",
        "[IP]",
    ),
    "card": (r"\b[0-9](?:[ \-]?[0-9]){12,18}\b", "[CARD]"),
}

DEFAULT_KINDS: tuple[str, ...] = tuple(BUILTIN_PATTERNS)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def hash_value(value: Any, salt: str = "") -> str:
    """``sha256:<16 hex>`` of ``salt + value``: joinable across lines, not readable."""
    digest = hashlib.sha256((salt + str(value)).encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest[:16]}"


def _anchored(pattern: str) -> bool:
    """Whether ``pattern`` may use ``^``, ``$``, ``\\A`` or ``\\z`` (outside a character class).

    Such a pattern matches at a text's start or end, which a scan of texts joined by
    newlines does not see: ``Scrubber.scrub_many`` then scans each text alone. A doubt
    (an odd class) answers yes, which costs speed, never a secret.
    """
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if not in_class and pattern[index + 1 : index + 2] in ("A", "z"):
                return True
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A `^` (negation) then a `]` right after the `[` are part of the class.
            if pattern[index + 1 : index + 2] == "^":
                index += 1
            if pattern[index + 1 : index + 2] == "]":
                index += 1
        elif char in "^$":
            return True
        index += 1
    return False


def _without_surrogates(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


class Scrubber:
    """Replaces every secret of the chosen kinds (and custom RE2 patterns) in texts."""

    def __init__(self, kinds: Iterable[str] = DEFAULT_KINDS, patterns: Sequence[str] = ()) -> None:
        branches = []
        self._replacement: dict[str, str] = {}
        self._keeps: dict[str, str] = {}
        self.kinds = tuple(kinds)
        self.patterns = tuple(patterns)
        for kind in self.kinds:
            found = BUILTIN_PATTERNS.get(kind)
            if found is None:
                raise ConfigError(
                    f"redaction kind {kind!r} is unknown; use one of {', '.join(BUILTIN_PATTERNS)}"
                )
            pattern, replacement = found
            group = f"k_{kind}"
            if "(?P<keep>" in pattern:
                keep = f"keep_{kind}"
                pattern = pattern.replace("(?P<keep>", f"(?P<{keep}>")
                self._keeps[group] = keep
            branches.append(f"(?P<{group}>{pattern})")
            self._replacement[group] = replacement
        options = re2.Options()
        options.log_errors = False
        for index, pattern in enumerate(self.patterns):
            try:
                re2.compile(pattern, options=options)
            except re2.error as exc:
                reason = (
                    exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
                )
                raise ConfigError(
                    f"redaction pattern {pattern!r} is not valid RE2: {reason}"
                ) from exc
            group = f"custom_{index}"
            branches.append(f"(?P<{group}>{pattern})")
            self._replacement[group] = "[REDACTED]"
        self._groups = tuple(self._replacement)
        self._scan_alone = any(_anchored(pattern) for pattern in self.patterns)
        self._regex: Any = re2.compile("|".join(branches)) if branches else None
        index = self._regex.groupindex if self._regex is not None else {}
        # (group number, replacement, number of the group kept or 0, Luhn-checked):
        # numbers, because the binding's groupdict() costs more than the scan itself.
        self._rules = tuple(
            (
                index[group],
                self._replacement[group].encode(),
                index[self._keeps[group]] if group in self._keeps else 0,
                group == "k_card",
            )
            for group in self._groups
        )

    def _replacement_of(self, match: Any, data: bytes) -> bytes:
        for group, replacement, keep, card in self._rules:
            start, end = match.span(group)
            if start < 0:
                continue
            if card and not luhn_valid("".join(chr(b) for b in data[start:end] if 48 <= b <= 57)):
                return data[start:end]
            if keep:
                keep_start, keep_end = match.span(keep)
                return data[keep_start:keep_end] + replacement
            return replacement
        start, end = match.span()
        return data[start:end]

    def _matches_from(self, data: bytes, first: Any) -> Iterator[Any]:
        """``first`` (a match already found) and every match after it."""
        start, end = first.span()
        if end == start:
            return self._regex.finditer(data, start)  # type: ignore[no-any-return]
        # Going on from the end of ``first`` is what finditer does: no second scan for it.
        return itertools.chain((first,), self._regex.finditer(data, end))

    def _rewrite(self, data: bytes, matches: Iterable[Any], begin: int, end: int) -> str:
        """``data[begin:end]`` with each of ``matches`` (all inside it) replaced."""
        pieces = []
        position = begin
        for match in matches:
            start, stop = match.span()
            pieces.append(data[position:start])
            pieces.append(self._replacement_of(match, data))
            position = stop
        pieces.append(data[position:end])
        return b"".join(pieces).decode("utf-8", "replace")

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced (the same object when there is none)."""
        regex = self._regex
        if regex is None:
            return text
        # The scan runs over UTF-8 bytes: on a str the binding maps every offset back to
        # characters in Python, which costs more than the scan.
        try:
            data = text.encode()
        except UnicodeEncodeError:
            # Lone surrogates cannot go through RE2; replace them so the scan still runs.
            text = _without_surrogates(text)
            data = text.encode()
        first = regex.search(data)
        if first is None:
            return text
        return self._rewrite(data, self._matches_from(data, first), 0, len(data))

    def scrub_many(self, texts: Sequence[str]) -> list[str]:
        """``scrub`` over many texts at the cost of about one scan of them all."""
        out = list(texts)
        regex = self._regex
        if regex is None or not out:
            return out
        if self._scan_alone:
            return [self.scrub(text) for text in out]
        encoded = []
        for index, text in enumerate(out):
            try:
                encoded.append(text.encode())
            except UnicodeEncodeError:
                out[index] = _without_surrogates(text)
                encoded.append(out[index].encode())
        joined = b"\n".join(encoded)
        first = regex.search(joined)
        if first is None:
            return out
        starts = []
        position = 0
        for data in encoded:
            starts.append(position)
            position += len(data) + 1
        inside: dict[int, list[Any]] = {}
        crossing: set[int] = set()
        for match in self._matches_from(joined, first):
            begin, end = match.span()
            index = bisect.bisect_right(starts, begin) - 1
            last = bisect.bisect_right(starts, max(begin, end - 1)) - 1
            if last == index and end <= starts[index] + len(encoded[index]):
                inside.setdefault(index, []).append(match)
            else:
                # The match took in a joining newline: every text it covers is rescanned
                # on its own.
                crossing.update(range(index, last + 1))
        for index in crossing:
            out[index] = self.scrub(out[index])
        for index, matches in inside.items():
            # A match that stays inside one text is the match a scan of that text alone
            # finds (the newline is a non-word boundary, like the text's end).
            if index not in crossing:
                begin = starts[index]
                out[index] = self._rewrite(joined, matches, begin, begin + len(encoded[index]))
        return out
