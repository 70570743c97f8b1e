"""Log context carried by contextvars: ``bind``, ``bound``, ``current_context``.

The context is one immutable mapping per execution context. ``bind`` replaces it with a
new mapping (never mutates the old one), so threads started with
``contextvars.copy_context()`` and asyncio tasks (which copy the context when created)
see what was bound when they started and cannot leak fields back into their parent.

OpenTelemetry trace and span IDs are added by ``current_context()`` when the
``opentelemetry`` package is installed *and already imported* by the application: we
never import it ourselves, so a program that does not use tracing pays nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any

__all__ = [
    "CORRELATION_ID_FIELD",
    "bind",
    "bound",
    "clear_context",
    "current_context",
    "trace_ids",
    "unbind",
]

CORRELATION_ID_FIELD = "correlation_id"

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: ContextVar[Mapping[str, Any]] = ContextVar("flightlog_context", default=_EMPTY)


def bind(**fields: Any) -> Token[Mapping[str, Any]]:
    """Add ``fields`` to the log context of the current thread / task; returns a reset token."""
    merged = dict(_context.get())
    merged.update(fields)
    return _context.set(MappingProxyType(merged))


def unbind(*names: str) -> None:
    """Remove the named fields from the current log context (missing names are ignored)."""
    current = _context.get()
    if any(name in current for name in names):
        _context.set(MappingProxyType({k: v for k, v in current.items() if k not in names}))


def clear_context() -> None:
    """Forget every bound field in the current execution context."""
    _context.set(_EMPTY)


@contextmanager
def bound(**fields: Any) -> Iterator[Mapping[str, Any]]:
    """Bind ``fields`` for the duration of a ``with`` block, then restore the previous context."""
    token = bind(**fields)
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def bound_fields() -> Mapping[str, Any]:
    """The fields bound with ``bind``/``bound`` only (no trace IDs); read-only."""
    return _context.get()


def trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` as lowercase hex of the current OpenTelemetry span, if any."""
    trace_module = sys.modules.get("opentelemetry.trace")
    if trace_module is None:
        return None
    span_context = trace_module.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


def current_context() -> dict[str, Any]:
    """A fresh dict of the bound fields plus ``trace_id``/``span_id`` of the active span."""
    fields = dict(_context.get())
    ids = trace_ids()
    if ids is not None:
        fields.setdefault("trace_id", ids[0])
        fields.setdefault("span_id", ids[1])
    return fields
