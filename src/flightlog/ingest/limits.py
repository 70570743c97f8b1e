"""Per-tenant ingestion limits and the state that enforces them.

``TenantLimits`` is the frozen value a config file produces; ``IngestLimits`` holds the
defaults plus per-tenant overrides. ``RateLimiter`` is a token bucket per tenant over
pushed bytes (lines plus structured metadata), the way Loki's ``ingestion_rate_mb`` and
``ingestion_burst_size_mb`` work; ``StreamTracker`` counts each tenant's distinct streams
since the server started (Loki counts the streams active in its ingesters, which is the
same idea for a single node). Both take an injected clock so tests need no sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from flightlog.errors import ConfigError
from flightlog.model import Labels

__all__ = ["IngestLimits", "RateLimiter", "StreamTracker", "TenantLimits"]

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TenantLimits:
    """What one tenant may push. Every limit is a positive number; units are in the names."""

    max_request_bytes: int = 16 * _MIB
    """Largest request body, before and after decompression (HTTP 413 beyond it)."""
    ingestion_rate_bytes_per_sec: float = 32 * _MIB
    """Sustained push rate in line + metadata bytes per second (HTTP 429 beyond it)."""
    ingestion_burst_bytes: int = 64 * _MIB
    """Bucket size: how many bytes a push may carry at once after a quiet period."""
    max_streams_per_tenant: int = 10_000
    max_labels_per_stream: int = 15
    max_line_bytes: int = 256 * 1024
    max_label_name_bytes: int = 1024
    max_label_value_bytes: int = 2048

    def validate(self) -> TenantLimits:
        """Return self, or raise ``ConfigError`` naming the first non-positive limit."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(f"limit {name} must be > 0, got {value!r}")
        if self.ingestion_burst_bytes < self.max_request_bytes:
            # A request larger than the bucket could never be accepted.
            raise ConfigError(
                f"limit ingestion_burst_bytes ({self.ingestion_burst_bytes}) must be >= "
                f"max_request_bytes ({self.max_request_bytes})"
            )
        return self


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Default limits plus overrides by tenant id."""

    defaults: TenantLimits = field(default_factory=TenantLimits)
    tenants: Mapping[str, TenantLimits] = field(default_factory=lambda: MappingProxyType({}))

    def for_tenant(self, tenant: str) -> TenantLimits:
        return self.tenants.get(tenant, self.defaults)

    def validate(self) -> IngestLimits:
        self.defaults.validate()
        for limits in self.tenants.values():
            limits.validate()
        return self


class RateLimiter:
    """A token bucket per tenant over pushed bytes; thread-safe."""

    def __init__(self, limits: IngestLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, last refill)

    def try_take(self, tenant: str, nbytes: int) -> bool:
        """Take ``nbytes`` tokens if the tenant's bucket holds them; never blocks."""
        limits = self._limits.for_tenant(tenant)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(tenant, (float(limits.ingestion_burst_bytes), now))
            tokens = min(
                float(limits.ingestion_burst_bytes),
                tokens + (now - last) * limits.ingestion_rate_bytes_per_sec,
            )
            allowed = nbytes <= tokens
            if allowed:
                tokens -= nbytes
            self._buckets[tenant] = (tokens, now)
            return allowed


class StreamTracker:
    """Distinct streams per tenant since start, to enforce ``max_streams_per_tenant``."""

    def __init__(self, limits: IngestLimits) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._streams: dict[str, set[Labels]] = {}

    def admit(self, tenant: str, labels: Labels) -> bool:
        """Record the stream and say whether the tenant may have it."""
        with self._lock:
            known = self._streams.setdefault(tenant, set())
            if labels in known:
                return True
            if len(known) >= self._limits.for_tenant(tenant).max_streams_per_tenant:
                return False
            known.add(labels)
            return True

    def count(self, tenant: str) -> int:
        with self._lock:
            return len(self._streams.get(tenant, ()))
