"""``error``: failures found by their log signatures, grouped with counts and a hint."""

from __future__ import annotations

from collections.abc import Sequence

from flightlog.analyze.diagnose.model import Diagnosis, Kind
from flightlog.analyze.signatures import SIGNATURES
from flightlog.analyze.table import ErrorLine

__all__ = ["find_errors"]

_BY_NAME = {signature.name: signature for signature in SIGNATURES}


def find_errors(errors: Sequence[ErrorLine]) -> list[Diagnosis]:
    """One diagnosis per signature found: count, first and last occurrence, hint."""
    grouped: dict[str, list[ErrorLine]] = {}
    for error in errors:
        grouped.setdefault(error.signature, []).append(error)
    found: list[Diagnosis] = []
    for name, lines in grouped.items():
        signature = _BY_NAME[name]
        first = lines[0]
        steps = [line.step for line in lines if line.step is not None]
        where = f"at step {first.step}" if first.step is not None else "before any step was logged"
        evidence: dict[str, object] = {
            "signature": name,
            "count": len(lines),
            "first_line": first.line_number,
            "first_text": first.text[:300],
            "last_line": lines[-1].line_number,
        }
        details = dict(first.details)
        if details:
            evidence["details"] = details
        sizes = ", ".join(f"{key} {value}" for key, value in details.items())
        found.append(
            Diagnosis(
                kind=Kind.ERROR,
                severity=signature.severity,
                message=(
                    f"{signature.title}{f' ({sizes})' if sizes else ''}: {len(lines)} time(s), first on line {first.line_number} "
                    f"{where}. Try: {signature.hint}."
                ),
                evidence=evidence,
                first_step=min(steps) if steps else None,
                last_step=max(steps) if steps else None,
            )
        )
    return found
