"""The clock a ``Run`` reads (STYLE habit 5: inject the world).

``SystemClock`` is the real one; ``flightlog.testing.FakeClock`` is the one tests use.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    def time_ns(self) -> int:
        """Wall-clock time, nanoseconds since the Unix epoch."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""


class SystemClock:
    """The real clock: ``time.time_ns`` and ``time.perf_counter``."""

    time_ns = staticmethod(time.time_ns)
    monotonic = staticmethod(time.perf_counter)
