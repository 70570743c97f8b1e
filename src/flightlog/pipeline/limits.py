"""The line length cap: truncate (marking the cut) or drop lines longer than a bound."""

from __future__ import annotations

from flightlog.errors import ConfigError
from flightlog.pipeline.record import REASON_LINE_TOO_LONG, Drop, LogRecord, StageResult
from flightlog.pipeline.stage import Stage

__all__ = ["TRUNCATION_MARK", "TruncateStage"]

TRUNCATION_MARK = "…[truncated]"


class TruncateStage(Stage):
    """Cap lines at ``max_line_bytes`` UTF-8 bytes: truncate them, or drop them."""

    kind = "truncate"

    def __init__(self, max_line_bytes: int, *, action: str = "truncate") -> None:
        super().__init__()
        if max_line_bytes < 64:
            raise ConfigError(
                f"truncate stage: max_line_bytes {max_line_bytes} is below the minimum 64"
            )
        if action not in ("truncate", "drop"):
            raise ConfigError(f"truncate stage: action {action!r} must be 'truncate' or 'drop'")
        self.max_line_bytes = max_line_bytes
        self.drop = action == "drop"
        self._mark_bytes = len(TRUNCATION_MARK.encode())
        self._drop = Drop(REASON_LINE_TOO_LONG)

    def __call__(self, record: LogRecord) -> StageResult:
        line = record.line
        # Characters are at most 4 bytes, so a short line needs no encoding to check.
        if len(line) * 4 <= self.max_line_bytes:
            return record
        raw = line.encode("utf-8", "surrogatepass")
        if len(raw) <= self.max_line_bytes:
            return record
        if self.drop:
            return self._drop
        cut = raw[: self.max_line_bytes - self._mark_bytes].decode("utf-8", "ignore")
        return record.with_line(cut + TRUNCATION_MARK)
