"""Benchmark: `flightlog analyze` parsers vs the usual per-line `re.search` script.

Generates (once, deterministic) a Keras-style and a Hugging-Face-style training log of
``--lines`` lines under bench/data/, then for each:

- parses it with flightlog's parser (chunked, bulk regex / str.find) -> lines/s;
- parses it with a straightforward per-line ``re.search`` loop that extracts the same
  metrics (what people hand-write) -> lines/s, in the same run: the baseline. For the HF
  log two baselines: one ``search`` + ``findall`` per line (``hf``, the stronger one) and
  one ``re.search`` per metric per line (``hf/search-per-metric``, the literal script);
- checks both produced the same points;
- measures the parser's memory in a fresh subprocess: peak RSS growth over the
  interpreter after imports (VmHWM), and the tracemalloc peak, against the file size.

    .venv/bin/python bench/analyze.py              # 1,000,000 lines each
    .venv/bin/python bench/analyze.py --lines 100000

Targets (issue 4): >= 500,000 lines/s, >= 3x the per-line loop, memory <= 2x file size,
judged on wall time (lines per second as a user waits for them), which is printed
first. Process CPU time is printed beside it: on a shared machine it is the steadier
measure of the parser's own cost. Runs are interleaved and the best of --repeat kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def make_keras_log(path: Path, lines: int, seed: int = 0) -> None:
    """Keras 2 verbose-1 output as written to a file: one line per batch update."""
    rng = random.Random(seed)
    steps_per_epoch = 500
    epochs = max(1, lines // (steps_per_epoch + 1))
    written = 0
    with open(path, "w") as out:
        loss, acc = 2.3, 0.1
        for epoch in range(1, epochs + 1):
            out.write(f"Epoch {epoch}/{epochs}\n")
            written += 1
            for batch in range(1, steps_per_epoch + 1):
                loss = max(0.05, loss * 0.9995 + rng.uniform(-0.002, 0.002))
                acc = min(0.99, acc + 0.0004)
                done = int(30 * batch / steps_per_epoch)
                bar = "=" * max(0, done - 1) + (">" if done < 30 else "=") + "." * (30 - done)
                if batch < steps_per_epoch:
                    eta = (steps_per_epoch - batch) // 40
                    out.write(
                        f"{batch:3d}/{steps_per_epoch} [{bar}] - ETA: {eta}s - loss: {loss:.4f} - accuracy: {acc:.4f}\n"
                    )
                else:
                    out.write(
                        f"{batch}/{steps_per_epoch} [{bar}] - 13s 26ms/step - loss: {loss:.4f} - accuracy: {acc:.4f}"
                        f" - val_loss: {loss * 1.1:.4f} - val_accuracy: {acc * 0.95:.4f}\n"
                    )
                written += 1
        while written < lines:  # pad with warnings so the line count is exact
            out.write(
                "WARNING:tensorflow:Callback method `on_train_batch_end` is slow compared to the batch time\n"
            )
            written += 1


def make_hf_log(path: Path, lines: int, seed: int = 0) -> None:
    """Hugging Face Trainer output with logging_steps=1: one metrics dict per line,
    an eval dict every 200 steps, an occasional warning."""
    rng = random.Random(seed)
    total = lines
    with open(path, "w") as out:
        loss = 2.5
        step = 0
        for index in range(lines):
            if index % 200 == 199:
                out.write(
                    f"{{'eval_loss': {loss * 1.05:.4f}, 'eval_accuracy': {0.5 + step / total / 3:.4f}, "
                    f"'eval_runtime': 3.2101, 'eval_samples_per_second': 311.5, 'eval_steps_per_second': 9.7, "
                    f"'epoch': {step / 1000:.2f}}}\n"
                )
            elif index % 1000 == 500:
                out.write(
                    "/usr/lib/python3/site-packages/torch/utils/checkpoint.py:90: UserWarning: None of the inputs have requires_grad=True\n"
                )
            else:
                step += 1
                loss = max(0.1, loss * 0.99999 + rng.uniform(-0.01, 0.01))
                lr = 5e-5 * (1 - step / total)
                out.write(
                    f"{{'loss': {loss:.4f}, 'grad_norm': {rng.uniform(0.5, 3):.4f}, "
                    f"'learning_rate': {lr:.4e}, 'epoch': {step / 1000:.2f}}}\n"
                )


# ---- the baseline: what a hand-written script does, line by line ----------------------

_K_HEADER = re.compile(r"Epoch (\d+)/(\d+)")
_K_PROGRESS = re.compile(r"(\d+)/(\d+) \[[=>.]*\]")
_K_METRIC = re.compile(r"(\w+): ([-+\d.eE]+|nan|inf)")
_HF_DICT = re.compile(r"\{'(?:eval_)?loss'")
_HF_PAIR = re.compile(r"'(\w+)': '?([-+\d.eE]+|nan|inf)'?")


def baseline_keras(path: Path) -> int:
    points = 0
    last = None
    with open(path) as handle:
        for line in handle:
            if _K_HEADER.search(line):
                if last:
                    points += len(last)
                last = None
                continue
            if _K_PROGRESS.search(line):
                last = {k: float(v) for k, v in _K_METRIC.findall(line) if k != "ETA"}
    if last:
        points += len(last)
    return points


def baseline_hf(path: Path) -> int:
    points = 0
    with open(path) as handle:
        for line in handle:
            if _HF_DICT.search(line):
                values = {k: float(v) for k, v in _HF_PAIR.findall(line) if k != "epoch"}
                points += len(values)
    return points


_HF_TRAIN_KEYS = ("loss", "grad_norm", "learning_rate")
_HF_EVAL_KEYS = (
    "eval_loss",
    "eval_accuracy",
    "eval_runtime",
    "eval_samples_per_second",
    "eval_steps_per_second",
)
_HF_SEARCH = {
    key: re.compile(rf"'{key}': '?([-+\d.eE]+|nan|inf)") for key in _HF_TRAIN_KEYS + _HF_EVAL_KEYS
}


def baseline_hf_per_metric(path: Path) -> int:
    """The most literal hand-written script: one re.search per metric per line."""
    values: dict[str, list[float]] = {key: [] for key in _HF_SEARCH}
    with open(path) as handle:
        for line in handle:
            if line.startswith("{'loss'"):
                keys = _HF_TRAIN_KEYS
            elif line.startswith("{'eval_loss'"):
                keys = _HF_EVAL_KEYS
            else:
                continue
            for key in keys:
                match = _HF_SEARCH[key].search(line)
                if match:
                    values[key].append(float(match.group(1)))
    return sum(len(v) for v in values.values())


def ours(path: Path, format_name: str) -> int:
    from flightlog.analyze.parse import parse_path

    parsed = parse_path(path, format_name)
    # step_time_s is derived (not a printed metric): the baseline does not extract it
    return sum(
        len(s) for run in parsed.runs for s in run.series.values() if s.metric != "step_time_s"
    )


# Peak RSS is the process's VmHWM, not getrusage's ru_maxrss: a child started from this
# (big) process inherits the parent's peak in ru_maxrss across fork/exec, so the growth
# would count the parent's memory once the parent has parsed a log itself.
_MEMORY_PROBE = """
import sys, tracemalloc
from pathlib import Path
sys.path.insert(0, {bench!r})
from flightlog.analyze.parse import parse_path
import analyze as bench
def status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
base = status_mb("VmRSS")
bench.ours(Path({path!r}), {fmt!r})
peak_rss = status_mb("VmHWM") - base
tracemalloc.start()
bench.ours(Path({path!r}), {fmt!r})
traced = tracemalloc.get_traced_memory()[1] / 2**20
print(peak_rss, traced)
"""


def memory(path: Path, format_name: str) -> tuple[float, float]:
    code = _MEMORY_PROBE.format(bench=str(Path(__file__).parent), path=str(path), fmt=format_name)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rss, traced = out.stdout.split()
    return float(rss), float(traced)


# The whole `flightlog analyze --output json` pipeline (parse, diagnoses, summary, JSON
# written to a file), for information: the targets are the parser's.
_PIPELINE_PROBE = """
import time
from flightlog.analyze import analyze_path
from flightlog.analyze.render import render_json
def status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
base = status_mb("VmRSS")
start = time.perf_counter()
analysis = analyze_path({path!r}, {fmt!r})
with open({out!r}, "w", encoding="utf-8") as handle:
    render_json([analysis], handle)
