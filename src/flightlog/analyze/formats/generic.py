"""Generic metric lines: ``key=value`` and ``key: value`` pairs, the fallback format.

Reads what hand-written loops print::

    epoch 3 loss=0.21 val_loss=0.30
    2024-05-01 12:00:03,120 INFO step: 1200, loss: 0.512, lr: 3e-4
    Epoch [3/10], Step [100/600], Loss: 0.2134

A line is a point when it has at least one ``name=number`` / ``name: number`` pair that
is not the position itself. ``step`` comes from ``step``/``iter``/``iteration``/``batch``
(``Step [100/600]`` reads 100), ``epoch`` from ``epoch``; without a step, the epoch (or
the line's ordinal) is the step. A leading ISO-like timestamp gives ``time``.
"""

from __future__ import annotations

import datetime as dt
import re

from flightlog.analyze.formats.base import NUMBER, FormatParser

__all__ = ["GenericParser"]

_PAIR = re.compile(r"(?<![\w.\-/])([A-Za-z][\w./-]*?)\s*(?:=|:)\s*(" + NUMBER + r")(?![\w.:/])")
_POSITION = re.compile(
    r"(?i)\b(epoch|step|iter|iteration|it|batch|global_step)\b\s*[:=#]?\s*\[?\s*(\d+)(?:\s*/\s*\d+)?\]?"
)
_TIMESTAMP = re.compile(r"^\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?)")
_STEP_NAMES = frozenset({"step", "iter", "iteration", "it", "batch", "global_step"})
_SKIP = frozenset({"epoch", *_STEP_NAMES, "pid", "rank", "line", "port", "seed"})


def _timestamp(text: str) -> float | None:
    try:
        parsed = dt.datetime.fromisoformat(text.replace(",", ".").replace(" ", "T"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


class GenericParser(FormatParser):
    name = "generic"
    description = "generic 'epoch 3 loss=0.21' / 'key: value' metric lines (fallback)"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._ordinal = 0

    @classmethod
    def score(cls, sample: str) -> float:
        lines = sample.splitlines()[:300]
        hits = sum(1 for line in lines if _PAIR.search(line))
        return 0.1 + 0.3 * hits / max(1, len(lines)) if hits else 0.0

    def _feed(self, text: str) -> None:
        builder = self.builder
        for line in text.split("\n"):
            if "=" not in line and ":" not in line:
                continue
            pairs = _PAIR.findall(line)
            if not pairs:
                continue
            positions = {name.lower(): int(number) for name, number in _POSITION.findall(line)}
            metrics = [(k, v) for k, v in pairs if k.lower() not in _SKIP]
            if not metrics:
                continue
            step = next((positions[k] for k in positions if k in _STEP_NAMES), None)
            epoch = positions.get("epoch")
            if step is None:
                if epoch is not None:
                    step = epoch
                else:
                    self._ordinal += 1
                    step = self._ordinal
            stamp = _TIMESTAMP.match(line)
            time = _timestamp(stamp.group(1)) if stamp else None
            builder.check_step(step)
            for key, raw in metrics:
                builder.add(key, float(raw), step, None if epoch is None else float(epoch), time)
