"""The out-of-order window: which entries of an append are too far behind their stream.

An entry is accepted when its ts is at least the stream's newest ts (stored so far, then
earlier in the same append) minus the window; the others are rejected with reason
``too_far_behind``. Vectorised per stream: the common case costs a min and a max.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from flightlog.model import StreamBatch, format_labels

from ._head import StreamState

__all__ = ["WindowCheck", "check_window", "keep_accepted"]


@dataclass(frozen=True)
class WindowCheck:
    """Per stream, the mask of accepted entries (``None``: all), and what was rejected."""

    masks: list[np.ndarray | None]
    rejected: int
    samples: list[str]


def check_window(
    ids: Sequence[int],
    streams: Sequence[StreamBatch],
    ts_arrays: Sequence[np.ndarray],
    known: Mapping[int, StreamState],
    window_ns: int,
    max_samples: int,
) -> WindowCheck:
    masks: list[np.ndarray | None] = []
    rejected = 0
    samples: list[str] = []
    # Newest ts per stream so far: the stored state, then this append (an append may
    # carry the same stream twice).
    newest_seen: dict[int, int] = {}
    for sid, stream, ts in zip(ids, streams, ts_arrays, strict=True):
        state = known.get(sid)
        prior = newest_seen.get(sid, state.last_ts if state is not None else None)
        newest = int(ts.max()) if prior is None else max(int(ts.max()), prior)
        newest_seen[sid] = newest
        mask = None
        if int(ts.min()) < newest - window_ns:
            running = np.maximum.accumulate(ts)
            if prior is not None:
                running = np.maximum(running, prior)
            mask = ts >= running - window_ns
            dropped = np.flatnonzero(~mask)
            rejected += len(dropped)
            for i in dropped[: max(0, max_samples - len(samples))]:
                samples.append(_message(stream, int(i), int(running[i]), window_ns))
        masks.append(mask)
    return WindowCheck(masks=masks, rejected=rejected, samples=samples)


def keep_accepted(
    streams: Sequence[StreamBatch],
    ids: Sequence[int],
    ts_arrays: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None],
) -> tuple[list[StreamBatch], list[int], list[np.ndarray]]:
    """The streams, ids and ts arrays with only the accepted entries (empty streams go)."""
    out_streams, out_ids, out_ts = [], [], []
    for stream, sid, ts, mask in zip(streams, ids, ts_arrays, masks, strict=True):
        if mask is not None:
            index = np.flatnonzero(mask)
            if not len(index):
                continue
            stream = StreamBatch(
                labels=stream.labels,
                ts_ns=[stream.ts_ns[i] for i in index],
                lines=[stream.lines[i] for i in index],
                metadata=[stream.metadata[i] for i in index],
            )
            ts = ts[index]
        out_streams.append(stream)
        out_ids.append(sid)
        out_ts.append(ts)
    return out_streams, out_ids, out_ts


def _message(stream: StreamBatch, index: int, newest: int, window_ns: int) -> str:
    return (
        f"entry for stream {format_labels(stream.labels)} has timestamp {stream.ts_ns[index]},"
        f" too far behind: the oldest accepted is {newest - window_ns}"
        f" (newest {newest} minus the out-of-order window)"
    )
