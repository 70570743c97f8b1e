"""Reading log files: compression, chunking, encoding, and bad paths."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import zstandard

from flightlog.analyze import analyze_path
from flightlog.analyze.parse import parse_path, parse_text
from flightlog.analyze.reading import iter_text_chunks, normalize
from flightlog.errors import AnalyzeError

GOLDEN = Path(__file__).parent / "golden"
LOG = GOLDEN / "keras" / "keras3_verbose1.log"


def rows(path: Path) -> list[tuple[object, ...]]:
    return [row[1:] for row in parse_path(path).tidy_rows()]


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_compressed_logs_parse_like_the_plain_file(tmp_path: Path, kind: str) -> None:
    """gzip and zstd files (recognised by magic bytes, any name) give the same table."""
    data = LOG.read_bytes()
    target = tmp_path / "train.log.any"
    target.write_bytes(gzip.compress(data) if kind == "gzip" else zstandard.compress(data))
    assert rows(target) == rows(LOG)


def test_truncated_compressed_file_is_a_clear_error(tmp_path: Path) -> None:
    """A gzip cut in the middle raises AnalyzeError saying it may be truncated."""
    target = tmp_path / "cut.log.gz"
    target.write_bytes(gzip.compress(LOG.read_bytes() * 50)[:2000])
    with pytest.raises(AnalyzeError, match="truncated"):
        parse_path(target, "keras")


def test_small_chunks_give_the_same_table_as_one_chunk() -> None:
    """Chunk boundaries anywhere (even mid-epoch, mid-redraw) do not change the result."""
    from flightlog.analyze.parse import parse_chunks

    with open(LOG, "rb") as stream:
        chunks = list(iter_text_chunks(stream, chunk_bytes=97))
    assert len(chunks) > 20
    chunked = parse_chunks(chunks, "keras", "keras3_verbose1")
    assert list(chunked.tidy_rows()) == list(parse_path(LOG).tidy_rows())


def test_hf_small_chunks_give_the_same_table() -> None:
    """The HF columnar path gives the same result whatever the chunking."""
    from flightlog.analyze.parse import parse_chunks

    text = "".join(
        f"{{'loss': {1 / i:.4f}, 'grad_norm': 1.0, 'learning_rate': 1e-05, 'epoch': {i / 100}}}\n"
        + ("{'eval_loss': 0.5, 'epoch': 0.1}\n" if i % 7 == 0 else "")
        for i in range(1, 60)
    )
    whole = list(parse_text(text, "hf").tidy_rows())
    pieces = [text[i : i + 300] for i in range(0, len(text), 300)]
    # cut on line boundaries, as the reader does
    lines = text.splitlines(keepends=True)
    chunks = ["".join(lines[i : i + 5]) for i in range(0, len(lines), 5)]
    assert list(parse_chunks(chunks, "hf").tidy_rows()) == whole
    assert pieces  # (arbitrary cuts are the reader's job, tested above)


def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    """Bad bytes become U+FFFD; the metrics around them are still read."""
    target = tmp_path / "bad.log"
    target.write_bytes(b"epoch 1 loss=0.5\n\xff\xfe\xfa garbage\nepoch 2 loss=0.4\n")
    assert len(parse_path(target).runs[0].get("train", "loss")) == 2


def test_missing_file_and_directory_are_clear_errors(tmp_path: Path) -> None:
    """A missing path or a directory raises AnalyzeError naming it."""
    with pytest.raises(AnalyzeError, match="does not exist"):
        analyze_path(tmp_path / "nope.log")
    with pytest.raises(AnalyzeError, match="is a directory"):
        analyze_path(tmp_path)


def test_empty_file_has_no_runs(tmp_path: Path) -> None:
    """An empty log is analysed as having no runs."""
    target = tmp_path / "empty.log"
    target.write_text("")
    assert analyze_path(target).runs == ()


def test_huge_single_line_is_handled(tmp_path: Path) -> None:
    """A multi-megabyte line without newline does not break the reader."""
    target = tmp_path / "long.log"
    target.write_text("x" * 3_000_000 + " loss=0.5")
    assert analyze_path(target, "generic").runs[0].table.get("train", "loss").values.tolist() == [
        0.5
    ]


def test_normalize_strips_ansi_and_backspaces_and_splits_redraws() -> None:
    """ANSI codes and backspaces go; \\r and \\r\\n become newlines."""
    assert normalize("\x1b[1;32mok\x1b[0m\b\b a\rb\r\nc") == "ok a\nb\nc"
