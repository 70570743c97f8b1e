"""Per-tenant limits: overrides, validation, and the ingestion-rate token bucket."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from flightlog.errors import ConfigError
from flightlog.ingest import IngestLimits, TenantLimits
from flightlog.ingest.limits import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_overrides_apply_to_their_tenant_only():
    special = TenantLimits(max_line_bytes=5)
    limits = IngestLimits(TenantLimits(), MappingProxyType({"a": special}))
    assert limits.for_tenant("a") is special
    assert limits.for_tenant("b") == TenantLimits()


def test_token_bucket_allows_the_burst_then_the_rate():
    """A full bucket takes a burst; then bytes come back at the configured rate."""
    clock = FakeClock()
    limits = IngestLimits(
        TenantLimits(
            ingestion_rate_bytes_per_sec=100, ingestion_burst_bytes=1000, max_request_bytes=1000
        )
    )
    limiter = RateLimiter(limits, clock)
    assert limiter.try_take("t", 1000)
    assert not limiter.try_take("t", 1)
    clock.now = 0.5
    assert limiter.try_take("t", 50)
    assert not limiter.try_take("t", 1)
    assert limiter.try_take("other", 1000), "tenants have separate buckets"


def test_refused_push_takes_no_tokens():
    clock = FakeClock()
    limits = IngestLimits(
        TenantLimits(
            ingestion_rate_bytes_per_sec=1, ingestion_burst_bytes=100, max_request_bytes=100
        )
    )
    limiter = RateLimiter(limits, clock)
    assert not limiter.try_take("t", 101)
    assert limiter.try_take("t", 100)


@pytest.mark.parametrize(
    "field", ["max_line_bytes", "ingestion_rate_bytes_per_sec", "max_streams_per_tenant"]
)
def test_non_positive_limits_are_config_errors(field):
    with pytest.raises(ConfigError, match=field):
        TenantLimits(**{field: 0}).validate()
