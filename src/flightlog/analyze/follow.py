"""Following a growing training log: tail it (surviving rotation), re-analyse, alert.

``LogFollower.poll()`` reads what was appended since the last poll and feeds it to one
streaming parser, so each poll costs only the new bytes. Rotation is noticed when the
path names a different file (inode changed) or the file shrank (truncated/copied over):
the rest of the old file is read first, then the new file from its start. A partial last
line waits for its newline. ``snapshot()`` analyses a copy of the parser state, leaving
the live parser untouched.

``DiagnosisAlerter`` posts each new diagnosis of severity ≥ warning once to a webhook
(JSON ``{"source", "run", "diagnosis"}``); a diagnosis is "the same" when run, kind and
its metric/split/signature match. A failing webhook is reported, never fatal.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from flightlog.analyze.analysis import LogAnalysis, analyze_parsed, jsonable
from flightlog.analyze.diagnose import Diagnosis, DiagnosisParams
from flightlog.analyze.diagnose.model import SEVERITY_RANK, WARNING
from flightlog.analyze.formats import detect_format
from flightlog.analyze.parse import LogReader, make_parser
from flightlog.analyze.reading import normalize

__all__ = ["DETECT_CHARS", "DiagnosisAlerter", "LogFollower"]

#: How much of a followed log is kept to re-detect its format while it looks generic.
DETECT_CHARS = 256 * 1024


class LogFollower:
    """Incrementally parses a file that is still being written."""

    def __init__(
        self,
        path: str | Path,
        format_name: str | None = None,
        params: DiagnosisParams | None = None,
        run_name: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.format_name = format_name
        self.params = params
        self.run_name = run_name or self.path.stem
        self._reader: LogReader | None = None
        self._stream: BinaryIO | None = None
        self._inode: int | None = None
        self._partial = b""
        self._sample: list[str] | None = [] if format_name is None else None
        self._sample_chars = 0
        self.rotations = 0

    def _open(self) -> bool:
        try:
            stream = open(self.path, "rb")  # noqa: SIM115 - kept open between polls
        except FileNotFoundError:
            return False
        self._stream = stream
        self._inode = os.fstat(stream.fileno()).st_ino
        return True

    def _feed_text(self, text: str) -> None:
        """Feed normalised text; while the log is still short and only looks generic,
        re-detect on everything read so far and start over with a better parser, so a
        log that opens with framework warnings is not locked into the generic one."""
        if self._sample is not None:
            self._sample.append(text)
            self._sample_chars += len(text)
        if self._reader is None or self._redetect():
            sample = "".join(self._sample or [text])
            name = self.format_name or detect_format(sample[:DETECT_CHARS], self.path.name)
            self._reader = LogReader(make_parser(name, self.run_name))
            self._reader.feed(sample)
        else:
            self._reader.feed(text)
        if self._sample is not None and (
            self._sample_chars >= DETECT_CHARS or self._reader.parser.name != "generic"
        ):
            self._sample = None  # detection settled

    def _redetect(self) -> bool:
        if self.format_name is not None or self._sample is None or self._reader is None:
            return False
        return detect_format("".join(self._sample), self.path.name) != "generic"

    def _drain(self) -> bytes:
        assert self._stream is not None
        return self._stream.read()

    def poll(self) -> int:
        """Read what was appended (and follow a rotation); return the bytes consumed."""
        if self._stream is None and not self._open():
            return 0
        data = self._drain()
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        assert self._stream is not None
        rotated = current is not None and (
            current.st_ino != self._inode or current.st_size < self._stream.tell()
        )
        if rotated:
            self._stream.close()
            self._stream = None
            self.rotations += 1
            if self._open():
                data += self._drain()
        self._feed(data)
        return len(data)

    def _feed(self, data: bytes) -> None:
        if not data:
            return
        data = self._partial + data
        cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if cut < 0:
            self._partial = data
            return
        self._partial = data[cut + 1 :]
        self._feed_text(normalize(data[: cut + 1].decode("utf-8", errors="replace")))

    def snapshot(self) -> LogAnalysis | None:
        """Analysis of everything read so far (None before the first complete line)."""
        if self._reader is None:
            return None
        reader = copy.deepcopy(self._reader)
        return analyze_parsed(reader.finish(), str(self.path), self.params)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def _identity(run: str, diagnosis: Diagnosis) -> tuple[str, ...]:
    evidence = diagnosis.evidence
    return (
        run,
        str(diagnosis.kind),
        str(evidence.get("metric", "")),
        str(evidence.get("split", "")),
        str(evidence.get("signature", "")),
    )


class DiagnosisAlerter:
    """Posts each new diagnosis of severity ≥ ``min_severity`` once to ``url``."""

    def __init__(
        self,
        url: str,
        min_severity: str = WARNING,
        transport: httpx.BaseTransport | None = None,
        on_error: Callable[[str], None] | None = None,
        timeout_secs: float = 5.0,
    ) -> None:
        self.url = url
        self.min_rank = SEVERITY_RANK[min_severity]
        self.sent: set[tuple[str, ...]] = set()
        self.on_error = on_error or (lambda message: None)
        self._client = httpx.Client(transport=transport, timeout=timeout_secs)

    def notify(self, analysis: LogAnalysis) -> list[dict[str, Any]]:
        """Post the diagnoses not posted before; return the payloads sent."""
        posted = []
        for run in analysis.runs:
            for diagnosis in run.diagnoses:
                if SEVERITY_RANK[diagnosis.severity] < self.min_rank:
                    continue
                key = _identity(run.run, diagnosis)
                if key in self.sent:
                    continue
                payload = {
                    "source": analysis.source,
                    "run": run.run,
                    "diagnosis": jsonable(diagnosis.to_dict()),
                }
                try:
                    response = self._client.post(self.url, json=payload)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    self.on_error(
                        f"alert webhook {self.url} failed: {exc}; will retry next refresh"
                    )
                    continue
                self.sent.add(key)
                posted.append(payload)
        return posted

    def close(self) -> None:
        self._client.close()
