"""Keras ``model.fit`` output: verbose 1 (progress bars) and verbose 2, Keras 2 and 3.

What Keras prints, per epoch::

    Epoch 3/10
     12/100 [==>...........................] - ETA: 1s - loss: 0.52 - accuracy: 0.81   (Keras 2)
     12/100 ━━━━━━━━━━━━━━━━━━━━ 1s 12ms/step - accuracy: 0.81 - loss: 0.52          (Keras 3)
    100/100 [==============================] - 2s 15ms/step - loss: 0.50 - val_loss: 0.61
    100/100 - 2s - loss: 0.50 - val_loss: 0.61 - 2s/epoch - 15ms/step               (verbose 2)

Progress lines hold running averages over the epoch so far, so one point per epoch is
recorded: the epoch's last progress line (after ``\\r`` redraws became lines). ``step``
is the global batch count at the end of the epoch, ``epoch`` the epoch number, ``time``
the cumulative seconds Keras reported per epoch. An epoch cut short (NaN, crash) still
gets its last values. Lines with another batch total after an epoch (``evaluate``) are
recorded as the ``test`` split. ``Epoch 1/N`` after a later epoch starts a new run.

The hot path is C-level: ``finditer`` for the ``Epoch N/M`` headers and ``rfind`` for each
epoch's last progress line — no Python work per batch line.
"""

from __future__ import annotations

import re

from flightlog.analyze.formats.base import NUMBER, FormatParser, to_float
from flightlog.analyze.table import RunTable

__all__ = ["KerasParser", "parse_progress_line"]

_HEADER = re.compile(r"Epoch (\d+)/(\d+)[ \t]*$", re.MULTILINE)
_COUNTER = re.compile(r"^\s*(\d+)/(\d+|Unknown)\b")
_METRIC = re.compile(r"(?:^| - |\s-\s)([A-Za-z_][\w.]*): (" + NUMBER + r")(?=\s|$)")
_EPOCH_SECONDS = re.compile(r"(?:\]|━|^\s*\d+/\d+) ?-? (\d+)s(?= |$)")
_STEP_TIME = re.compile(r"(\d+(?:\.\d+)?)(s|ms|us|µs)/step")
_EARLY_STOP = re.compile(r"Epoch (\d+): early stopping")
_UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}


def parse_progress_line(
    line: str,
) -> tuple[int | None, int | None, dict[str, float], float | None, float | None]:
    """``(current, target, metrics, epoch_seconds, step_seconds)`` of one progress line."""
    counter = _COUNTER.match(line)
    current = int(counter.group(1)) if counter else None
    target = int(counter.group(2)) if counter and counter.group(2) != "Unknown" else None
    metrics: dict[str, float] = {}
    for key, raw in _METRIC.findall(line):
        if key == "ETA":
            continue
        value = to_float(raw)
        if value is not None:
            metrics[key] = value
    seconds_match = _EPOCH_SECONDS.search(line)
    step_match = _STEP_TIME.search(line)
    step_seconds = (
        float(step_match.group(1)) * _UNIT_SECONDS[step_match.group(2)] if step_match else None
    )
    seconds = float(seconds_match.group(1)) if seconds_match else None
    return current, target, metrics, seconds, step_seconds


def _line_bounds(text: str, pos: int, start: int, end: int) -> tuple[int, int]:
    line_start = text.rfind("\n", start, pos) + 1 or start
    line_start = max(line_start, start)
    line_end = text.find("\n", pos, end)
    return line_start, (end if line_end < 0 else line_end)


class KerasParser(FormatParser):
    name = "keras"
    description = "Keras model.fit output (verbose 1 or 2, Keras 2 and 3)"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._epoch: int | None = None
        self._epochs_total: int | None = None
        self._epoch_target: int | None = None
        self._last_line: str | None = None
        self._test_line: str | None = None
        self._global_steps = 0
        self._elapsed = 0.0

    @classmethod
    def score(cls, sample: str) -> float:
        headers = len(_HEADER.findall(sample))
        if not headers:
            return 0.0
        steps = sample.count("/step")
        return 0.9 if steps else 0.5

    def _feed(self, text: str) -> None:
        position = 0
        for header in _HEADER.finditer(text):
            self._scan_segment(text, position, header.start())
            self._flush_epoch()
            epoch = int(header.group(1))
            if self._epoch is not None and epoch <= self._epoch:
                self.builder.new_run()
                self._global_steps = 0
                self._elapsed = 0.0
            self._epoch = epoch
            self._epochs_total = int(header.group(2))
            self._epoch_target = None
            position = header.end()
        self._scan_segment(text, position, len(text))
        for stop in _EARLY_STOP.finditer(text):
            self.builder.current.info["early_stopping_epoch"] = int(stop.group(1))

    def _scan_segment(self, text: str, start: int, end: int) -> None:
        """Remember the segment's last progress line of this epoch (and of evaluate)."""
        if start >= end:
            return
        if self._epoch_target is None:
            first = text.find("/step", start, end)
            if first >= 0:
                line_start, line_end = _line_bounds(text, first, start, end)
                counter = _COUNTER.match(text[line_start:line_end])
                if counter and counter.group(2) != "Unknown":
                    self._epoch_target = int(counter.group(2))
        # Completed epochs end on a '/step' line; an epoch cut short ends on an 'ETA:'
        # redraw (Keras 2) — and very old Keras only prints ' - loss: '.
        needle = next(
            (n for n in ("/step", "ETA:", " - loss: ") if text.find(n, start, end) >= 0), None
        )
        if needle is None:
            return
        pos = end
        found_test = False
        for _ in range(64):  # a few evaluate/predict lines may follow the epoch's last line
            pos = text.rfind(needle, start, pos)
            if pos < 0:
                return
            line_start, line_end = _line_bounds(text, pos, start, end)
            line = text[line_start:line_end]
            counter = _COUNTER.match(line)
            if (
                counter is None
                or self._epoch_target is None
                or counter.group(2) == "Unknown"
                or int(counter.group(2)) == self._epoch_target
            ):
                self._last_line = line
                return
            if not found_test and " - " in line and ": " in line:
                self._test_line = line  # the latest evaluate line so far wins
                found_test = True
            pos = line_start

    def _flush_epoch(self) -> None:
        line, self._last_line = self._last_line, None
        test_line, self._test_line = self._test_line, None
        if line is None or self._epoch is None:
            return
        current, target, metrics, seconds, step_seconds = parse_progress_line(line)
        self._global_steps += current or 0
        if seconds is not None:
            self._elapsed += seconds
        elif step_seconds is not None and current:
            self._elapsed += step_seconds * current
        step = self._global_steps
        self.builder.check_step(step)
        time = self._elapsed if (seconds is not None or step_seconds is not None) else None
        epoch = float(self._epoch)
        for key, value in metrics.items():
            self.builder.add(key, value, step, epoch, time)
        if step_seconds is not None:
            self.builder.add("step_time_s", step_seconds, step, epoch, time, split="train")
        info = self.builder.current.info
        info["epochs_total"] = self._epochs_total
        info["steps_per_epoch"] = target
        if test_line is not None:
            _, _, test_metrics, _, _ = parse_progress_line(test_line)
            for key, value in test_metrics.items():
                self.builder.add(key, value, step, epoch, time, split="test")

    def finish(self) -> list[RunTable]:
        self._flush_epoch()
        return super().finish()
