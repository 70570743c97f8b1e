"""Writing ``<name>_summary.json``: redacted, then replaced atomically.

The summary is no event stream, so only redaction (not sampling or level filtering)
applies to it. It is written to a temporary file and renamed over the old one, so a
reader (or a run killed mid-write) never sees half a summary.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from flightlog.sdk.formatter import _default
from flightlog.sdk.processors import Processor, run_processors

__all__ = ["write_summary"]


def write_summary(
    path: Path, summary: dict[str, Any], redactors: Sequence[Processor]
) -> dict[str, Any]:
    """Redact ``summary``, write it to ``path`` atomically and return what was written."""
    redacted = run_processors(redactors, summary, {})
    summary = redacted if redacted is not None else summary
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(
        orjson.dumps(
            summary, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
        )
    )
    os.replace(tmp, path)
    return summary
