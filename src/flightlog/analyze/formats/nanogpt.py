"""nanoGPT-style training loops.

What nanoGPT (and the many loops copied from it) prints::

    step 2000: train loss 1.7623, val loss 1.8877
    iter 2000: loss 1.7811, time 45.21ms, mfu 12.34%

``iter`` lines become ``train`` points (``loss``, ``mfu`` in percent — nanoGPT's
``-100%`` placeholder of the first iterations is skipped — and ``step_time_s``),
with ``time`` the sum of the printed iteration times; ``step`` lines give the evaluation
points: ``val`` ``loss`` and ``train`` ``loss_estimate`` (the averaged train loss). An ``iter`` counter going back starts a new run.
"""

from __future__ import annotations

import re

from flightlog.analyze.formats.base import NUMBER, FormatParser

__all__ = ["NanoGPTParser"]

_ITER = re.compile(
    r"iter (\d+): loss ("
    + NUMBER
    + r")(?:, time ("
    + NUMBER
    + r")ms)?(?:, mfu ("
    + NUMBER
    + r")%)?"
)
_EVAL = re.compile(r"step (\d+): train loss (" + NUMBER + r"), val loss (" + NUMBER + r")")


class NanoGPTParser(FormatParser):
    name = "nanogpt"
    description = "nanoGPT-style 'iter N: loss X, time Y ms' lines"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._elapsed = 0.0
        self._last_iter: int | None = None

    @classmethod
    def score(cls, sample: str) -> float:
        hits = len(_ITER.findall(sample))
        return min(0.9, 0.5 + 0.05 * hits) if hits else 0.0

    def _feed(self, text: str) -> None:
        builder = self.builder
        events = [(m.start(), m) for m in _ITER.finditer(text)]
        if "train loss" in text:
            events += [(m.start(), m) for m in _EVAL.finditer(text)]
            events.sort(key=lambda pair: pair[0])
        for _, match in events:
            step = int(match.group(1))
            if match.re is _EVAL:
                builder.check_step(step)
                time = self._elapsed if self._last_iter is not None else None
                builder.add("loss_estimate", float(match.group(2)), step, None, time, split="train")
                builder.add("loss", float(match.group(3)), step, None, time, split="val")
                continue
            if self._last_iter is not None and step < self._last_iter:
                self._elapsed = 0.0
            self._last_iter = step
            builder.check_step(step)
            millis = match.group(3)
            if millis is not None:
                self._elapsed += float(millis) / 1000.0
            time = self._elapsed if millis is not None else None
            builder.add("loss", float(match.group(2)), step, None, time, split="train")
            if millis is not None:
                builder.add("step_time_s", float(millis) / 1000.0, step, None, time, split="train")
            if match.group(4) is not None and float(match.group(4)) >= 0:  # -100 = not measured yet
                builder.add("mfu", float(match.group(4)), step, None, time, split="train")
