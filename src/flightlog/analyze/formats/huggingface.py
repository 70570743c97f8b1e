"""Hugging Face ``Trainer``: the printed metric dicts and ``trainer_state.json``.

What the Trainer prints (via its progress callback), one dict per ``logging_steps``::

    {'loss': 0.6931, 'grad_norm': 1.52, 'learning_rate': 4.9e-05, 'epoch': 0.1}
    {'eval_loss': 0.69, 'eval_accuracy': 0.5, 'eval_runtime': 0.2, ..., 'epoch': 1.0}
    {'train_runtime': 12.3, 'train_samples_per_second': 81.2, ..., 'train_loss': 0.62, 'epoch': 3.0}

Values may be quoted (``'loss': '0.6931'``) in recent versions; both are read. The
dicts carry no step, so it is taken from the training progress bar drawn on the same
line (``| 50/300 [``) when there is one, else counted (1, 2, 3...) per training dict;
an eval dict gets the step of the training dict before it. The final summary dict
(``train_runtime``...) goes to the run's ``info``, not the curves.

``trainer_state.json`` (``HFTrainerStateParser``) has ``log_history`` entries with real
steps and is read whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from flightlog.analyze.formats.base import NUMBER, FormatParser, to_float
from flightlog.analyze.table import RunBuilder, RunTable

__all__ = ["HFDictParser", "HFTrainerStateParser", "add_hf_entry"]

_DICT = re.compile(r"\{'[A-Za-z_][^{}\n]*\}")
_PAIR = re.compile(r"'([^'\n]+)': '?(" + NUMBER + r")'?(?=[,}])")
_BAR = re.compile(r"\|\s*(\d+)/(\d+) \[")
_SUMMARY_KEYS = frozenset(
    {
        "train_runtime",
        "train_samples_per_second",
        "train_steps_per_second",
        "total_flos",
        "train_loss",
    }
)
_POSITION_KEYS = frozenset({"epoch", "step"})


def add_hf_entry(
    builder: RunBuilder, entry: Mapping[str, Any], step: int | None, epoch: float | None
) -> None:
    """Record one Trainer log entry (printed dict or ``log_history`` item)."""
    if "train_runtime" in entry:
        info = builder.current.info
        for key in _SUMMARY_KEYS:
            if key in entry:
                info[key] = entry[key]
        return
    builder.check_step(step)
    for key, value in entry.items():
        if key in _POSITION_KEYS:
            continue
        if isinstance(value, str):
            value = to_float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        builder.add(key, float(value), step, epoch)


class HFDictParser(FormatParser):
    name = "hf"
    description = "Hugging Face Trainer printed metric dicts"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._train_dicts = 0
        self._step: int | None = None
        self._main_total: int | None = None
        self._last_epoch = -1.0

    @classmethod
    def score(cls, sample: str) -> float:
        hits = len(re.findall(r"\{'(?:eval_)?loss': ", sample))
        return min(0.95, 0.6 + 0.05 * hits) if hits else 0.0

    def _feed(self, text: str) -> None:
        for match in _DICT.finditer(text):
            body = match.group(0)
            entry = {key: raw for key, raw in _PAIR.findall(body)}
            if not entry:
                continue
            raw_epoch = entry.get("epoch")
            epoch = to_float(raw_epoch) if raw_epoch is not None else None
            if "train_runtime" in entry:
                add_hf_entry(self.builder, entry, self._step, epoch)
                continue
            is_eval = any(key.startswith("eval_") for key in entry)
            if not is_eval:
                if epoch is not None and epoch < self._last_epoch:
                    self.builder.new_run()
                    self._train_dicts = 0
                    self._step = None
                if epoch is not None:
                    self._last_epoch = epoch
                self._train_dicts += 1
                self._step = self._bar_step(text, match.start()) or self._train_dicts
            elif self._step is None:
                self._step = self._bar_step(text, match.start()) or 0
            step = self._step
            builder = self.builder
            builder.check_step(step)
            for key, raw in entry.items():
                if key == "epoch" or key == "step":
                    continue
                builder.add(key, float(raw), step, epoch)

    def _bar_step(self, text: str, position: int) -> int | None:
        """The training bar's count drawn just before ``position`` on the same line."""
        line_start = text.rfind("\n", max(0, position - 400), position) + 1
        if position - line_start < 8:
            return None
        bars = _BAR.findall(text, line_start, position)
        if not bars:
            return None
        count, total = int(bars[-1][0]), int(bars[-1][1])
        if self._main_total is None:
            self._main_total = total
        return count if total == self._main_total else None


class HFTrainerStateParser(FormatParser):
    name = "hf_state"
    description = "Hugging Face trainer_state.json (log_history)"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._parts: list[str] = []

    @classmethod
    def score(cls, sample: str) -> float:
        return 0.99 if '"log_history"' in sample and sample.lstrip().startswith("{") else 0.0

    def _feed(self, text: str) -> None:
        self._parts.append(text)

    def finish(self) -> list[RunTable]:
        text = "".join(self._parts)
        self._parts = []
        try:
            state = orjson.loads(text)
        except orjson.JSONDecodeError:
            state = None
        if isinstance(state, dict) and isinstance(state.get("log_history"), list):
            for entry in state["log_history"]:
                if not isinstance(entry, dict):
                    continue
                step = entry.get("step")
                epoch = entry.get("epoch")
                add_hf_entry(
                    self.builder,
                    entry,
                    step if isinstance(step, int) else None,
                    float(epoch) if isinstance(epoch, int | float) else None,
                )
            info = self.builder.current.info
            for key in ("global_step", "max_steps", "num_train_epochs", "best_metric"):
                if key in state:
                    info[key] = state[key]
        return super().finish()
