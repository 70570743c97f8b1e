"""Following a growing training log: tail it (surviving rotation), re-analyse, alert.

``LogFollower.poll()`` reads what was appended since the last poll and feeds it to one
streaming parser, so each poll costs only the new bytes. Rotation is noticed when the
path names a different file (inode changed) or the file shrank (truncated/copied over):
the rest of the old file is read first, then the new file from its start. A partial last
line waits for its newline. ``snapshot()`` analyses a copy of the parser state, leaving
the live parser untouched.

A job hung right now writes nothing, so no gap between points shows it: the follower
notes on its clock when each poll brought new progress points (the lines already in the
file at the first poll count from the file's last modification), and ``snapshot()``
adds an ongoing ``stall`` diagnosis to the run being written when the silence since
then is over the stall threshold (``StallParams``: ``factor`` x the usual gap, and
``min_gap_secs``). The usual gap is the log's own (its time column) or, without one, the
gaps the follower saw between progress arrivals. A run that says it finished (total
steps reached, a Trainer summary) never stalls.

``DiagnosisAlerter`` posts each new diagnosis of severity ≥ warning once to a webhook
(JSON ``{"source", "run", "diagnosis"}``); a diagnosis is "the same" when run, kind and
its metric/split/signature match. A failing webhook is reported, never fatal.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from flightlog.analyze.analysis import LogAnalysis, RunAnalysis, analyze_parsed, jsonable
from flightlog.analyze.diagnose import Diagnosis, DiagnosisParams
from flightlog.analyze.diagnose.model import SEVERITY_RANK, WARNING
from flightlog.analyze.diagnose.stall import find_ongoing_stall, usual_gap_secs
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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self._progress = 0  # progress points parsed so far
        self._progress_at: float | None = None  # clock time they were first seen
        self._arrival_gaps: list[float] = []  # seconds per progress point, per arrival
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
        self._note_progress()
        return len(data)

    def _note_progress(self) -> None:
        if self._reader is None:
            return
        progress = self._reader.parser.progress_count
        if progress <= self._progress:
            return
        now = self.clock()
        if self._progress_at is None:
            # the backlog read at the first poll was written by the last modification
            assert self._stream is not None
            now = min(now, os.fstat(self._stream.fileno()).st_mtime)
        else:
            self._arrival_gaps.append((now - self._progress_at) / (progress - self._progress))
        self._progress, self._progress_at = progress, now

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
        analysis = analyze_parsed(reader.finish(), str(self.path), self.params)
        return self._with_ongoing_stall(analysis)

    def _with_ongoing_stall(self, analysis: LogAnalysis) -> LogAnalysis:
        """``analysis`` plus a stall diagnosis on the live run when it is silent too long."""
        if self._progress_at is None or not analysis.runs or self._reader is None:
            return analysis
        live = self._reader.parser.current_run
        index = next(
            (i for i, run in enumerate(analysis.runs) if run.run == live), len(analysis.runs) - 1
        )
        run = analysis.runs[index]
        if _finished(run):
            return analysis
        params = (self.params or DiagnosisParams()).stall
        usual = usual_gap_secs(run.table, params)
        if usual is None and len(self._arrival_gaps) >= params.min_points - 1:
            usual = statistics.median(self._arrival_gaps)
        if usual is None:
            return analysis
        stall = find_ongoing_stall(
            self.clock() - self._progress_at, usual, run.summary.get("steps"), params
        )
        if stall is None:
            return analysis
        diagnoses = sorted(
            (*run.diagnoses, stall), key=lambda d: -SEVERITY_RANK[d.severity]
        )  # stable: the stall goes after the other warnings
        runs = list(analysis.runs)
        runs[index] = dataclasses.replace(run, diagnoses=tuple(diagnoses))
        return dataclasses.replace(analysis, runs=tuple(runs))

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def _finished(run: RunAnalysis) -> bool:
    """Whether the run says it is over (then silence is not a stall)."""
    steps, total = run.summary.get("steps"), run.summary.get("total_steps")
    if isinstance(steps, int) and isinstance(total, int) and steps >= total:
        return True
    return "train_runtime" in run.table.info  # the Trainer's closing summary


def _identity(run: str, diagnosis: Diagnosis) -> tuple[str, ...]:
    """What makes a diagnosis "the same" for alerting; an ongoing stall is new per step
    it hangs at (a job that resumes and hangs again is alerted again)."""
    evidence = diagnosis.evidence
    return (
        run,
        str(diagnosis.kind),
        str(evidence.get("metric", "")),
        str(evidence.get("split", "")),
        str(evidence.get("signature", "")),
        str(evidence.get("since_step", "")) if evidence.get("ongoing") else "",
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
