"""Processors: plain callables over an immutable event mapping (STYLE habit 2).

A processor takes the event (a read-only ``Mapping``) and returns a new mapping, or
``None`` to drop it. It never mutates what it was given. Its ``reason`` attribute (or its
name) is the drop reason counted by ``run_processors``. Shipped processors:

* ``Redactor`` -- emails, bearer tokens, API keys, card numbers (Luhn-checked), custom
  RE2 patterns, sensitive field names, and salted hashing of named fields (``user_id``).
* ``Sampler`` -- keeps every WARNING and above; keeps INFO/DEBUG at ``rate``,
  deterministically per trace ID (all lines of one trace are kept or dropped together).
* ``LevelFilter`` -- drops events below a level.

Redaction must come first in a chain: ``configure`` puts processors before every
handler, the file writer and the shipper, so nothing unredacted is written or sent.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import re2

__all__ = [
    "LEVELS",
    "LevelFilter",
    "Processor",
    "Redactor",
    "Sampler",
    "luhn_valid",
    "run_processors",
]

Event = Mapping[str, Any]
Processor = Callable[[Event], Event | None]

LEVELS: Mapping[str, int] = MappingProxyType(
    {
        "NOTSET": 0,
        "DEBUG": 10,
        "INFO": 20,
        "WARNING": 30,
        "WARN": 30,
        "ERROR": 40,
        "CRITICAL": 50,
        "FATAL": 50,
    }
)


def _level_number(level: Any) -> int:
    if isinstance(level, int):
        return level
    return LEVELS.get(str(level).upper(), 20)


def run_processors(
    processors: Sequence[Processor], event: Event, dropped: MutableMapping[str, int]
) -> dict[str, Any] | None:
    """Apply ``processors`` in order; count a drop under the dropping processor's reason."""
    current: Event = event
    for processor in processors:
        result = processor(MappingProxyType(current) if isinstance(current, dict) else current)
        if result is None:
            reason = getattr(processor, "reason", getattr(processor, "__name__", "processor"))
            dropped[reason] = dropped.get(reason, 0) + 1
            return None
        current = result
    return current if isinstance(current, dict) else dict(current)


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


# (name, RE2 pattern, replacement). Order matters: specific key formats before generic
# "key=value" secrets, bearer tokens before generic tokens.
_BUILTIN_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("bearer", r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*", "Bearer [REDACTED]"),
    ("api_key", r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}", "[REDACTED_API_KEY]"),
    ("api_key", r"\bsk-[A-Za-z0-9_\-]{16,}", "[REDACTED_API_KEY]"),
    ("api_key", r"\bAKIA[0-9A-Z]{16}\b", "[REDACTED_API_KEY]"),
    ("api_key", r"\bgh[pousr]_[A-Za-z0-9]{20,}", "[REDACTED_API_KEY]"),
    ("api_key", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}", "[REDACTED_API_KEY]"),
    ("api_key", r"\bhf_[A-Za-z0-9]{20,}", "[REDACTED_API_KEY]"),
    (
        "secret_assignment",
        r"(?i)\b((?:api[_-]?key|apikey|secret|token|password|passwd|pwd)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]+",
        r"\1[REDACTED]",
    ),
    (
        "email",
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?",
        "[EMAIL]",
    ),
)

_CARD = re2.compile(r"\b\d(?:[ \-]?\d){11,18}\b")

SENSITIVE_FIELDS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "authorization",
        "access_token",
        "refresh_token",
        "client_secret",
        "private_key",
        "cookie",
    }
)


def _redact_card(match: Any) -> str:
    text = match.group(0)
    digits = "".join(ch for ch in text if ch.isdigit())
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "[CARD]"
    return text


@dataclass(frozen=True)
class Redactor:
    """Replaces secrets in every string of an event (recursively) and hashes named fields.

    ``patterns`` are extra RE2 patterns (replaced by ``[REDACTED]``); ``hash_fields`` are
    field names whose values become ``sha256:<16 hex>`` of ``salt + value`` so they stay
    joinable without being readable; ``drop_fields`` are replaced by ``[REDACTED]``.
    """

    patterns: Sequence[str] = ()
    hash_fields: Iterable[str] = ("user_id",)
    drop_fields: Iterable[str] = SENSITIVE_FIELDS
    salt: str = ""
    cards: bool = True
    reason = "redacted"

    def __post_init__(self) -> None:
        compiled = [(re2.compile(p), repl) for _, p, repl in _BUILTIN_PATTERNS]
        compiled += [(re2.compile(p), "[REDACTED]") for p in self.patterns]
        object.__setattr__(self, "_compiled", tuple(compiled))
        object.__setattr__(self, "_hash", frozenset(self.hash_fields))
        object.__setattr__(self, "_drop", frozenset(f.lower() for f in self.drop_fields))

    def redact_text(self, text: str) -> str:
        """``text`` with every known secret replaced."""
        for regex, replacement in self._compiled:  # type: ignore[attr-defined]
            text = regex.sub(replacement, text)
        if self.cards and any(ch.isdigit() for ch in text):
            text = _CARD.sub(_redact_card, text)
        return text

    def hash_value(self, value: Any) -> str:
        digest = hashlib.sha256((self.salt + str(value)).encode()).hexdigest()
        return f"sha256:{digest[:16]}"

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return self._mapping(value)
        if isinstance(value, list | tuple):
            return [self._value(item) for item in value]
        return value

    def _mapping(self, mapping: Mapping[Any, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        hashed = self._hash  # type: ignore[attr-defined]
        dropped = self._drop  # type: ignore[attr-defined]
        for key, value in mapping.items():
            if key in hashed and value is not None:
                out[key] = self.hash_value(value)
            elif isinstance(key, str) and key.lower() in dropped and value is not None:
                out[key] = "[REDACTED]"
            else:
                out[key] = self._value(value)
        return out

    def __call__(self, event: Event) -> Event:
        return self._mapping(event)


@dataclass(frozen=True)
class Sampler:
    """Keeps WARNING and above; keeps lower levels at ``rate`` (0..1), stable per trace ID."""

    rate: float
    key: str = "trace_id"
    keep_at_or_above: int = 30
    rng: random.Random | None = None
    reason = "sampled"

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"sampling rate {self.rate!r} is outside 0..1: pass e.g. 0.1")
        object.__setattr__(self, "_threshold", int(self.rate * 0xFFFFFFFF))
        object.__setattr__(self, "_rng", self.rng or random.Random())

    def keeps_trace(self, trace_id: str) -> bool:
        """Whether lines of this trace are kept (same answer in every process)."""
        return zlib.crc32(trace_id.encode()) <= self._threshold  # type: ignore[attr-defined]

    def __call__(self, event: Event) -> Event | None:
        if _level_number(event.get("level", "INFO")) >= self.keep_at_or_above:
            return event
        trace_id = event.get(self.key)
        if trace_id is not None:
            return event if self.keeps_trace(str(trace_id)) else None
        return event if self._rng.random() < self.rate else None  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LevelFilter:
    """Drops events below ``min_level`` (a number or a name such as ``"WARNING"``)."""

    min_level: int | str
    reason = "level"

    def __call__(self, event: Event) -> Event | None:
        if _level_number(event.get("level", "INFO")) < _level_number(self.min_level):
            return None
        return event
