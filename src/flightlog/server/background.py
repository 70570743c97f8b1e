"""Periodic background work in a daemon thread, stoppable and testable.

The server uses one ``PeriodicTask`` to cut segments and apply retention; other
packages (rules evaluation, alert notification, SLO checks) start theirs from a startup
hook (see ``flightlog.server``). A failing run is counted and logged, and the task keeps
going: one bad evaluation must not stop the maintenance of the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["PeriodicTask"]

log = logging.getLogger("flightlog.server")


class PeriodicTask:
    """Calls ``function`` every ``interval_secs`` until ``stop()``."""

    def __init__(self, name: str, interval_secs: float, function: Callable[[], object]) -> None:
        self.name = name
        self.interval_secs = interval_secs
        self._function = function
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"flightlog-{name}", daemon=True)
        self.runs = 0
        self.failures = 0

    def start(self) -> PeriodicTask:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_secs):
            self.run_once()

    def run_once(self) -> None:
        """Run the function now (also what the thread does each interval)."""
        try:
            self._function()
        except Exception:  # boundary: keep the server's maintenance alive, count and log
            self.failures += 1
            log.exception("background task %s failed", self.name)
        finally:
            self.runs += 1

    def stop(self, timeout_secs: float = 30.0) -> None:
        """Ask the thread to stop and wait for the current run to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_secs)
