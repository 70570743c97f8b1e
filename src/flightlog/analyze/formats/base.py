"""What every format parser is: a streaming consumer of normalised text chunks.

A parser is fed chunks that end on line boundaries (see ``flightlog.analyze.reading``),
in order, and returns its runs on ``finish``. Parsers keep whatever state a record
spanning two chunks needs, so the same object serves a whole file, a growing file
(``--follow``) or a test string. ``score`` tells the detector how sure the parser is that
a sample of a log is its format (0 = not at all).
"""

from __future__ import annotations

import re
from typing import ClassVar

from flightlog.analyze.table import RunBuilder, RunTable

__all__ = ["NUMBER", "FormatParser", "to_float"]

#: A number as frameworks print them, including nan/inf spellings.
NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf|Infinity)"

_NUMBER_RE = re.compile(NUMBER)


def to_float(text: str) -> float | None:
    """``float(text)`` for what frameworks print, or None when it is not a number."""
    try:
        return float(text)
    except ValueError:
        text = text.strip().strip("'\"").rstrip("%,")
        try:
            return float(text)
        except ValueError:
            return None


class FormatParser:
    """Base of the format parsers: holds the ``RunBuilder`` and the line count."""

    name: ClassVar[str] = ""
    #: One line saying which logs the parser reads, for ``--help`` and the docs.
    description: ClassVar[str] = ""

    def __init__(self, run_name: str = "run") -> None:
        self.builder = RunBuilder(run_name)
        self.lines = 0

    @classmethod
    def score(cls, sample: str) -> float:
        """How sure this parser is that ``sample`` (the start of a log) is its format."""
        return 0.0

    def feed(self, text: str) -> None:
        """Consume a chunk of whole, normalised lines."""
        self.lines += text.count("\n")
        self._feed(text)

    def _feed(self, text: str) -> None:
        raise NotImplementedError

    @property
    def last_step(self) -> int | None:
        """The last step recorded so far (errors found in the log are pinned to it)."""
        return self.builder._last_step

    def finish(self) -> list[RunTable]:
        """Flush pending state and return the runs parsed."""
        return self.builder.finish(self.lines)
