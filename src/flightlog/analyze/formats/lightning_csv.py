"""PyTorch Lightning's ``CSVLogger`` file ``metrics.csv`` (also any CSV with a step column).

Header ``epoch,step,train_loss_step,val_loss,...``; rows are sparse (a row holds the
metrics logged at that step). Column names give split and metric (``val_loss`` ->
``val``/``loss``, ``train_loss_epoch`` -> ``train``/``loss_epoch``).
"""

from __future__ import annotations

import csv
import io

from flightlog.analyze.formats.base import FormatParser, to_float
from flightlog.analyze.table import RunTable

__all__ = ["MetricsCsvParser"]

_POSITION = frozenset({"epoch", "step", "global_step", "time", "timestamp", "created_at"})


class MetricsCsvParser(FormatParser):
    name = "csv"
    description = "Lightning CSVLogger metrics.csv (any CSV with a step/epoch column)"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._header: list[str] | None = None

    @classmethod
    def score(cls, sample: str) -> float:
        first = sample.split("\n", 1)[0].strip()
        columns = [c.strip() for c in first.split(",")]
        if len(columns) >= 2 and ("step" in columns or "epoch" in columns) and "{" not in first:
            return 0.9
        return 0.0

    def _feed(self, text: str) -> None:
        reader = csv.reader(io.StringIO(text))
        builder = self.builder
        for row in reader:
            if self._header is None:
                self._header = [c.strip() for c in row]
                continue
            if not row or len(row) > len(self._header):
                continue
            values = dict(zip(self._header, row, strict=False))
            step_raw = to_float(values.get("step", "") or "")
            epoch_raw = to_float(values.get("epoch", "") or "")
            time = to_float(values.get("time", "") or values.get("timestamp", "") or "")
            step = (
                int(step_raw)
                if step_raw is not None
                else (int(epoch_raw) if epoch_raw is not None else None)
            )
            builder.check_step(step)
            for key, raw in values.items():
                if key in _POSITION or not raw:
                    continue
                value = to_float(raw)
                if value is not None:
                    builder.add(key, value, step, epoch_raw, time)

    def finish(self) -> list[RunTable]:
        return super().finish()
