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

Speed: a chunk without bars whose training dicts all share the first one's key layout
is read in bulk, in Arrow kernels over the whole chunk (split into lines, split each
training line on ``", "``, check every column's key text, cast the values), and kept
as numpy blocks; only the other lines (eval dicts, warnings, tracebacks) are handled
one by one and scanned for error signatures. Arrow memory is scratch per chunk: the
kept columns are numpy copies. Any chunk that fails a check is read dict by dict, with
the same result (``tests/analyze/test_hf_bulk.py`` compares the two).

``trainer_state.json`` (``HFTrainerStateParser``) has ``log_history`` entries with real
steps and is read whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from flightlog.analyze.formats.base import NUMBER, FormatParser, FoundError, to_float
from flightlog.analyze.signatures import could_match, find_signatures_in_lines
from flightlog.analyze.table import Block, RunBuilder, RunTable, split_metric_name

__all__ = ["HFDictParser", "HFTrainerStateParser", "add_hf_entry"]


_DICT = re.compile(r"\{'[A-Za-z_][^{}\n]*\}")
_PAIR = re.compile(r"'([^'\n]+)': '?(" + NUMBER + r")'?(?=[,}])")
_BAR = re.compile(r"\|\s*(\d+)/(\d+) \[")
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


class _Columns(NamedTuple):
    """A chunk read in bulk: the training dicts of one layout as columns, and every
    other (non-empty) line as ``(training dicts before it, line index, text)``."""

    keys: tuple[str, ...]
    columns: list[np.ndarray]
    others: list[tuple[int, int, str]]
    line_count: int


class _EvalColumns:
    """Eval dicts of one chunk whose steps are known, gathered per key and added as one
    block per series (an eval point costs a list append, not a ``builder.add``)."""

    def __init__(self) -> None:
        self.columns: dict[str, tuple[list[int], list[float], list[float]]] = {}
        self.has_epochs: set[str] = set()

    def add(self, entry: dict[str, str], step: int | None) -> bool:
        """Take an eval dict (False: not one, or no step yet: add it another way)."""
        if step is None or not any(key.startswith("eval_") for key in entry):
            return False
        raw_epoch = entry.get("epoch")
        epoch = to_float(raw_epoch) if raw_epoch is not None else None
        for key, raw in entry.items():
            if key in _POSITION_KEYS:
                continue
            value = to_float(raw)
            if value is None:
                continue
            found = self.columns.get(key)
            if found is None:
                found = self.columns[key] = ([], [], [])
            found[0].append(step)
            found[1].append(value)
            if epoch is None:
                found[2].append(math.nan)
            else:
                found[2].append(epoch)
                self.has_epochs.add(key)
        return True

    def flush(self, builder: RunBuilder) -> None:
        for key, (steps, values, epochs) in self.columns.items():
            block = Block(
                np.array(steps, dtype=np.int64),
                np.array(values, dtype=np.float64),
                np.array(epochs, dtype=np.float64) if key in self.has_epochs else None,
            )
            split, metric = split_metric_name(key)
            builder.series(split, metric).extend_block(block)
        self.columns = {}


class _Other(NamedTuple):
    """A line the bulk path did not take as data, with where the parse was at it."""

    line_index: int
    text: str
    step: int | None
    run: str


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


def _int64_array(values: np.ndarray) -> pa.Array:
    """An Arrow view of an int64 numpy array (``pa.array`` would import pandas)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _float64_copy(values: pa.Array) -> np.ndarray:
    """A numpy copy of a float64 Arrow array without nulls (numpy-owned, so the Arrow
    memory of a chunk is all transient; ``to_numpy`` would import pandas)."""
    data = values.buffers()[1]
    return np.frombuffer(data, dtype=np.float64, count=len(values), offset=values.offset * 8).copy()


def _bools(values: pa.Array) -> np.ndarray:
    """A boolean Arrow array without nulls as a numpy bool array."""
    bits = np.frombuffer(values.buffers()[1], dtype=np.uint8)
    unpacked = np.unpackbits(bits, bitorder="little")
    return unpacked[values.offset : values.offset + len(values)].astype(bool)


def _cast_quoted(values: pa.Array) -> pa.Array | None:
    """``'0.69'`` values as float64, or None unless every one is a quoted number."""
    quoted = pc.and_(pc.starts_with(values, "'"), pc.ends_with(values, "'"))
    if not pc.all(quoted).as_py():
        return None
    try:
        return pc.cast(pc.binary_slice(values, 1, -1), pa.float64())
    except pa.ArrowInvalid:
        return None


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
        self._try_columnar = True

    @classmethod
    def score(cls, sample: str) -> float:
        hits = len(re.findall(r"\{'(?:eval_)?loss': ", sample))
        return min(0.95, 0.6 + 0.05 * hits) if hits else 0.0

    def _feed(self, text: str) -> None:
        if "|" in text and _BAR.search(text):
            # progress bars drawn: each dict's step comes from the bar before it
            for match in _DICT.finditer(text):
                self._add_entry(dict(_PAIR.findall(match.group(0))), text, match.start())
            return
        found = self._columnar(text) if self._try_columnar else None
        if found is None:
            self._feed_dicts(text)  # some line has another layout, trailing text or a non-number
            return
        self._add_found(found)

    def feed_scanning(self, text: str) -> list[FoundError]:
        """The hot path: when the chunk's training dicts share one layout (and no bar is
        drawn), they are taken as columns and only the other lines are scanned for error
        signatures: a line of that layout is keys and numbers, it cannot be an error."""
        if "|" in text and _BAR.search(text):
            return super().feed_scanning(text)
        found = self._columnar(text)
        if found is None:
            self._try_columnar = False  # the pieces would fail the same way
            try:
                return super().feed_scanning(text)
            finally:
                self._try_columnar = True
        if could_match(" ".join(found.keys)):
            return super().feed_scanning(text)  # a key looks like an error message
        self.lines += found.line_count
        others = self._add_found(found)
        return [
            FoundError(hit, others[index].line_index, others[index].step, others[index].run)
            for index, hit in find_signatures_in_lines([other.text for other in others])
        ]

    def _columnar(self, text: str) -> _Columns | None:
        """The chunk's training dicts of the first one's key layout as columns, all in
        Arrow kernels (no Python work per line), and every other line with its place;
        None when some line starting like a training dict has another layout, trailing
        text or a non-number."""
        first = _TRAIN_START.search(text)
        body = _DICT.match(text, first.start()) if first is not None else None
        keys = tuple(key for key, _ in _PAIR.findall(body.group(0))) if body else ()
        if not keys or "step" in keys or any("'" in key or " " in key for key in keys):
            return None
        data = text.encode("utf-8", "surrogatepass")
        offsets = np.array([0, len(data)], dtype=np.int64)
        chunk = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        lines = pc.split_pattern(chunk, "\n").flatten()
        mask = pc.starts_with(lines, "{'" + keys[0] + "': ")
        columns = self._values(lines.filter(mask), keys)
        if columns is None:
            return None
        is_train = _bools(mask)
        before = np.cumsum(is_train)
        rows = np.flatnonzero(~is_train)
        texts = lines.take(_int64_array(rows)).to_pylist()
        others = [
            (int(before[row]), int(row), line.decode("utf-8", "surrogatepass"))
            for row, line in zip(rows.tolist(), texts, strict=True)
            if line
        ]
        return _Columns(keys, columns, others, len(lines) - 1)

    @staticmethod
    def _values(train: pa.Array, keys: tuple[str, ...]) -> list[np.ndarray] | None:
        """The values of training-dict lines, one float64 column per key, or None when a
        line does not have exactly this layout.

        Each line splits on ``", "`` into ``{'k0': v0`` ``'k1': v1`` ... ``'kN': vN}``;
        column i must start with key i's text on every line (the last end with ``}``),
        the value is the rest, cast by Arrow (quoted values are unquoted first)."""
        count = len(train)
        width = len(keys)
        if count == 0:
            return [np.empty(0) for _ in keys]
        parts = pc.split_pattern(train, ", ")
        lengths = pc.min_max(pc.list_value_length(parts))
        if lengths["min"].as_py() != width or lengths["max"].as_py() != width:
            return None
        flat = parts.flatten()
        rows = np.arange(count, dtype=np.int64) * width
        columns = []
        for index, key in enumerate(keys):
            prefix = f"{{'{key}': " if index == 0 else f"'{key}': "
            column = flat.take(_int64_array(rows + index))
            if not pc.all(pc.starts_with(column, prefix)).as_py():
                return None
            if index == width - 1:
                if not pc.all(pc.ends_with(column, "}")).as_py():
                    return None
                values = pc.binary_slice(column, len(prefix), -1)
            else:
                values = pc.binary_slice(column, len(prefix), 2**31 - 1)
            try:
                cast = pc.cast(values, pa.float64())
            except pa.ArrowInvalid:
                cast = _cast_quoted(values)  # recent versions quote values
                if cast is None:
                    return None
            columns.append(_float64_copy(cast))
        return columns

    def _add_found(self, found: _Columns) -> list[_Other]:
        """Add a chunk's columns and other dicts in log order; return the other lines
        with the step and run reached before each."""
        keys, columns, others = found.keys, found.columns, found.others
        count = len(columns[0])
        epoch_index = keys.index("epoch") if "epoch" in keys else None
        restart = False
        if epoch_index is not None and count > 0:
            epochs = columns[epoch_index]
            restart = epochs[0] < self._last_epoch or bool(np.any(np.diff(epochs) < 0))
        evals_only = all(
            line.lstrip().startswith(("{'eval_", "{'train_runtime"))
            for _, _, line in others
            if "{'" in line
        )
        if self._step is None and any(before == 0 and "{'" in line for before, _, line in others):
            evals_only = False  # a dict before any step: take the lines in log order
        placed: list[_Other] = []
        if not restart and evals_only:
            # every training dict in one block; each eval dict gets the step of the
            # training dict before it, computed from its position
            base, stride = self._step, self._stride
            run_before = self.builder.current.run
            last_before = self.builder._last_step
            self._add_columns(keys, columns, epoch_index)
            run = self.builder.current.run
            evals = _EvalColumns()
            for before, row, line in others:
                step = base if before == 0 else (base or 0) + stride * before
                if before == 0:
                    placed.append(_Other(row, line, last_before, run_before))
                else:
                    placed.append(_Other(row, line, step, run))
                if "{'" in line:
                    for match in _DICT.finditer(line):
                        entry = dict(_PAIR.findall(match.group(0)))
                        if "train_runtime" in entry or not evals.add(entry, step):
                            self._add_entry(entry, None, 0, step)
            evals.flush(self.builder)
        else:
            done = 0
            for before, row, line in others:
                self._add_block(keys, [column[done:before] for column in columns])
                done = before
                placed.append(_Other(row, line, self.builder._last_step, self.builder.current.run))
                if "{'" in line:
                    for match in _DICT.finditer(line):
                        self._add_entry(dict(_PAIR.findall(match.group(0))), None, 0)
            self._add_block(keys, [column[done:] for column in columns])
        return placed

    def _feed_dicts(self, text: str) -> None:
        for match in _DICT.finditer(text):
            self._add_entry(dict(_PAIR.findall(match.group(0))), None, 0)

    def _add_block(self, keys: tuple[str, ...], block: list[np.ndarray]) -> None:
        """Add consecutive training dicts of one layout as whole columns."""
        if len(block[0]) == 0:
            return
        epoch_index = keys.index("epoch") if "epoch" in keys else None
        if epoch_index is not None:
            epochs = block[epoch_index]
            starts = [0, *(np.nonzero(np.diff(epochs) < 0)[0] + 1).tolist()]
            if len(starts) > 1 or epochs[0] < self._last_epoch:
                for begin, end in zip(starts, [*starts[1:], len(epochs)], strict=True):
                    if epochs[begin] < self._last_epoch:
                        self.builder.new_run()
                        self._train_dicts = 0
                        self._step = None
                        self._stride = 1
                    self._add_columns(keys, [column[begin:end] for column in block], epoch_index)
                return
        self._add_columns(keys, block, epoch_index)

    def _add_columns(
        self, keys: tuple[str, ...], block: list[np.ndarray], epoch_index: int | None
    ) -> None:
        count = len(block[0])
        if count == 0:
            return
        start = (self._step or 0) + self._stride
        steps = np.arange(start, start + self._stride * count, self._stride, dtype=np.int64)
        self._step = int(steps[-1])
        self._train_dicts += count
        epochs = None
        if epoch_index is not None:
            epochs = block[epoch_index]
            self._last_epoch = float(epochs[-1])
        builder = self.builder
        builder.check_step(int(steps[0]))
        builder.check_step(int(steps[-1]))
        for index, key in enumerate(keys):
            if index == epoch_index:
                continue
            split, metric = split_metric_name(key)
            builder.series(split, metric).extend_block(Block(steps, block[index], epochs))

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

    def finish(self) -> list[RunTable]:
        pa.default_memory_pool().release_unused()  # the chunks' Arrow scratch memory
        return super().finish()


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
