"""Per-segment word index: which row groups hold each word, so line filters skip row groups.

A segment's *words* are its lines' maximal runs of ASCII letters that are at least
``MIN_LETTERS`` long and hold a letter outside ``a-f``/``A-F``. The second rule keeps
random hex (trace ids, hashes, UUIDs) out: hex digits never form such a run, so the
index stays the size of the logs' vocabulary (kilobytes), not of their ids.

A ``|= "needle"`` line can only sit in a row group whose words cover the needle's
letter runs: a run of the needle bounded by non-letters on both sides (inside the
needle) is a whole word of the line; one at the needle's start ends a word, one at its
end starts a word, and a needle that is one run lies inside a word. Such a word is
indexed whenever the needle's run itself qualifies (it is at least as long and holds
the same letters), so the row groups of the matching words are a superset of those
holding the needle. Runs that do not qualify prune nothing.

Stored in the segment's Parquet footer (key ``flightlog.words``) as an Arrow IPC stream
(zstd) of ``(word string, groups list<uint32>)`` sorted by word; row group ``g`` of the
file holds ``block = block_base + g`` in every row (``block`` column), so a DuckDB
``block IN (...)`` filter reads exactly the chosen row groups of many files at once.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "BLOCK_BASE_KEY",
    "MIN_LETTERS",
    "WORDS_KEY",
    "WordIndex",
    "build_word_index",
    "needle_terms",
    "read_word_index",
]

WORDS_KEY = b"flightlog.words"
BLOCK_BASE_KEY = b"flightlog.block_base"
MIN_LETTERS = 4
_RUNS = re.compile(r"[A-Za-z]+")
_NOT_HEX = re.compile(r"[G-Zg-z]")
_CHUNK_GROUPS = 64
_SCHEMA = pa.schema([("word", pa.string()), ("groups", pa.list_(pa.uint32()))])

_DATABASE: duckdb.DuckDBPyConnection | None = None
_DATABASE_LOCK = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    global _DATABASE
    with _DATABASE_LOCK:
        if _DATABASE is None:
            # Small: a segment cut runs beside ingestion, and the server's memory is bounded.
            _DATABASE = duckdb.connect(":memory:", config={"memory_limit": "128MB"})
        return _DATABASE.cursor()


def build_word_index(lines: pa.ChunkedArray | pa.Array, rows_per_group: int) -> bytes:
    """The serialized index of ``lines`` (in file order) for groups of ``rows_per_group``."""
    cursor = _cursor()
    pairs = []
    chunk_rows = _CHUNK_GROUPS * rows_per_group
    try:
        # Chunks of row groups keep DuckDB's hash tables small (server memory is bounded).
        for first in range(0, len(lines), chunk_rows):
            piece = lines.slice(first, chunk_rows)
            groups = np.arange(first, first + len(piece), dtype=np.uint32) // np.uint32(
                rows_per_group
            )
            cursor.register("segment_lines", pa.table({"line": piece, "g": groups}))
            # DISTINCT: a word is in a row group once, however often it repeats there.
            pairs.append(
                cursor.sql(
                    f"""
                    SELECT DISTINCT word, g FROM (
                        SELECT unnest(regexp_extract_all(line, '[A-Za-z]{{{MIN_LETTERS},}}'))
                            AS word, g
                        FROM segment_lines
                    ) WHERE regexp_matches(word, '[G-Zg-z]')
                    """
                ).to_arrow_table()
            )
            cursor.unregister("segment_lines")
        all_pairs = pa.concat_tables(pairs) if pairs else pa.table({"word": [], "g": []})
        cursor.register("word_pairs", all_pairs)
        result = cursor.sql(
            "SELECT word, list(g ORDER BY g) AS groups FROM word_pairs GROUP BY word ORDER BY word"
        ).to_arrow_table()
    finally:
        cursor.close()
    result = result.cast(_SCHEMA)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, _SCHEMA, options=options) as writer:
        writer.write_table(result)
    return sink.getvalue().to_pybytes()


def needle_terms(needle: str) -> list[tuple[str, bool, bool]]:
    """``(run, open_start, open_end)`` for each letter run of ``needle`` that can prune.

    ``open_start``: the run begins the needle (the line's word may go on to the left).
    """
    terms = []
    for match in _RUNS.finditer(needle):
        run = match.group()
        if len(run) >= MIN_LETTERS and _NOT_HEX.search(run):
            terms.append((run, match.start() == 0, match.end() == len(needle)))
    return terms


@dataclass(frozen=True)
class WordIndex:
    """A segment's words (sorted) and the row groups holding each."""

    words: tuple[str, ...]
    groups: tuple[np.ndarray, ...]
    group_count: int
    block_base: int

    @classmethod
    def parse(cls, blob: bytes, group_count: int, block_base: int) -> WordIndex:
        table = pa.ipc.open_stream(blob).read_all()
        words = tuple(table.column("word").to_pylist())
        column = table.column("groups").combine_chunks()
        offsets = column.offsets.to_numpy()
        values = column.values.to_numpy()
        groups = tuple(values[offsets[i] : offsets[i + 1]] for i in range(len(words)))
        return cls(words, groups, group_count, block_base)

    @property
    def nbytes(self) -> int:
        return sum(len(w) + 8 * len(g) + 64 for w, g in zip(self.words, self.groups, strict=True))

    def _term_groups(self, run: str, open_start: bool, open_end: bool) -> np.ndarray:
        if not open_start and not open_end:
            at = bisect.bisect_left(self.words, run)
            found = at < len(self.words) and self.words[at] == run
            return self.groups[at] if found else np.empty(0, np.uint32)
        if open_end and not open_start:
            at = bisect.bisect_left(self.words, run)
            hits = []
            while at < len(self.words) and self.words[at].startswith(run):
                hits.append(self.groups[at])
                at += 1
        elif open_start and not open_end:
            hits = [g for w, g in zip(self.words, self.groups, strict=True) if w.endswith(run)]
        else:
            hits = [g for w, g in zip(self.words, self.groups, strict=True) if run in w]
        return np.unique(np.concatenate(hits)) if hits else np.empty(0, np.uint32)

    def _needle_groups(self, needle: str) -> np.ndarray | None:
        chosen: np.ndarray | None = None
        for term in needle_terms(needle):
            groups = self._term_groups(*term)
            chosen = groups if chosen is None else np.intersect1d(chosen, groups)
        return chosen

    def candidate_groups(
        self, needles: Sequence[str], alternatives: Sequence[Sequence[str]] = ()
    ) -> np.ndarray | None:
        """Row groups that may hold a line containing every needle and one needle of each
        group of ``alternatives``; None: the index cannot tell (no pruning)."""
        parts = [self._needle_groups(needle) for needle in needles]
        for group in alternatives:
            found = [self._needle_groups(needle) for needle in group]
            # One alternative the index cannot judge may be anywhere: the group prunes nothing.
            if group and all(f is not None for f in found):
                parts.append(np.unique(np.concatenate(found)))  # type: ignore[arg-type]
        chosen: np.ndarray | None = None
        for groups in parts:
            if groups is not None:
                chosen = groups if chosen is None else np.intersect1d(chosen, groups)
        return chosen


def read_word_index(path: Path) -> WordIndex | None:
    """The index in a segment's footer; None for a segment without one (or unreadable:
    the scan that follows reports a damaged file)."""
    try:
        metadata = pq.read_metadata(path)
    except (OSError, pa.ArrowInvalid):
        return None
    values = metadata.metadata or {}
    blob, base = values.get(WORDS_KEY), values.get(BLOCK_BASE_KEY)
    if blob is None or base is None:
        return None
    try:
        return WordIndex.parse(blob, metadata.num_row_groups, int(base))
    except (OSError, pa.ArrowInvalid, ValueError):
        return None
