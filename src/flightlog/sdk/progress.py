"""Training progress: percentage per epoch and overall, milestones, throughput, ETA."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MILESTONES", "Progress", "ProgressTracker"]

MILESTONES: tuple[int, ...] = (25, 50, 75, 90, 100)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where training stands after one update."""

    epoch: int
    batch: int
    total_batches: int
    total_epochs: int
    epoch_pct: float
    overall_pct: float
    batches_per_sec: float | None
    eta_secs: float | None
    new_milestones: tuple[int, ...]


class ProgressTracker:
    """Turns (epoch, batch, totals) updates into ``Progress`` values; milestones fire once."""

    def __init__(self, start_secs: float) -> None:
        self._start = start_secs
        self._reached: set[int] = set()
        self._first_done: int | None = None
        self.last: Progress | None = None

    def update(
        self, epoch: int, batch: int, total_batches: int, total_epochs: int, now_secs: float
    ) -> Progress:
        total_batches = max(total_batches, 1)
        total_epochs = max(total_epochs, 1)
        done = (epoch - 1) * total_batches + batch
        total = total_epochs * total_batches
        epoch_pct = 100.0 * batch / total_batches
        overall_pct = min(100.0, 100.0 * done / total)
        elapsed = now_secs - self._start
        rate = done / elapsed if elapsed > 0 else None
        eta = (total - done) / rate if rate else None
        new = tuple(m for m in MILESTONES if overall_pct >= m and m not in self._reached)
        self._reached.update(new)
        self.last = Progress(
            epoch, batch, total_batches, total_epochs, epoch_pct, overall_pct, rate, eta, new
        )
        return self.last
