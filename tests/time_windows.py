"""Relative time windows for tests whose data was stamped when the module was imported."""

from __future__ import annotations

import time

_S = 1_000_000_000


def secs_since(start_ns: int) -> str:
    """Whole seconds from ``start_ns`` to now, rounded up: a ``--since-secs`` that reaches it.

    Data stamped at import time may be queried minutes later on a loaded CI box, so a
    fixed span would slide past it.
    """
    return str(-(-(time.time_ns() - start_ns) // _S))
