"""Processors: plain callables over an immutable event mapping (STYLE habit 2).

A processor takes the event (a read-only ``Mapping``) and returns a new mapping, or
``None`` to drop it. It never mutates what it was given. Its ``reason`` attribute (or its
name) is the drop reason counted by ``run_processors``. Shipped processors:

* ``Redactor`` -- the secret kinds of ``flightlog.redaction`` (emails, IP addresses,
  bearer tokens, API keys, secret assignments, Luhn-checked card numbers), custom RE2
  patterns, sensitive field names, and salted hashing of named fields (``user_id``).
* ``Sampler`` -- keeps every WARNING and above; keeps INFO/DEBUG at ``rate``,
  deterministically per trace ID (all lines of one trace are kept or dropped together).
* ``LevelFilter`` -- drops events below a level.

Redaction must come first in a chain: ``configure`` puts processors before every
handler, the file writer and the shipper, so nothing unredacted is written or sent.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flightlog.redaction import DEFAULT_KINDS, Scrubber, hash_value, luhn_valid

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


# What a Redactor does with a field, by its name; a bounded cache keeps the answers.
_KEEP, _HASH, _DROP = 0, 1, 2
_MAX_CACHED_KEYS = 4096


@dataclass(frozen=True)
class Redactor:
    """Replaces secrets in every string of an event (recursively) and hashes named fields.

    Secrets are the kinds of ``flightlog.redaction`` (the ones the pipeline redacts, with
    the same markers): ``kinds`` picks them, all by default; ``cards=False`` leaves card
    numbers alone. ``patterns`` are extra RE2 patterns (replaced by ``[REDACTED]``);
    ``hash_fields`` are field names whose values become ``sha256:<16 hex>`` of
    ``salt + value`` (the pipeline's hash, so they join across both); ``drop_fields``
    are replaced by ``[REDACTED]``. A bad kind or pattern raises ``ConfigError``.

    IP addresses (``ipv4``, ``ipv6``) are redacted by default. Serving logs carry client
    IPs, which are personal data, and a leak into a file or the server cannot be undone,
    while an internal address hidden from a training log (a ``MASTER_ADDR``, an NCCL
    peer) is a choice the user can reverse: with ``DEFAULT_KINDS`` from
    ``flightlog.redaction``,
    ``Redactor(kinds=[k for k in DEFAULT_KINDS if k not in ("ipv4", "ipv6")])``. It also
    keeps an event redacted the same way by the SDK and by the pipeline's default.

    All strings of an event are scanned in one RE2 pass (``Scrubber.scrub_many``): the
    binding's per-call cost, not the scan, dominates on short strings.
    """

    patterns: Sequence[str] = ()
    hash_fields: Iterable[str] = ("user_id",)
    drop_fields: Iterable[str] = SENSITIVE_FIELDS
    salt: str = ""
    cards: bool = True
    kinds: Iterable[str] = DEFAULT_KINDS
    reason = "redacted"

    def __post_init__(self) -> None:
        kinds = tuple(kind for kind in self.kinds if self.cards or kind != "card")
        scrubber = Scrubber(kinds, tuple(self.patterns))
        object.__setattr__(self, "_scrub", scrubber.scrub)
        object.__setattr__(self, "_scrub_many", scrubber.scrub_many)
        object.__setattr__(self, "_hash", frozenset(self.hash_fields))
        object.__setattr__(self, "_drop", frozenset(f.lower() for f in self.drop_fields))
        object.__setattr__(self, "_actions", {})

    def redact_text(self, text: str) -> str:
        """``text`` with every known secret replaced."""
        return self._scrub(text)  # type: ignore[attr-defined,no-any-return]

    def hash_value(self, value: Any) -> str:
        """``sha256:<16 hex>`` of ``salt + value``, as the pipeline's ``hash_fields``."""
        return hash_value(value, self.salt)

    def _value(self, value: Any, slots: list[tuple[Any, Any]], texts: list[str]) -> Any:
        # Strings are copied as they are and their place remembered; ``__call__`` scans
        # them all at once and patches the places whose text changed.
        if isinstance(value, Mapping):
            return self._mapping(value, slots, texts)
        if isinstance(value, list | tuple):
            out = []
            for index, item in enumerate(value):
                if isinstance(item, str):
                    slots.append((out, index))
                    texts.append(item)
                    out.append(item)
                else:
                    out.append(self._value(item, slots, texts))
            return out
        return value

    def _key_action(self, key: Any) -> int:
        action = _HASH if key in self._hash else _KEEP  # type: ignore[attr-defined]
        if action == _KEEP and isinstance(key, str) and key.lower() in self._drop:  # type: ignore[attr-defined]
            action = _DROP
        actions = self._actions  # type: ignore[attr-defined]
        if len(actions) < _MAX_CACHED_KEYS:
            actions[key] = action
        return action

    def _mapping(
        self, mapping: Mapping[Any, Any], slots: list[tuple[Any, Any]], texts: list[str]
    ) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        # Events repeat the same few keys: what each key calls for is looked up once.
        actions = self._actions  # type: ignore[attr-defined]
        for key, value in mapping.items():
            if value is None:
                out[key] = None
                continue
            action = actions.get(key)
            if action is None:
                action = self._key_action(key)
            if action == _HASH:
                out[key] = self.hash_value(value)
            elif action == _DROP:
                out[key] = "[REDACTED]"
            elif isinstance(value, str):
                slots.append((out, key))
                texts.append(value)
                out[key] = value
            else:
                out[key] = self._value(value, slots, texts)
        return out

    def __call__(self, event: Event) -> Event:
        slots: list[tuple[Any, Any]] = []
        texts: list[str] = []
        out = self._mapping(event, slots, texts)
        if texts:
            scrubbed = self._scrub_many(texts)  # type: ignore[attr-defined]
            for (container, key), before, after in zip(slots, texts, scrubbed, strict=True):
                if after is not before:
                    container[key] = after
        return out


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
