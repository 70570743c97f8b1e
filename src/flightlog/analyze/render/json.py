"""The JSON report: ``{"schema_version", "logs": [LogAnalysis.to_dict(), ...]}`` for several
logs, or the single log's object when one was analysed (see ``flightlog.analyze``).

A large log's curves hold millions of points, so the report is streamed: the document is
serialised with a placeholder string for each series column, and each placeholder is
written as the column's chunks serialised one at a time, indented to where it stands.
The text is exactly ``orjson.dumps(to_dict(), OPT_INDENT_2)``, without ever holding a
Python object per point or the whole text.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from typing import TextIO

import numpy as np
import orjson

from flightlog.analyze.analysis import SCHEMA_VERSION, LogAnalysis, column_chunks
from flightlog.analyze.table import Series

__all__ = ["render_json"]


def render_json(
    analyses: Sequence[LogAnalysis], out: TextIO, max_points: int | None = None
) -> None:
    token = f"@flightlog-column:{secrets.token_hex(8)}:"
    columns: list[tuple[Series, str, np.ndarray | None]] = []

    def stand_in(series: Series, column: str, keep: np.ndarray | None) -> str:
        columns.append((series, column, keep))
        return f"{token}{len(columns) - 1}@"

    if len(analyses) == 1:
        document: object = analyses[0].to_dict(max_points, stand_in)
    else:
        document = {
            "schema_version": SCHEMA_VERSION,
            "logs": [analysis.to_dict(max_points, stand_in) for analysis in analyses],
        }
    skeleton = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    position = 0
    for index, column in enumerate(columns):
        marker = f'"{token}{index}@"'.encode()
        at = skeleton.index(marker, position)
        out.write(skeleton[position:at].decode())
        indent = at - (skeleton.rfind(b"\n", 0, at) + 1) - len(_key(skeleton, at))
        for piece in _column_text(*column, indent=indent):
            out.write(piece)
        position = at + len(marker)
    out.write(skeleton[position:].decode())
    out.write("\n")


def _key(skeleton: bytes, at: int) -> bytes:
    """The ``"name": `` before a placeholder (its line is ``<indent>"name": "<marker>"``)."""
    line_start = skeleton.rfind(b"\n", 0, at) + 1
    return skeleton[line_start:at].lstrip(b" ")


def _column_text(
    series: Series, column: str, keep: np.ndarray | None, indent: int
) -> Iterator[str]:
    """The column as ``orjson.dumps(..., OPT_INDENT_2)`` would write it ``indent`` deep."""
    newline = b"\n" + b" " * indent
    first = True
    for chunk in column_chunks(series, column, keep):
        if not chunk:
            continue
        text = orjson.dumps(chunk, option=orjson.OPT_INDENT_2)
        body = text[1:-2].replace(b"\n", newline)  # "\n  item,\n  item" re-indented
        yield ("[" if first else ",") + body.decode()
        first = False
    yield "[]" if first else newline.decode() + "]"
