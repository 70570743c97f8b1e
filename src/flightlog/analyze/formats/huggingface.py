"""Hugging Face ``Trainer``: the printed metric dicts and ``trainer_state.json``.

What the Trainer prints (via its progress callback), one dict per ``logging_steps``::

    {'loss': 0.6931, 'grad_norm': 1.52, 'learning_rate': 4.9e-05, 'epoch': 0.1}
    {'eval_loss': 0.69, 'eval_accuracy': 0.5, 'eval_runtime': 0.2, ..., 'epoch': 1.0}
    {'train_runtime': 12.3, 'train_samples_per_second': 81.2, ..., 'train_loss': 0.62, 'epoch': 3.0}

Values may be quoted (``'loss': '0.6931'``) in recent versions; both are read. The
dicts carry no step, so it is taken from the training progress bar drawn just before
(``| 50/300 [``, the first bar's total tells the training bar from the eval bar) when
there is one, else the previous step plus the last stride (1 at first);
an eval dict gets the step of the training dict before it. The final summary dict
(``train_runtime``...) goes to the run's ``info``, not the curves.

``trainer_state.json`` (``HFTrainerStateParser``) has ``log_history`` entries with real
steps and is read whole.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from flightlog.analyze.formats.base import NUMBER, FormatParser, to_float
from flightlog.analyze.table import RunBuilder, RunTable, split_metric_name

__all__ = ["HFDictParser", "HFTrainerStateParser", "add_hf_entry"]


_DICT = re.compile(r"\{'[A-Za-z_][^{}\n]*\}")
_PAIR = re.compile(r"'([^'\n]+)': '?(" + NUMBER + r")'?(?=[,}])")
_BAR = re.compile(r"\|\s*(\d+)/(\d+) \[")
_Columns = tuple[np.ndarray, list[tuple[int, str]]]
_TRAIN_START = re.compile(r"\{'(?!eval_|train_runtime)[A-Za-z_][\w/.-]*': ")
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
                value = entry[key]
                info[key] = to_float(value) if isinstance(value, str) else value
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
        self._stride = 1
        self._layouts: dict[tuple[str, ...], re.Pattern[str]] = {}

    @classmethod
    def score(cls, sample: str) -> float:
        hits = len(re.findall(r"\{'(?:eval_)?loss': ", sample))
        return min(0.95, 0.6 + 0.05 * hits) if hits else 0.0

    def _feed(self, text: str) -> None:
        if "/" in text and _BAR.search(text):
            # progress bars drawn: each dict's step comes from the bar before it
            for match in _DICT.finditer(text):
                self._add_entry(dict(_PAIR.findall(match.group(0))), text, match.start())
            return
        self._feed_columnar(text)

    def _feed_columnar(self, text: str) -> None:
        """The hot path (no bars, so steps count on), all in Arrow kernels: split the chunk
        into lines, keep the lines that are training dicts of the first one's key layout,
        strip the keys, split and cast the values — no Python work per line. Other dicts
        (eval, summary, another layout) are taken one by one, in log order."""
        first = _TRAIN_START.search(text)
        body = _DICT.match(text, first.start()) if first is not None else None
        keys = tuple(key for key, _ in _PAIR.findall(body.group(0))) if body else ()
        if not keys or "step" in keys or any("'" in key or " " in key for key in keys):
            self._feed_dicts(text)
            return
        found = self._split_lines(text, keys)
        if found is None:
            self._feed_dicts(text)  # some line has another layout, trailing text or a non-number
            return
        matrix, others = found
        count = len(matrix)
        other_lines = [line for _, line in others]
        epoch_index = keys.index("epoch") if "epoch" in keys else None
        restart = (
            epoch_index is not None
            and count > 0
            and (
                matrix[0, epoch_index] < self._last_epoch
                or bool(np.any(np.diff(matrix[:, epoch_index]) < 0))
            )
        )
        evals_only = all(
            line.lstrip().startswith(("{'eval_", "{'train_runtime")) for line in other_lines
        )
        if not restart and evals_only:
            # every training dict in one block; each eval dict gets the step of the
            # training dict before it, computed from its position
            base, stride = self._step, self._stride
            self._add_columns(keys, matrix, epoch_index)
            for before, line in others:
                step = base if before == 0 else (base or 0) + stride * before
                for match in _DICT.finditer(line):
                    self._add_entry(dict(_PAIR.findall(match.group(0))), None, 0, step)
        else:
            done = 0
            for before, line in others:
                self._add_block(keys, matrix[done:before])
                done = before
                for match in _DICT.finditer(line):
                    self._add_entry(dict(_PAIR.findall(match.group(0))), None, 0)
            self._add_block(keys, matrix[done:])
        pa.default_memory_pool().release_unused()

    def _split_lines(self, text: str, keys: tuple[str, ...]) -> _Columns | None:
        """Split the chunk into lines in Arrow, keep the training dicts' values as a
        matrix, and list the other dict lines with the number of training rows before."""
        lines = pc.split_pattern(pa.array([text]), "\n").flatten()
        mask = pc.starts_with(lines, "{'" + keys[0] + "': ")
        matrix = self._columns(lines.filter(mask), keys)
        if matrix is None:
            return None
        before = np.cumsum(mask.to_numpy(zero_copy_only=False))
        other_rows = np.nonzero(
            pc.and_(pc.match_substring(lines, "{'"), pc.invert(mask)).to_numpy(zero_copy_only=False)
        )[0]
        return matrix, [(int(before[row]), lines[int(row)].as_py()) for row in other_rows]

    @staticmethod
    def _columns(train: pa.Array, keys: tuple[str, ...]) -> np.ndarray | None:
        """The values of training-dict lines as a (lines, keys) matrix, or None when a
        line does not have exactly this layout.

        Each line splits on ``", "`` into ``{'k0': v0`` ``'k1': v1`` ... ``'kN': vN}``
        (Arrow kernel); column i must start with key i's text on every line, the value
        is the rest (trimmed), cast by Arrow."""
        count = len(train)
        width = len(keys)
        if count == 0:
            return np.empty((0, width))
        parts = pc.split_pattern(train, ", ")
        lengths = pc.min_max(pc.list_value_length(parts))
        if lengths["min"].as_py() != width or lengths["max"].as_py() != width:
            return None
        flat = parts.flatten()
        rows = np.arange(count, dtype=np.int64) * width
        columns = []
        for index, key in enumerate(keys):
            prefix = f"{{'{key}': " if index == 0 else f"'{key}': "
            column = flat.take(pa.array(rows + index))
            if not pc.all(pc.starts_with(column, prefix)).as_py():
                return None
            values = pc.utf8_slice_codeunits(column, len(prefix))
            if index == width - 1:
                values = pc.utf8_rtrim(values, characters="}")
            if values.null_count == 0 and pc.any(pc.starts_with(values, "'")).as_py():
                values = pc.utf8_trim(values, characters="'")  # recent versions quote values
            try:
                columns.append(pc.cast(values, pa.float64()).to_numpy())
            except pa.ArrowInvalid:
                return None
        return np.column_stack(columns)

    def _feed_dicts(self, text: str) -> None:
        for match in _DICT.finditer(text):
            self._add_entry(dict(_PAIR.findall(match.group(0))), None, 0)

    def _add_block(self, keys: tuple[str, ...], block: np.ndarray) -> None:
        """Add consecutive training dicts of one layout as whole columns."""
        if len(block) == 0:
            return
        epoch_index = keys.index("epoch") if "epoch" in keys else None
        if epoch_index is not None:
            epochs = block[:, epoch_index]
            starts = [0, *(np.nonzero(np.diff(epochs) < 0)[0] + 1).tolist()]
            if len(starts) > 1 or epochs[0] < self._last_epoch:
                for begin, end in zip(starts, [*starts[1:], len(block)], strict=True):
                    if block[begin, epoch_index] < self._last_epoch:
                        self.builder.new_run()
                        self._train_dicts = 0
                        self._step = None
                        self._stride = 1
                    self._add_columns(keys, block[begin:end], epoch_index)
                return
        self._add_columns(keys, block, epoch_index)

    def _add_columns(
        self, keys: tuple[str, ...], block: np.ndarray, epoch_index: int | None
    ) -> None:
        count = len(block)
        start = (self._step or 0) + self._stride
        steps = array(
            "q",
            np.arange(start, start + self._stride * count, self._stride, dtype=np.int64).tobytes(),
        )
        self._step = steps[-1]
        self._train_dicts += count
        epochs = None
        if epoch_index is not None:
            epochs = array("d", np.ascontiguousarray(block[:, epoch_index]).tobytes())
            self._last_epoch = epochs[-1]
        builder = self.builder
        builder.check_step(steps[0])
        builder.check_step(steps[-1])
        for index, key in enumerate(keys):
            if index == epoch_index:
                continue
            split, metric = split_metric_name(key)
            column = array("d", np.ascontiguousarray(block[:, index]).tobytes())
            builder.series(split, metric).extend_arrays(steps, column, epochs)

    def _add_entry(
        self,
        entry: dict[str, str],
        text: str | None,
        position: int,
        eval_step: int | None = None,
    ) -> None:
        """Add one printed dict (``key -> raw value``); ``text`` given: look for a bar;
        ``eval_step`` given: the step of an eval dict, known from its position."""
        if not entry:
            return
        raw_epoch = entry.get("epoch")
        epoch = to_float(raw_epoch) if raw_epoch is not None else None
        if "train_runtime" in entry:
            add_hf_entry(self.builder, entry, self._step, epoch)
            return
        is_eval = any(key.startswith("eval_") for key in entry)
        bar_step = self._bar_step(text, position) if text is not None else None
        if not is_eval:
            if epoch is not None and epoch < self._last_epoch:
                self.builder.new_run()
                self._train_dicts = 0
                self._step = None
                self._stride = 1
            if epoch is not None:
                self._last_epoch = epoch
            self._train_dicts += 1
            if bar_step is not None:
                if self._step is not None and bar_step > self._step:
                    self._stride = bar_step - self._step
                self._step = bar_step
            else:
                self._step = (self._step or 0) + self._stride
        elif eval_step is not None:
            # the training columns of this chunk are already in: the step is not "new"
            self._add_values(entry, eval_step, epoch, check_step=False)
            return
        elif self._step is None:
            self._step = bar_step or 0
        self._add_values(entry, self._step, epoch)

    def _add_values(
        self, entry: dict[str, str], step: int | None, epoch: float | None, check_step: bool = True
    ) -> None:
        builder = self.builder
        if check_step:
            builder.check_step(step)
        for key, raw in entry.items():
            if key == "epoch" or key == "step":
                continue
            value = to_float(raw)
            if value is not None:
                builder.add(key, value, step, epoch)

    def _bar_step(self, text: str, position: int) -> int | None:
        """The training bar's count drawn just before ``position`` (the bar is redrawn
        right before the Trainer writes a dict, on the same or one of the previous lines)."""
        bars = _BAR.findall(text, max(0, position - 600), position)
        if not bars:
            return None
        for count, total in reversed(bars):
            if self._main_total is None:
                self._main_total = int(total)
            if int(total) == self._main_total:
                return int(count)
        return None


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
