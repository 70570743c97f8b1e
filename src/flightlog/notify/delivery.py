"""Delivery: one worker thread per integration, retries with exponential backoff and jitter.

Each integration has its own queue and thread, so a receiver that hangs until its timeout
(or keeps failing) delays only its own notifications. A notification is retried until it
succeeds, fails with a non-retryable reason (a 4xx), or its retry budget runs out; the
outcome goes back to the dispatcher through ``on_done``.

Whatever a send raises, the worker lives on: a ``DeliveryFailed`` is counted by its
reason; anything else is a bug in a sender, logged with its traceback, counted as
``reason="internal"`` and not retried. ``on_done`` runs for every notification taken, so
the group it belongs to is never left waiting on a delivery that died.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flightlog.notify.dispatcher import Notification
from flightlog.notify.metrics import NotifyMetrics
from flightlog.notify.receivers import SENDERS, DeliveryFailed, FailureReason

if TYPE_CHECKING:
    import httpx  # imported where used: httpx pulls in rich (~0.3 s of server start)

__all__ = ["Delivery", "RetryPolicy", "Sender"]

log = logging.getLogger("flightlog.notify")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff starts at ``initial_backoff_s``, doubles up to ``max_backoff_s``, stops after ``max_attempts``."""

    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_attempts: int = 6
    jitter_ratio: float = 0.2

    def backoff_s(self, attempt: int, rng: random.Random) -> float:
        base = min(self.max_backoff_s, self.initial_backoff_s * (2 ** (attempt - 1)))
        return base * (1 + rng.uniform(-self.jitter_ratio, self.jitter_ratio))


Sender = Callable[[Notification, str, float, "httpx.Client"], object]


class Delivery:
    """Runs sends on per-integration threads; ``submit`` never blocks."""

    def __init__(
        self,
        on_done: Callable[[Notification, bool], None],
        external_url: str = "",
        retry: RetryPolicy | None = None,
        senders: dict[str, Sender] | None = None,
        rng: random.Random | None = None,
        metrics: NotifyMetrics | None = None,
    ) -> None:
        self.metrics = metrics or NotifyMetrics.create()
        self._on_done = on_done
        self._external_url = external_url
        self._retry = retry or RetryPolicy()
        self._senders = {**SENDERS, **(senders or {})}
        self._rng = rng or random.Random()
        self._queues: dict[str, queue.Queue[Notification | None]] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def submit(self, notification: Notification) -> None:
        key = notification.integration.key
        with self._lock:
            if key not in self._queues:
                self._queues[key] = queue.Queue()
                thread = threading.Thread(
                    target=self._worker,
                    args=(self._queues[key],),
                    name=f"notify-{key}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
            self._queues[key].put(notification)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        with self._lock:
            for q in self._queues.values():
                q.put(None)
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout_s)

    def _worker(self, work: queue.Queue[Notification | None]) -> None:
        # One kept-alive client per integration: a new client per send costs ~100 ms
        # (TLS context), which would cap a busy receiver at a few notifications per second.
        import httpx

        with httpx.Client() as client:
            while True:
                notification = work.get()
                if notification is None:
                    return
                ok = False
                try:
                    ok = self.deliver(notification, client)
                except Exception:  # boundary: the receiver's thread must outlive one send
                    log.exception("delivering to %s failed", notification.integration.key)
                try:
                    self._on_done(notification, ok)
                except Exception:  # boundary: ... and one outcome it could not record
                    log.exception(
                        "recording the outcome of a notification to %s failed",
                        notification.integration.key,
                    )

    def deliver(self, notification: Notification, client: httpx.Client | None = None) -> bool:
        """Send with retries in the calling thread; returns whether it got through."""
        integration = notification.integration
        labels = (notification.tenant, integration.receiver, integration.kind)
        if not notification.alerts:
            return True  # nothing to say (resolved-only to a send_resolved=false integration)
        sender = self._senders[integration.kind]
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                if client is None:
                    import httpx

                    with httpx.Client() as own:
                        sender(notification, self._external_url, integration.timeout_s, own)
                else:
                    sender(notification, self._external_url, integration.timeout_s, client)
            except DeliveryFailed as exc:
                self.metrics.attempts_failed.labels(*labels, exc.reason.value).inc()
                if (
                    not exc.retryable
                    or attempt >= self._retry.max_attempts
                    or self._stopping.is_set()
                ):
                    self.metrics.failed.labels(*labels, exc.reason.value).inc()
                    return False
                if self._stopping.wait(self._retry.backoff_s(attempt, self._rng)):
                    self.metrics.failed.labels(*labels, exc.reason.value).inc()
                    return False
                continue
            except Exception:  # boundary: a bug in one send must not stop the receiver
                log.exception(
                    "sending to %s raised unexpectedly; the notification is dropped",
                    integration.key,
                )
                self.metrics.attempts_failed.labels(*labels, FailureReason.INTERNAL.value).inc()
                self.metrics.failed.labels(*labels, FailureReason.INTERNAL.value).inc()
                return False
            self.metrics.sent.labels(*labels).inc()
            self.metrics.latency.labels(notification.tenant, integration.kind).observe(
                time.monotonic() - started
            )
            return True
