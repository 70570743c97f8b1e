"""Run every benchmark in bench/ one after another (what `make bench` does).

Each script prints its own absolute numbers and its ratios against a baseline measured in
the same run. Pass script names to run a subset: ``python bench/run_all.py ingest query``.
Extra flags after ``--`` go to every script (e.g. ``-- --lines 100000`` for a quick pass).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ORDER = ("ingest", "query", "sdk_overhead", "analyze", "collect", "rules", "monitor")


def main(argv: list[str]) -> int:
    names, extra = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    selected = names or [name for name in ORDER if (BENCH_DIR / f"{name}.py").exists()]
    failed = []
    for name in selected:
        script = BENCH_DIR / f"{name}.py"
        if not script.exists():
            print(f"no benchmark named {name!r} (have: {', '.join(ORDER)})", file=sys.stderr)
            return 2
        print(f"\n=== bench/{name}.py ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script), *extra])
        print(
            f"=== bench/{name}.py finished in {time.monotonic() - started:.0f}s (exit {code}) ===",
            flush=True,
        )
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
