"""Parsing a whole log: detection, chunked reading, error-signature scanning.

``parse_path`` and ``parse_text`` return a ``ParsedLog``. Each chunk goes through the
parser's ``feed_scanning``, which finds the error-signature lines in it and pins each to
the last step logged before it and to the run it happened in (by default by feeding the
chunk in pieces cut at those lines; see ``flightlog.analyze.formats.base``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flightlog.analyze.formats import PARSERS, FormatParser, detect_format
from flightlog.analyze.reading import iter_text_chunks, normalize, open_log, read_sample
from flightlog.analyze.table import ErrorLine, ParsedLog
from flightlog.errors import AnalyzeError

__all__ = ["LogReader", "make_parser", "parse_path", "parse_text"]


def make_parser(format_name: str, run_name: str) -> FormatParser:
    """A fresh parser for ``format_name``; the error lists the valid names."""
    try:
        parser_class = PARSERS[format_name]
    except KeyError:
        names = ", ".join(sorted(PARSERS))
        raise AnalyzeError(f"unknown log format {format_name!r}: use one of {names}") from None
    return parser_class(run_name)


class LogReader:
    """Feeds text chunks to a parser and collects error lines; usable incrementally."""

    def __init__(self, parser: FormatParser) -> None:
        self.parser = parser
        self.errors: list[ErrorLine] = []
        self.line_count = 0

    def feed(self, chunk: str) -> None:
        lines_before = self.line_count
        for found in self.parser.feed_scanning(chunk):
            self.errors.append(
                ErrorLine(
                    signature=found.hit.signature.name,
                    run=found.run,
                    line_number=lines_before + found.line_index + 1,
                    text=found.hit.line,
                    step=found.step,
                    details=tuple(found.hit.details.items()),
                )
            )
        self.line_count = self.parser.lines

    def finish(self) -> ParsedLog:
        runs = self.parser.finish()
        return ParsedLog(self.parser.name, runs, self.errors, self.line_count)


def parse_chunks(chunks: Iterable[str], format_name: str, run_name: str = "run") -> ParsedLog:
    reader = LogReader(make_parser(format_name, run_name))
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


def parse_path(
    path: str | Path, format_name: str | None = None, run_name: str | None = None
) -> ParsedLog:
    """Parse the log at ``path`` (gzip/zstd welcome); detect its format unless given."""
    path = Path(path)
    name = run_name or _run_name(path)
    if format_name is None:
        format_name = detect_format(read_sample(path), path.name)
    with open_log(path) as stream:
        return parse_chunks(iter_text_chunks(stream), format_name, name)


def parse_text(text: str, format_name: str | None = None, run_name: str = "run") -> ParsedLog:
    """Parse a log held in a string."""
    text = normalize(text)
    if format_name is None:
        format_name = detect_format(text[: 256 * 1024])
    return parse_chunks([text], format_name, run_name)


def _run_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".zst", ".zstd", ".log", ".txt", ".jsonl", ".json", ".csv", ".out"):
        name = name.removesuffix(suffix)
    if name in ("metrics", "trainer_state") and path.parent.name:
        return path.parent.name
    return name or "run"
