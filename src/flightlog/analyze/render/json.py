"""The JSON report: ``{"schema_version", "logs": [LogAnalysis.to_dict(), ...]}`` for several
logs, or the single log's object when one was analysed (see ``flightlog.analyze``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

import orjson

from flightlog.analyze.analysis import SCHEMA_VERSION, LogAnalysis

__all__ = ["render_json"]


def render_json(
    analyses: Sequence[LogAnalysis], out: TextIO, max_points: int | None = None
) -> None:
    if len(analyses) == 1:
        document: object = analyses[0].to_dict(max_points)
    else:
        document = {
            "schema_version": SCHEMA_VERSION,
            "logs": [analysis.to_dict(max_points) for analysis in analyses],
        }
    out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
    out.write("\n")
