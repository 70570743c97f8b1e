"""Checking a decoded push against the tenant's limits, entry by entry.

``validate_push`` returns the entries that may be stored plus the rejections, the way
Loki's distributor does: a stream with bad labels loses all its entries
(``invalid_labels``, ``too_many_labels``, ``stream_limit``), a too-long line loses only
itself (``line_too_long``). Checks run over whole columns: the common case (all lines
short) costs one ``max(map(len, lines))`` per stream. ``too_far_behind`` is the store's
call (it knows each stream's newest entry) and ``rate_limited`` is decided on the
surviving bytes by the caller, see ``flightlog.ingest.admit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flightlog.ingest.limits import StreamTracker, TenantLimits
from flightlog.ingest.reasons import INVALID_LABELS, LINE_TOO_LONG, STREAM_LIMIT, TOO_MANY_LABELS
from flightlog.ingest.rejections import Rejections
from flightlog.ingest.selectors import LABEL_NAME_PATTERN
from flightlog.model import Labels, PushRequest, StreamBatch, format_labels

__all__ = ["ValidatedPush", "entry_bytes", "validate_push"]

# A UTF-8 character takes at most 4 bytes: lines shorter than limit/4 chars cannot be too long.
_MAX_UTF8_BYTES_PER_CHAR = 4


@dataclass(frozen=True, slots=True)
class ValidatedPush:
    """What survived validation, and how many bytes it carries (for the rate limit)."""

    request: PushRequest
    entries: int
    nbytes: int


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def entry_bytes(lines: Sequence[str], metadata: Sequence[Mapping[str, str] | None]) -> int:
    """Bytes of lines plus structured metadata names and values, as Loki counts them."""
    total = sum(map(len, lines))
    if not all(map(str.isascii, lines)):
        total = sum(map(_utf8_len, lines))
    for md in metadata:
        if md:
            total += sum(_utf8_len(k) + _utf8_len(v) for k, v in md.items())
    return total


def _labels_problem(labels: Labels, limits: TenantLimits) -> tuple[str, str] | None:
    if not labels:
        return INVALID_LABELS, "a stream needs at least one label"
    if len(labels) > limits.max_labels_per_stream:
        return (
            TOO_MANY_LABELS,
            f"stream {format_labels(labels)} has {len(labels)} labels, more than "
            f"max_labels_per_stream={limits.max_labels_per_stream}: move high-cardinality "
            "values to structured metadata",
        )
    for name, value in labels:
        if LABEL_NAME_PATTERN.match(name) is None:
            return INVALID_LABELS, f"label name {name!r} must match [a-zA-Z_][a-zA-Z0-9_]*"
        if _utf8_len(name) > limits.max_label_name_bytes:
            return (
                INVALID_LABELS,
                f"label name {name[:40]!r}... is longer than {limits.max_label_name_bytes} bytes",
            )
        if _utf8_len(value) > limits.max_label_value_bytes:
            return (
                INVALID_LABELS,
                f"value of label {name!r} is longer than max_label_value_bytes={limits.max_label_value_bytes}",
            )
        if not value:
            return INVALID_LABELS, f"label {name!r} has an empty value"
    return None


def _keep_short_lines(
    batch: StreamBatch, limits: TenantLimits, rejections: Rejections
) -> StreamBatch:
    max_bytes = limits.max_line_bytes
    if max(map(len, batch.lines)) * _MAX_UTF8_BYTES_PER_CHAR <= max_bytes:
        return batch
    sizes = list(map(_utf8_len, batch.lines))
    keep = [i for i, size in enumerate(sizes) if size <= max_bytes]
    if len(keep) == len(sizes):
        return batch
    longest = max(sizes)
    rejections.add(
        LINE_TOO_LONG,
        len(sizes) - len(keep),
        f"line of {longest} bytes in stream {format_labels(batch.labels)} exceeds "
        f"max_line_bytes={max_bytes}",
    )
    return StreamBatch(
        batch.labels,
        [batch.ts_ns[i] for i in keep],
        [batch.lines[i] for i in keep],
        [batch.metadata[i] for i in keep],
    )


def validate_push(
    request: PushRequest,
    limits: TenantLimits,
    streams: StreamTracker,
    rejections: Rejections,
) -> ValidatedPush:
    """Drop invalid streams and entries (counted in ``rejections``); return the rest."""
    kept: list[StreamBatch] = []
    entries = 0
    nbytes = 0
    for batch in request.streams:
        if not len(batch):
            continue
        problem = _labels_problem(batch.labels, limits)
        if problem is None and not streams.admit(request.tenant, batch.labels):
            problem = (
                STREAM_LIMIT,
                f"tenant {request.tenant!r} already has max_streams_per_tenant="
                f"{limits.max_streams_per_tenant} streams; {format_labels(batch.labels)} is new",
            )
        if problem is not None:
            rejections.add(problem[0], len(batch), problem[1])
            continue
        batch = _keep_short_lines(batch, limits, rejections)
        if len(batch):
            kept.append(batch)
            entries += len(batch)
            nbytes += entry_bytes(batch.lines, batch.metadata)
    return ValidatedPush(PushRequest(request.tenant, tuple(kept)), entries, nbytes)
