"""XGBoost and LightGBM evaluation lines, of training and of cross-validation.

What they print per boosting round::

    [10]\tvalidation_0-logloss:0.30123\tvalidation_1-logloss:0.35012        (XGBoost)
    [10]\ttraining's binary_logloss: 0.28\tvalid_1's binary_logloss: 0.33     (LightGBM)
    [10]\ttrain-rmse:0.5+0.01\ttest-rmse:0.6+0.02                           (xgb.cv)
    [10]\tvalid's binary_logloss: 0.5 + 0.01                                 (lgb.cv, 4.6+)
    [10]\tcv_agg's valid binary_logloss: 0.5 + 0.01                          (lgb.cv, 4.0-4.5)
    [10]\tcv_agg's binary_logloss: 0.5 + 0.01                                (lgb.cv, 3.x)

Cross-validation prints the mean over the folds and its standard deviation: the mean
is the metric, the deviation a metric of its own named ``<metric>_std`` on the same
split (``test``/``rmse`` and ``test``/``rmse_std``). ``cv_agg`` is the aggregate of
the held-out folds: its inner set name (``valid``, ``train``) names the split, and
without one (3.x) it is ``val``.

``step`` is the round. Dataset names become splits: names with ``train`` are ``train``,
with ``test`` ``test``, with ``eval`` ``eval``, the first other one ``val`` and further
ones ``val_2``, ``val_3``... XGBoost's default names follow its common idiom
``eval_set=[(X_train, y_train), (X_val, y_val)]`` when two sets are logged:
``validation_0`` is ``train`` and ``validation_1`` is ``val``; with one set it is ``val``.
The repeated "best iteration" line after early stopping is not a new point.
"""

from __future__ import annotations

import re

from flightlog.analyze.formats.base import NUMBER, FormatParser

__all__ = ["BoostingParser"]

_ROUND = re.compile(r"^\[(\d+)\]\t([^\n]*)$", re.MULTILINE)
_XGB_PAIR = re.compile(r"([\w.-]+?)-([\w@.:-]+?):(" + NUMBER + r")(?:\+(" + NUMBER + r"))?(?=\s|$)")
_LGB_PAIR = re.compile(
    r"([\w.-]+)'s (?:([\w.-]+) (?=[\w@.:-]+: ))?([\w@.:-]+): (" + NUMBER + r")"
    r"(?: \+ (" + NUMBER + r"))?(?=\s|$)"
)
#: ``cv_agg`` without an inner set name (LightGBM 3.x): the held-out folds
_CV_AGGREGATE = "cv_agg"
_BEST = re.compile(r"[Bb]est iteration is:\s*$", re.MULTILINE)


def _lgb_pairs(rest: str) -> list[tuple[str, str, str, str]]:
    """LightGBM's ``(dataset, metric, value, std)``; ``cv_agg's valid auc`` is set
    ``valid``, a bare ``cv_agg`` the validation folds."""
    pairs = []
    for dataset, inner, metric, raw, raw_std in _LGB_PAIR.findall(rest):
        if dataset == _CV_AGGREGATE:
            dataset = inner or "valid"
        elif inner:
            continue  # "name's word metric" is not a LightGBM pair
        pairs.append((dataset, metric, raw, raw_std))
    return pairs


class BoostingParser(FormatParser):
    name = "boosting"
    description = "XGBoost / LightGBM evaluation lines ('[10]\\tvalid_0's auc: 0.9')"

    def __init__(self, run_name: str = "run") -> None:
        super().__init__(run_name)
        self._splits: dict[str, str] = {}
        self._skip_next_round = False

    @classmethod
    def score(cls, sample: str) -> float:
        rounds = _ROUND.findall(sample)
        if not rounds:
            return 0.0
        pairs = sum(
            1 for _, rest in rounds[:50] if _XGB_PAIR.search(rest) or _LGB_PAIR.search(rest)
        )
        return 0.95 if pairs else 0.0

    def _split(self, dataset: str, all_names: list[str]) -> str:
        found = self._splits.get(dataset)
        if found is not None:
            return found
        lowered = dataset.lower()
        if "train" in lowered:
            split = "train"
        elif "test" in lowered:
            split = "test"
        elif lowered.startswith("eval"):
            split = "eval"
        elif lowered == "validation_0" and "validation_1" in all_names:
            split = "train"
        else:
            used = set(self._splits.values())
            split = "val"
            index = 2
            while split in used:
                split = f"val_{index}"
                index += 1
        self._splits[dataset] = split
        return split

    def _feed(self, text: str) -> None:
        best_positions = [m.end() for m in _BEST.finditer(text)]
        for match in _ROUND.finditer(text):
            if self._skip_next_round or (
                best_positions and any(0 <= match.start() - p <= 2 for p in best_positions)
            ):
                self._skip_next_round = False
                self.builder.current.info["best_iteration"] = int(match.group(1))
                continue
            step = int(match.group(1))
            rest = match.group(2)
            pairs = _lgb_pairs(rest) if "'s " in rest else _XGB_PAIR.findall(rest)
            if not pairs:
                continue
            names = [p[0] for p in pairs]
            self.builder.check_step(step)
            for dataset, metric, raw, raw_std in pairs:
                split = self._split(dataset, names)
                self.builder.add(metric, float(raw), step, None, None, split=split)
                if raw_std:
                    self.builder.add(f"{metric}_std", float(raw_std), step, None, None, split=split)
        if text.rstrip().endswith(("best iteration is:", "Best iteration is:")):
            self._skip_next_round = True
