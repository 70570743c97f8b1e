"""What every format parser is: a streaming consumer of normalised text chunks.

A parser is fed chunks that end on line boundaries (see ``flightlog.analyze.reading``),
in order, and returns its runs on ``finish``. Parsers keep whatever state a record
spanning two chunks needs, so the same object serves a whole file, a growing file
(``--follow``) or a test string. ``score`` tells the detector how sure the parser is that
a sample of a log is its format (0 = not at all).

``feed_scanning`` is ``feed`` plus the error-signature lines of the chunk, each pinned to
the step and run the parser had reached at that line. By default the whole chunk is
scanned and fed in pieces cut at the hits; a parser that proves most lines pure data
(numbers under a fixed layout of keys, which cannot hold an error message) may scan
only the others.
"""

from __future__ import annotations

import re
from typing import ClassVar, NamedTuple

from flightlog.analyze.signatures import SignatureHit, find_signatures
from flightlog.analyze.table import RunBuilder, RunTable

__all__ = ["NUMBER", "FormatParser", "FoundError", "to_float"]

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


class FoundError(NamedTuple):
    """An error-signature line met while feeding a chunk."""

    hit: SignatureHit
    line_index: int  # 0-based, within the chunk fed
    step: int | None  # the last step recorded before the line
    run: str  # the run being parsed at that line


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

    def feed_scanning(self, text: str) -> list[FoundError]:
        """``feed`` the chunk and return its error-signature lines, each pinned to the
        step and run reached when the parser got to it."""
        found: list[FoundError] = []
        position = 0
        for hit in find_signatures(text) if text else []:
            if hit.position > position:
                self.feed(text[position : hit.position])
                position = hit.position
            line_index = text.count("\n", 0, hit.position)
            found.append(FoundError(hit, line_index, self.last_step, self.current_run))
        self.feed(text[position:] if position else text)
        return found

    @property
    def current_run(self) -> str:
        """The name of the run points go to now."""
        return self.builder.current.run

    @property
    def progress_count(self) -> int:
        """How many progress points were parsed: each run's longest series, summed."""
        return sum(max(map(len, run.series.values()), default=0) for run in self.builder.runs)

    @property
    def last_step(self) -> int | None:
        """The last step recorded so far (errors found in the log are pinned to it)."""
        return self.builder._last_step

    def finish(self) -> list[RunTable]:
        """Flush pending state and return the runs parsed."""
        return self.builder.finish(self.lines)
