"""Error signatures: the failures training logs show, found by literal needles.

Each ``Signature`` has literal needles (found with ``str.find``, C speed, so a chunk
without them costs one scan per needle), an optional regex pulling details (sizes,
ranks) out of the matching line, a severity and a hint saying what to try.

| signature | what it catches | severity |
|---|---|---|
| ``cuda_oom`` | CUDA / accelerator out of memory (with the sizes) | critical |
| ``nccl_timeout`` | NCCL collective timeout, watchdog, NCCL error | critical |
| ``dataloader_killed`` | a DataLoader worker killed or exited unexpectedly | critical |
| ``device_mismatch`` | tensors on different devices | critical |
| ``disk_full`` | no space left on device | critical |
| ``checkpoint_save_failed`` | saving a checkpoint failed | warning |
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

__all__ = [
    "SIGNATURES",
    "Signature",
    "SignatureHit",
    "could_match",
    "find_signatures",
    "find_signatures_in_lines",
]


@dataclass(frozen=True)
class Signature:
    """One kind of failure: how to spot it and what to do about it."""

    name: str
    needles: tuple[str, ...]
    severity: str
    hint: str
    title: str
    details: tuple[tuple[str, re.Pattern[str]], ...] = ()
    confirm: re.Pattern[str] | None = None


@dataclass(frozen=True)
class SignatureHit:
    """Where a signature matched in a chunk: character offset, the line and details."""

    signature: Signature
    position: int
    line: str
    details: dict[str, str]


_SIZE = r"(\d+(?:\.\d+)?\s*[KMGT]i?B)"

SIGNATURES: tuple[Signature, ...] = (
    Signature(
        name="cuda_oom",
        needles=("out of memory", "RESOURCE_EXHAUSTED"),
        severity="critical",
        title="GPU out of memory",
        hint=(
            "lower the batch size (or use gradient accumulation), enable mixed precision "
            "or activation checkpointing, and check for tensors kept alive across steps"
        ),
        details=(
            ("tried", re.compile(r"Tried to allocate " + _SIZE)),
            ("gpu", re.compile(r"GPU (\d+)")),
            ("total", re.compile(r"total capacity of " + _SIZE)),
            ("free", re.compile(_SIZE + r" (?:is )?free")),
        ),
    ),
    Signature(
        name="nccl_timeout",
        needles=("NCCL",),
        severity="critical",
        title="NCCL timeout / collective failure",
        hint=(
            "one rank is stuck or much slower (data loading, a hang, a dead node): find the "
            "rank that did not reach the collective; set NCCL_DEBUG=INFO and "
            "TORCH_NCCL_ASYNC_ERROR_HANDLING=1; raise the timeout only if the work is legitimately slow"
        ),
        confirm=re.compile(
            r"(?i)timeout|timed out|watchdog|NCCL error|ncclInternalError|ncclSystemError|unhandled"
        ),
        details=(
            ("rank", re.compile(r"\[?Rank (\d+)")),
            ("timeout_ms", re.compile(r"Timeout\(ms\)=(\d+)")),
        ),
    ),
    Signature(
        name="dataloader_killed",
        needles=("DataLoader worker",),
        severity="critical",
        title="DataLoader worker killed",
        hint=(
            "a worker was killed, usually by the out-of-memory killer or a too small /dev/shm: "
            "lower num_workers or prefetch_factor, raise shared memory (docker --shm-size)"
        ),
        confirm=re.compile(r"killed|exited unexpectedly|is killed by signal"),
        details=(
            ("pid", re.compile(r"pid\(?s?\)? ?(\d+)")),
            ("signal", re.compile(r"signal: ?([\w ]+)")),
        ),
    ),
    Signature(
        name="device_mismatch",
        needles=("same device",),
        severity="critical",
        title="tensors on different devices",
        hint="move the model and every input to the same device (model.to(device), batch.to(device))",
    ),
    Signature(
        name="disk_full",
        needles=("No space left on device", "Disk quota exceeded"),
        severity="critical",
        title="disk full",
        hint="free space or write checkpoints/logs elsewhere; keep fewer checkpoints (save_total_limit)",
    ),
    Signature(
        name="checkpoint_save_failed",
        needles=("heckpoint", "PytorchStreamWriter failed"),
        severity="warning",
        title="checkpoint save failed",
        hint="check the checkpoint directory exists, is writable and has space; the run may not be resumable",
        confirm=re.compile(
            r"(?i)(?:fail|error|unable|could not|cannot)\w*\b.{0,60}\b(?:sav|writ|serializ)\w*.{0,40}checkpoint"
            r"|checkpoint.{0,60}\b(?:fail|error)\w*\b.{0,20}(?:sav|writ)"
            r"|(?:saving|writing) checkpoint.{0,60}\b(?:fail|error)"
            r"|PytorchStreamWriter failed"
        ),
    ),
)


def _line_at(text: str, position: int) -> tuple[int, str]:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return start, text[start : (len(text) if end < 0 else end)]


def find_signatures(text: str) -> list[SignatureHit]:
    """Every signature hit in ``text``, one per (line, signature), in text order."""
    hits: dict[tuple[int, str], SignatureHit] = {}
    for signature in SIGNATURES:
        for needle in signature.needles:
            position = text.find(needle)
            while position >= 0:
                start, line = _line_at(text, position)
                key = (start, signature.name)
                if key not in hits and (
                    signature.confirm is None or signature.confirm.search(line)
                ):
                    details: dict[str, str] = {}
                    for detail_name, pattern in signature.details:
                        match = pattern.search(line, 0, 2000)
                        if match:
                            details[detail_name] = match.group(1).strip()
                    hits[key] = SignatureHit(signature, start, line[:500], details)
                position = text.find(needle, start + len(line) + 1)
    # one failure is often reported twice on one line (OOM: 'out of memory' + 'OutOfMemoryError')
    return sorted(hits.values(), key=lambda hit: hit.position)


def find_signatures_in_lines(lines: Sequence[str]) -> list[tuple[int, SignatureHit]]:
    """Every hit in ``lines`` (each without its newline) as ``(line index, hit)``; the
    hit's ``position`` is then the offset in the lines joined by newlines."""
    if not lines:
        return []
    hits = find_signatures("\n".join(lines))
    if not hits:
        return []
    starts = [0, *accumulate(len(line) + 1 for line in lines)]
    return [(bisect_right(starts, hit.position) - 1, hit) for hit in hits]


def could_match(text: str) -> bool:
    """Whether ``text`` holds any signature's needle (so a line made of it may be an error)."""
    return any(needle in text for signature in SIGNATURES for needle in signature.needles)
