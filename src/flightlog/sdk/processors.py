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

import dataclasses
import datetime as dt
import enum
import random
import uuid
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

# Values the JSON encoder writes as themselves, with no text a secret could hide in.
_OPAQUE = (int, float, dt.datetime, dt.date, dt.time, uuid.UUID)
# The key types orjson writes as they are (numbers as their digits), besides None.
_OPAQUE_KEYS = (str, int, float, dt.datetime, dt.date, dt.time, uuid.UUID)
# numpy dtype kinds orjson writes natively as numbers, booleans or dates.
_NUMPY_OPAQUE_KINDS = frozenset("biufM")


def _plain(value: Any) -> Any:
    """What the JSON encoder writes for a value that is not plain JSON, as plain values.

    Sets become lists, enums their value, dataclasses a dict of their fields, non-numeric
    numpy values lists; numeric numpy values (written as numbers) come back as they
    are; anything else (paths, exceptions, custom objects, bytes) becomes ``str(value)``,
    which is what ``formatter._default`` would have written. The Redactor walks the
    result, so the text that reaches the output is the text it scanned.
    """
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if type(value).__module__ == "numpy":
        dtype = getattr(value, "dtype", None)
        if dtype is not None and dtype.kind in _NUMPY_OPAQUE_KINDS:
            return value
        tolist = getattr(value, "tolist", None)
        if tolist is not None:
            return tolist()
    return str(value)


def _plain_key(key: Any) -> Any:
    """The key the JSON encoder writes for ``key``: a string unless orjson keeps its type."""
    while isinstance(key, enum.Enum):
        key = key.value
    if key is None or isinstance(key, _OPAQUE_KEYS):
        return key
    return str(key)


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

    What the Redactor returns is plain JSON values, so what the encoder writes is what it
    scanned: values that are not (sets, paths, exceptions, custom objects, ...) are first
    turned into what the encoder would write for them (see ``_plain``: usually
    ``str(value)``), then scanned. Field names are scanned too (``{"a@b.io": 1}`` becomes
    ``{"[EMAIL]": 1}``); fields are hashed or blanked by their original name. Numbers are
    left alone: a 16-digit integer is a step, a timestamp or an ID far more often than a
    card number written as a number.

    All strings of an event are scanned in one RE2 pass (``Scrubber.scrub_many``): the
    binding's per-call cost, not the scan, dominates on short strings. What a field name
    calls for (hash, blank, rename) is cached for the first few thousand names.
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

    def changes_field(self, name: str) -> bool:
        """Whether a number under field ``name`` comes out changed (hashed, blanked, renamed)."""
        action, out_name = self._key_entry(name)
        return action != _KEEP or out_name != name

    def _place(
        self,
        out: Any,
        key: Any,
        value: Any,
        slots: list[tuple[Any, Any]],
        texts: list[str],
    ) -> None:
        """Put the redactable form of ``value`` at ``out[key]``, its texts marked for the scan.

        Strings are copied as they are and their place remembered; ``__call__`` scans them
        all at once and patches the places whose text changed.
        """
        if isinstance(value, str):
            slots.append((out, key))
            texts.append(value)
            out[key] = value
        elif value is None or isinstance(value, _OPAQUE):
            out[key] = value
        elif isinstance(value, Mapping):
            out[key] = self._mapping(value, slots, texts)
        elif isinstance(value, list | tuple):
            items: list[Any] = [None] * len(value)
            out[key] = items
            for index, item in enumerate(value):
                if type(item) is str:
                    slots.append((items, index))
                    texts.append(item)
                    items[index] = item
                else:
                    self._place(items, index, item, slots, texts)
        else:
            plain = _plain(value)
            if plain is value:
                out[key] = value
            else:
                self._place(out, key, plain, slots, texts)

    def _key_entry(self, key: Any) -> tuple[int, Any]:
        """(what the field calls for, the name it is written under) for field ``key``."""
        action = _HASH if key in self._hash else _KEEP  # type: ignore[attr-defined]
        if action == _KEEP and isinstance(key, str) and key.lower() in self._drop:  # type: ignore[attr-defined]
            action = _DROP
        name = _plain_key(key)
        if isinstance(name, str):
            name = self._scrub(name)  # type: ignore[attr-defined]
        entry = (action, name)
        actions = self._actions  # type: ignore[attr-defined]
        # Only str names are cached: 1, 1.0 and True are one dict key but three JSON keys.
        if type(key) is str and len(actions) < _MAX_CACHED_KEYS:
            actions[key] = entry
        return entry

    def _mapping(
        self, mapping: Mapping[Any, Any], slots: list[tuple[Any, Any]], texts: list[str]
    ) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        # Events repeat the same few keys: what each key calls for is looked up once.
        actions = self._actions  # type: ignore[attr-defined]
        for key, value in mapping.items():
            entry = actions.get(key) if type(key) is str else None
            if entry is None:
                entry = self._key_entry(key)
            action, name = entry
            if value is None:
                out[name] = None
            elif action == _HASH:
                out[name] = self.hash_value(value)
            elif action == _DROP:
                out[name] = "[REDACTED]"
            else:
                kind = type(value)
                if kind is str:
                    slots.append((out, name))
                    texts.append(value)
                    out[name] = value
                elif kind is int or kind is float or kind is bool:
                    out[name] = value
                else:
                    self._place(out, name, value, slots, texts)
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
