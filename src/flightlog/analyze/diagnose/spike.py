"""``spike``: isolated outliers, by robust z-score against the preceding window.

z = (value - median) / (1.4826 * MAD) over the ``window`` points before each point, so
a slow trend is not a spike; only upward spikes count for losses (and gradient norms).
The MAD is floored at 0.1 % of the median so a flat curve's tiny jitter is not a spike.
"""

from __future__ import annotations

import numpy as np

from flightlog.analyze.diagnose.model import WARNING, Diagnosis, Kind, direction, round_value
from flightlog.analyze.diagnose.params import SpikeParams
from flightlog.analyze.table import RunTable

__all__ = ["find_spikes", "robust_z"]


def robust_z(values: np.ndarray, window: int) -> np.ndarray:
    """Each point's z-score against the median/MAD of the ``window`` points before it."""
    n = len(values)
    z = np.zeros(n)
    if n <= window:
        return z
    windows = np.lib.stride_tricks.sliding_window_view(values[:-1], window)
    if len(windows) > 200_000:  # keep memory bounded on huge curves: subsample windows
        stride = len(windows) // 200_000 + 1
        medians = np.repeat(np.median(windows[::stride], axis=1), stride)[: len(windows)]
        mads = np.repeat(
            np.median(np.abs(windows[::stride] - medians[::stride, None]), axis=1), stride
        )[: len(windows)]
    else:
        medians = np.median(windows, axis=1)
        mads = np.median(np.abs(windows - medians[:, None]), axis=1)
    scale = np.maximum(1.4826 * mads, np.abs(medians) * 1e-3 + 1e-12)
    z[window:] = (values[window:] - medians) / scale
    return z


def find_spikes(run: RunTable, params: SpikeParams) -> list[Diagnosis]:
    found: list[Diagnosis] = []
    for (split, metric), series in run.series.items():
        if not (direction(metric) < 0 or metric == "grad_norm"):
            continue
        steps, values = series.finite_arrays()
        if len(values) < params.min_points:
            continue
        z = robust_z(values, params.window)
        spikes = np.nonzero(z > params.z_threshold)[0]
        if len(spikes) == 0:
            continue
        top = spikes[np.argsort(-z[spikes])][: params.max_reported]
        listed = [
            {
                "step": int(steps[i]),
                "value": round_value(float(values[i])),
                "z": round(float(z[i]), 1),
            }
            for i in sorted(top)
        ]
        found.append(
            Diagnosis(
                kind=Kind.SPIKE,
                severity=WARNING,
                message=(
                    f"{split} {metric} spiked {len(spikes)} time(s), first at step "
                    f"{int(steps[spikes[0]])} (robust z > {params.z_threshold:g}). Look at the "
                    "batches at those steps (bad samples), lower the learning rate or clip gradients."
                ),
                evidence={"metric": metric, "split": split, "count": len(spikes), "spikes": listed},
                first_step=int(steps[spikes[0]]),
                last_step=int(steps[spikes[-1]]),
            )
        )
    return found
