"""Reading training logs: decompression, decoding and normalisation, in chunks.

Logs are read in chunks of whole lines (``CHUNK_BYTES`` at a time) so memory stays near
one chunk whatever the file size. Each chunk is decoded as UTF-8 (bad bytes replaced),
then normalised in bulk — the only per-character work, done by C-level ``str`` methods:

- ANSI escape sequences (colours, cursor moves) are removed;
- backspaces are dropped and carriage returns become newlines, so each progress-bar
  redraw is a line of its own and the last redraw is the last line.

gzip and zstd files are recognised by their magic bytes, not their names.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

from flightlog.errors import AnalyzeError

__all__ = ["CHUNK_BYTES", "iter_text_chunks", "normalize", "open_log", "read_sample"]

CHUNK_BYTES = 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def open_log(path: str | Path) -> BinaryIO:
    """Open ``path`` for reading bytes, transparently decompressing gzip or zstd."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    except FileNotFoundError as exc:
        raise AnalyzeError(f"log file {str(path)!r} does not exist: check the path") from exc
    except IsADirectoryError as exc:
        raise AnalyzeError(f"{str(path)!r} is a directory: pass the log file inside it") from exc
    except OSError as exc:
        raise AnalyzeError(f"cannot read log file {str(path)!r}: {exc.strerror}") from exc
    magic = raw.read(4)
    raw.seek(0)
    if magic.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if magic.startswith(_ZSTD_MAGIC):
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    return raw


def normalize(text: str) -> str:
    """Strip ANSI escapes and backspaces; turn carriage returns into newlines."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\b" in text:
        text = text.replace("\b", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def iter_text_chunks(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """Yield normalised text chunks that each end on a line boundary.

    The last chunk may end without a newline (a truncated last line); it is yielded as
    it is, so parsers see it and may use or ignore it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    carry = ""
    while True:
        try:
            data = stream.read(chunk_bytes)
        except (OSError, EOFError, zstandard.ZstdError) as exc:
            raise AnalyzeError(
                f"log is compressed but cannot be decompressed ({exc}): it may be truncated"
            ) from exc
        if not data:
            break
        text = carry + decoder.decode(data)
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut < 0:
            carry = text
            if len(carry) > 16 * chunk_bytes:  # one absurdly long line: pass it on anyway
                yield normalize(carry)
                carry = ""
            continue
        carry = text[cut + 1 :]
        yield normalize(text[: cut + 1])
    tail = carry + decoder.decode(b"", final=True)
    if tail:
        yield normalize(tail)


def read_sample(path: str | Path, sample_bytes: int = 256 * 1024) -> str:
    """The normalised first ``sample_bytes`` of a log, for format detection."""
    with open_log(path) as stream:
        try:
            data = stream.read(sample_bytes)
        except (OSError, EOFError, zstandard.ZstdError) as exc:
            raise AnalyzeError(f"log cannot be decompressed ({exc}): it may be truncated") from exc
    return normalize(data.decode("utf-8", errors="replace"))
