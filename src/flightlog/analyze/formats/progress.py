"""tqdm progress bars with postfix metrics, and PyTorch Lightning's progress bar.

What they draw (each redraw became a line after ``\\r`` normalisation)::

    100%|██████████| 50/50 [00:03<00:00, 14.2it/s, loss=0.213, acc=0.91]
    Epoch 3: 100%|██████████| 32/32 [00:01<00:00, 25.3it/s, v_num=0, train_loss=0.123, val_loss=0.456]

Plain tqdm: one point per distinct bar count, with the postfix values of its last redraw;
``time`` is the bar's elapsed time. Lightning (``Epoch N:`` before the bar): one point per
epoch from its last redraw (the postfix then also shows the validation metrics); ``step``
is the global batch count. ``v_num`` is not a metric. Bars without postfix metrics (the
validation bar) are skipped.
"""

from __future__ import annotations

import re

from flightlog.analyze.formats.base import NUMBER, FormatParser
from flightlog.analyze.table import RunTable

__all__ = ["ProgressBarParser"]

_BAR = re.compile(
    r"%\|[^|\n]*\|\s*(\d+)/(\d+|\?)\s*\[(?:(\d+):)?(\d+):(\d+)(?:<[^,\]\n]*)?(?:,\s*([^\]\n]*))?\]"
)
_POSTFIX = re.compile(r"([A-Za-z_][\w/.-]*)=(" + NUMBER + r")")
_EPOCH = re.compile(r"Epoch (\d+)(?:/\d+)?:?\s*\d*$")
_SKIP = frozenset({"v_num"})


class ProgressBarParser(FormatParser):
    name = "tqdm"
    description = "tqdm bars with postfix metrics; PyTorch Lightning progress bars"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._pending: tuple[int | None, int, float, list[tuple[str, str]]] | None = None
        self._epoch_base = 0
        self._epoch: int | None = None
        self._epoch_steps = 0
        self._elapsed_base = 0.0
        self._epoch_elapsed = 0.0

    @classmethod
    def score(cls, sample: str) -> float:
        bars = [m for m in _BAR.finditer(sample) if m.group(6) and "=" in m.group(6)]
        if not bars:
            return 0.0
        lightning = "Epoch " in sample
        return 0.85 if lightning else 0.7

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        epoch, count, elapsed, pairs = pending
        if epoch is not None:
            step = self._epoch_base + count
            time = self._elapsed_base + elapsed
        else:
            step = count
            time = elapsed
        self.builder.check_step(step)
        for key, raw in pairs:
            if key in _SKIP:
                continue
            self.builder.add(key, float(raw), step, None if epoch is None else float(epoch), time)

    def _feed(self, text: str) -> None:
        for match in _BAR.finditer(text):
            postfix = match.group(6)
            if not postfix or "=" not in postfix:
                continue
            pairs = _POSTFIX.findall(postfix)
            if not pairs:
                continue
            line_start = text.rfind("\n", 0, match.start()) + 1
            prefix = text[line_start : match.start()].rstrip()
            epoch_match = _EPOCH.search(prefix[-40:]) if "Epoch" in prefix else None
            epoch = int(epoch_match.group(1)) if epoch_match else None
            count = int(match.group(1))
            hours = int(match.group(3) or 0)
            elapsed = hours * 3600.0 + int(match.group(4)) * 60.0 + int(match.group(5))
            pending = self._pending
            if epoch is not None:
                if epoch == self._epoch and count < self._epoch_steps:
                    continue  # Lightning resets the bar to 0 before naming the next epoch
                if self._epoch is not None and epoch != self._epoch:
                    self._flush()
                    if epoch < self._epoch:
                        self.builder.new_run()
                        self._epoch_base = 0
                        self._elapsed_base = 0.0
                    else:
                        self._epoch_base += self._epoch_steps
                        self._elapsed_base += self._epoch_elapsed
                self._epoch = epoch
                self._epoch_steps = count
                self._epoch_elapsed = elapsed
            elif pending is not None and pending[1] != count:
                self._flush()
            self._pending = (epoch, count, elapsed, pairs)

    def finish(self) -> list[RunTable]:
        self._flush()
        return super().finish()
