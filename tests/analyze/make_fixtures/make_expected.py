"""Write the expected outputs next to every golden log (run after changing a parser on
purpose, then review the diff):

    .venv/bin/python tests/analyze/make_fixtures/make_expected.py

For each log ``X`` under tests/analyze/golden/<dir>/ it writes ``X.tidy.csv`` (the tidy
table, as ``flightlog analyze --output csv`` prints it) and ``X.expected.json`` (detected
format, runs, and each diagnosis's kind, severity, first and last step).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from flightlog.analyze import analyze_path
from flightlog.analyze.render import render_csv

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
_OUTPUT_SUFFIXES = (".tidy.csv", ".expected.json", ".md")


def golden_logs() -> list[Path]:
    return sorted(
        path
        for path in GOLDEN.glob("*/*")
        if path.is_file() and not path.name.endswith(_OUTPUT_SUFFIXES)
    )


def expected_summary(path: Path) -> dict[str, object]:
    analysis = analyze_path(path)
    return {
        "format": analysis.format,
        "runs": [
            {
                "run": run.run,
                "points": run.table.point_count,
                "diagnoses": [
                    [
                        str(d.kind),
                        d.severity,
                        d.first_step,
                        d.last_step,
                        d.evidence.get("signature"),
                    ]
                    for d in run.diagnoses
                ],
            }
            for run in analysis.runs
        ],
    }


def tidy_csv(path: Path) -> str:
    buffer = io.StringIO()
    render_csv([analyze_path(path)], buffer)
    return buffer.getvalue()


def main() -> None:
    for path in golden_logs():
        Path(f"{path}.tidy.csv").write_text(tidy_csv(path))
        Path(f"{path}.expected.json").write_text(
            json.dumps(expected_summary(path), indent=1) + "\n"
        )
        print(path.relative_to(GOLDEN))


if __name__ == "__main__":
    main()
