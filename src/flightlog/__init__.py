"""flightlog: the flight recorder for ML systems.

Importing this package has no side effects: no thread, no file, no handler. The SDK
names below are loaded on first use (``flightlog.Run`` imports the run machinery only
when touched), so ``import flightlog`` stays cheap for the CLI and the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flightlog._version import __version__

if TYPE_CHECKING:
    from flightlog.sdk.configure import Configuration, configure, shutdown
    from flightlog.sdk.context import bind, bound, clear_context, current_context, unbind
    from flightlog.sdk.correlation import (
        CorrelationIdMiddleware,
        WSGICorrelationIdMiddleware,
        correlation_headers,
        httpx_async_event_hooks,
        httpx_event_hooks,
        install_requests_correlation,
    )
    from flightlog.sdk.facade import (
        AdvancedLogger,
        ErrorLog,
        TrainingMetrics,
        TrainingProgressTracker,
    )
    from flightlog.sdk.formatter import JSONFormatter
    from flightlog.sdk.processors import LevelFilter, Redactor, Sampler
    from flightlog.sdk.rotating import RotatingFileHandler, RotationPolicy
    from flightlog.sdk.run import Run
    from flightlog.sdk.shipper import LokiExporter, Shipper, ShipperConfig, ShippingHandler

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "AdvancedLogger": "flightlog.sdk.facade",
    "Configuration": "flightlog.sdk.configure",
    "CorrelationIdMiddleware": "flightlog.sdk.correlation",
    "ErrorLog": "flightlog.sdk.facade",
    "JSONFormatter": "flightlog.sdk.formatter",
    "LevelFilter": "flightlog.sdk.processors",
    "LokiExporter": "flightlog.sdk.shipper",
    "Redactor": "flightlog.sdk.processors",
    "RotatingFileHandler": "flightlog.sdk.rotating",
    "RotationPolicy": "flightlog.sdk.rotating",
    "Run": "flightlog.sdk.run",
    "Sampler": "flightlog.sdk.processors",
    "Shipper": "flightlog.sdk.shipper",
    "ShipperConfig": "flightlog.sdk.shipper",
    "ShippingHandler": "flightlog.sdk.shipper",
    "TrainingMetrics": "flightlog.sdk.facade",
    "TrainingProgressTracker": "flightlog.sdk.facade",
    "WSGICorrelationIdMiddleware": "flightlog.sdk.correlation",
    "bind": "flightlog.sdk.context",
    "bound": "flightlog.sdk.context",
    "clear_context": "flightlog.sdk.context",
    "configure": "flightlog.sdk.configure",
    "correlation_headers": "flightlog.sdk.correlation",
    "current_context": "flightlog.sdk.context",
    "httpx_async_event_hooks": "flightlog.sdk.correlation",
    "httpx_event_hooks": "flightlog.sdk.correlation",
    "install_requests_correlation": "flightlog.sdk.correlation",
    "shutdown": "flightlog.sdk.configure",
    "unbind": "flightlog.sdk.context",
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'flightlog' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