print(time.perf_counter() - start, status_mb("VmHWM") - base)
"""


def pipeline(path: Path, format_name: str) -> tuple[float, float]:
    """(wall seconds, peak RSS growth MiB) of analyze + JSON report, in a fresh process."""
    out = path.with_suffix(".analysis.json")
    code = _PIPELINE_PROBE.format(path=str(path), fmt=format_name, out=str(out))
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    finally:
        out.unlink(missing_ok=True)
    wall, rss = result.stdout.split()
    return float(wall), float(rss)


def timed(function, *args) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, result). The machine may be shared:
    CPU time is what the parse itself cost, wall time what a user waited."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="best of N timings")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    results = []
    for label, name, maker, format_name, baseline in (
        ("keras", "keras", make_keras_log, "keras", baseline_keras),
        ("hf", "hf", make_hf_log, "hf", baseline_hf),
        ("hf/search-per-metric", "hf", make_hf_log, "hf", baseline_hf_per_metric),
    ):
        path = DATA / f"{name}_{args.lines}.log"
        if not path.exists():
            maker(path, args.lines)
        size_mb = path.stat().st_size / 2**20
        ours(path, format_name)  # warm up: imports, page cache
        ours_runs, base_runs = [], []
        for _ in range(args.repeat):  # interleaved, so a load change hits both alike
            ours_runs.append(timed(ours, path, format_name))
            base_runs.append(timed(baseline, path))
        ours_wall, ours_cpu, ours_points = min(ours_runs)
        base_wall, base_cpu, base_points = min(base_runs)
        ours_cpu = min(r[1] for r in ours_runs)
        base_cpu = min(r[1] for r in base_runs)
        rss_mb, traced_mb = memory(path, format_name)
        row = {
            "log": label,
            "lines": args.lines,
            "file_mb": round(size_mb, 1),
            "ours_lines_per_sec": round(args.lines / ours_wall),
            "baseline_lines_per_sec": round(args.lines / base_wall),
            "speedup": round(base_wall / ours_wall, 2),
            "ours_lines_per_cpu_sec": round(args.lines / ours_cpu),
            "baseline_lines_per_cpu_sec": round(args.lines / base_cpu),
            "speedup_cpu": round(base_cpu / ours_cpu, 2),
            "points_ours": ours_points,
            "points_baseline": base_points,
            "peak_rss_growth_mb": round(rss_mb, 1),
            "tracemalloc_peak_mb": round(traced_mb, 1),
            "memory_over_file": round(max(rss_mb, traced_mb) / size_mb, 2),
        }
        results.append(row)
        same = "same points" if ours_points == base_points else "POINTS DIFFER"
        print(
            f"{label} {args.lines:,} lines {size_mb:.1f} MiB | flightlog {row['ours_lines_per_sec']:,} lines/s"
            f" wall ({ours_wall:.2f} s), {row['ours_lines_per_cpu_sec']:,}/CPU-s | per-line re.search"
            f" {row['baseline_lines_per_sec']:,} lines/s wall ({base_wall:.2f} s),"
            f" {row['baseline_lines_per_cpu_sec']:,}/CPU-s | {row['speedup']:.2f}x wall,"
            f" {row['speedup_cpu']:.2f}x CPU | {same} ({ours_points:,}) | peak RSS +{rss_mb:.1f} MiB,"
            f" tracemalloc {traced_mb:.1f} MiB = {row['memory_over_file']:.2f}x file"
        )
        if label in ("keras", "hf"):  # once per log
            wall, rss = pipeline(path, format_name)
            row["pipeline_secs"] = round(wall, 2)
            row["pipeline_peak_rss_growth_mb"] = round(rss, 1)
            print(
                f"  {label} full pipeline (analyze + diagnoses + summary + --output json to a file,"
                f" not a target): {wall:.2f} s, peak RSS +{rss:.1f} MiB = {rss / size_mb:.2f}x file"
            )
    if args.json:
        print(json.dumps(results, indent=2))
    ok = all(
        r["ours_lines_per_sec"] >= 500_000
        and r["speedup"] >= 3
        and r["memory_over_file"] <= 2
        and not math.isnan(r["speedup"])
        for r in results
    )
    print(
        "targets (>= 500,000 lines/s wall, >= 3x the per-line loop's wall time,"
        " memory <= 2x file):",
        "met" if ok else "NOT met",
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
