"""flightlog's public surface is exactly the names we promise, and importing it is inert."""

from __future__ import annotations

import subprocess
import sys

import flightlog

PUBLIC_NAMES = [
    "AdvancedLogger",
    "Configuration",
    "CorrelationIdMiddleware",
    "ErrorLog",
    "JSONFormatter",
    "LevelFilter",
    "LokiExporter",
    "Redactor",
    "RotatingFileHandler",
    "RotationPolicy",
    "Run",
    "Sampler",
    "Shipper",
    "ShipperConfig",
    "ShippingHandler",
    "TrainingMetrics",
    "TrainingProgressTracker",
    "WSGICorrelationIdMiddleware",
    "__version__",
    "bind",
    "bound",
    "clear_context",
    "configure",
    "correlation_headers",
    "current_context",
    "httpx_async_event_hooks",
    "httpx_event_hooks",
    "install_requests_correlation",
    "shutdown",
    "unbind",
]


def test_all_is_exactly_the_public_names() -> None:
    """__all__ lists the promised names, sorted, and nothing else."""
    assert flightlog.__all__ == PUBLIC_NAMES
    assert flightlog.__all__ == sorted(flightlog.__all__)


def test_every_public_name_resolves() -> None:
    """Each name in __all__ is importable from flightlog."""
    for name in flightlog.__all__:
        assert getattr(flightlog, name) is not None


def test_import_has_no_side_effects() -> None:
    """Importing flightlog starts no thread, adds no handler and loads no SDK module."""
    code = (
        "import logging, sys, threading\n"
        "before = threading.active_count()\n"
        "import flightlog\n"
        "assert threading.active_count() == before, 'thread started'\n"
        "assert logging.getLogger().handlers == [], 'handler added'\n"
        "assert not [m for m in sys.modules if m.startswith('flightlog.sdk')], 'sdk imported'\n"
        "assert 'orjson' not in sys.modules and 'httpx' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute_is_an_attribute_error() -> None:
    """A typo gets a normal AttributeError naming it."""
    try:
        flightlog.Rnu  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "Rnu" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
