"""scikit-learn ``verbose`` output.

What the estimators print::

    Iteration 3, loss = 0.21034127        (MLPClassifier / MLPRegressor)
    Validation score: 0.853333            (MLP with early_stopping=True)
    -- Epoch 1                            (SGDClassifier / SGDRegressor / Perceptron)
    Norm: 2.34, NNZs: 20, Bias: -0.120000, T: 800, Avg. loss: 0.345678
          Iter       Train Loss   Remaining Time      (GradientBoosting*)
             1           1.2345            0.12s

MLP lines give ``train`` ``loss`` (and ``val`` ``score``) per iteration; SGD gives
``train`` ``loss`` per epoch (OvR fits print one block per class: a new ``-- Epoch 1``
starts a new run named ``#2``...); gradient boosting gives ``train`` ``loss`` per
iteration. "Training loss did not improve more than tol" is kept in ``info``.
"""

from __future__ import annotations

import re

from flightlog.analyze.formats.base import NUMBER, FormatParser

__all__ = ["SklearnParser"]

_MLP = re.compile(r"^Iteration (\d+), loss = (" + NUMBER + r")", re.MULTILINE)
_VALIDATION = re.compile(r"^Validation score: (" + NUMBER + r")", re.MULTILINE)
_SGD_EPOCH = re.compile(r"^-- Epoch (\d+)", re.MULTILINE)
_SGD_LOSS = re.compile(r"Avg\. loss: (" + NUMBER + r")")
_GB_ROW = re.compile(
    r"^\s+(\d+)\s+(" + NUMBER + r")(?:\s+(" + NUMBER + r"))?\s+[\d.]+[smh]\s*$", re.MULTILINE
)
_STOPPED = re.compile(
    r"^(Training loss did not improve[^\n]*|Validation score did not improve[^\n]*)", re.MULTILINE
)


class SklearnParser(FormatParser):
    name = "sklearn"
    description = "scikit-learn verbose output (MLP, SGD, gradient boosting)"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._sgd_epoch: int | None = None
        self._mlp_iteration: int | None = None
        self._gradient_boosting = False

    @classmethod
    def score(cls, sample: str) -> float:
        if _MLP.search(sample) or _SGD_EPOCH.search(sample):
            return 0.9
        if "Train Loss" in sample and _GB_ROW.search(sample):
            return 0.85
        return 0.0

    def _feed(self, text: str) -> None:
        builder = self.builder
        events: list[tuple[int, str, re.Match[str]]] = []
        for kind, pattern in (
            ("mlp", _MLP),
            ("val", _VALIDATION),
            ("sgd", _SGD_EPOCH),
            ("sgdloss", _SGD_LOSS),
        ):
            events.extend((m.start(), kind, m) for m in pattern.finditer(text))
        self._gradient_boosting = self._gradient_boosting or "Train Loss" in text
        if self._gradient_boosting:
            events.extend((m.start(), "gb", m) for m in _GB_ROW.finditer(text))
        events.sort(key=lambda event: event[0])
        for _, kind, match in events:
            if kind == "mlp":
                step = int(match.group(1))
                builder.check_step(step)
                self._mlp_iteration = step
                builder.add("loss", float(match.group(2)), step, None, None, split="train")
            elif kind == "val" and self._mlp_iteration is not None:
                builder.add(
                    "score", float(match.group(1)), self._mlp_iteration, None, None, split="val"
                )
            elif kind == "sgd":
                self._sgd_epoch = int(match.group(1))
            elif kind == "sgdloss" and self._sgd_epoch is not None:
                builder.check_step(self._sgd_epoch)
                builder.add(
                    "loss",
                    float(match.group(1)),
                    self._sgd_epoch,
                    float(self._sgd_epoch),
                    None,
                    split="train",
                )
            elif kind == "gb":
                step = int(match.group(1))
                builder.check_step(step)
                builder.add("loss", float(match.group(2)), step, None, None, split="train")
                if match.group(3) is not None:
                    builder.add(
                        "oob_improvement", float(match.group(3)), step, None, None, split="train"
                    )
        for stop in _STOPPED.finditer(text):
            builder.current.info["stopped"] = stop.group(1).strip()
