"""The one exception tree of flightlog.

Every error a user can see comes from here, and its message names the bad value and
says what to do about it::

    FlightlogError
    ├── ConfigError            a config file or option is invalid
    ├── ValidationError        pushed data breaks a limit or is malformed (has .reason)
    │   └── RateLimitedError   a tenant pushes faster than its limit allows
    ├── AuthError              missing or invalid bearer token (HTTP 401)
    │   └── ForbiddenError     token valid but not for this tenant or role (HTTP 403)
    ├── StoreError             the store cannot read or write its files
    │   └── CorruptionError    a WAL record or segment failed its checksum
    ├── QueryError             a LogQL query is invalid or cannot run
    │   ├── ParseError         syntax error, with line and column
    │   └── QueryLimitError    a query exceeded a limit (series, entries, time)
    ├── RuleError              a rule file or rule expression is invalid
    ├── SloError               an SLO objective or SLI count is impossible
    ├── NotifyError            a receiver failed to deliver a notification
    ├── AnalyzeError           a training log cannot be read
    └── MonitorError           drift or model-comparison input is unusable
"""

from __future__ import annotations

__all__ = [
    "AnalyzeError",
    "AuthError",
    "ConfigError",
    "CorruptionError",
    "FlightlogError",
    "ForbiddenError",
    "MonitorError",
    "NotifyError",
    "ParseError",
    "QueryError",
    "QueryLimitError",
    "RateLimitedError",
    "RuleError",
    "SloError",
    "StoreError",
    "ValidationError",
]


class FlightlogError(Exception):
    """Root of every error flightlog raises on purpose."""


class ConfigError(FlightlogError):
    """A configuration file or option is invalid; the message names key, value and fix."""


class ValidationError(FlightlogError):
    """Pushed data was rejected; ``reason`` is one of ``flightlog.ingest.reasons``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RateLimitedError(ValidationError):
    """A tenant exceeded its ingestion rate."""

    def __init__(self, message: str) -> None:
        super().__init__("rate_limited", message)


class AuthError(FlightlogError):
    """The request carries no valid bearer token."""


class ForbiddenError(AuthError):
    """The token is valid but not bound to the tenant or role the request needs."""


class StoreError(FlightlogError):
    """The store cannot read or write its files."""


class CorruptionError(StoreError):
    """A WAL record or segment failed its checksum."""


class QueryError(FlightlogError):
    """A query is invalid or cannot be executed."""


class ParseError(QueryError):
    """A LogQL syntax error at a known position (1-based line and column)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"parse error at line {line}, col {column}: {message}")
        self.line = line
        self.column = column


class QueryLimitError(QueryError):
    """A query exceeded a configured limit; ``limit`` names which one."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


class RuleError(FlightlogError):
    """A rule file or rule expression is invalid."""


class SloError(FlightlogError):
    """An SLO objective or SLI measurement is impossible (99.9 for 0.999, bad > eligible)."""


class NotifyError(FlightlogError):
    """A receiver could not deliver a notification."""


class AnalyzeError(FlightlogError):
    """A training log cannot be read or analysed."""


class MonitorError(FlightlogError):
    """Drift or model-comparison input is unusable."""
