"""Benchmark flightlog.monitor: ModelMonitor overhead per prediction, drift over wide data.

    .venv/bin/python bench/monitor.py                     # 200k predictions; 50 x 1,000,000 drift
    .venv/bin/python bench/monitor.py --rows 100000       # smaller drift run

Baselines measured in the same run:
- overhead: a bare function call, and the same metrics written with raw prometheus-client
  calls (children cached, and ``.labels()`` looked up per call as naive code does);
- drift: ``scipy.stats.ks_2samp`` looped over features (on ``--baseline-features``
  features, scaled to the full count because it takes about a second per feature).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from scipy import stats as scipy_stats

from flightlog.monitor.drift import DriftConfig, detect_drift
from flightlog.monitor.metrics import LATENCY_BUCKETS_SECONDS, ModelMonitor
from flightlog.monitor.samples import profile, samples_like


def _best_of(repeats: int, run: Callable[[], None]) -> float:
    """Best CPU time of ``repeats`` runs: process time, so other jobs on shared cores
    (waiting for a core) do not count; single-threaded code, so CPU time is its cost."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def bench_overhead(predictions: int, repeats: int) -> None:
    def model(x: int) -> int:
        return x

    def bare() -> None:
        for i in range(predictions):
            model(i)

    registry = CollectorRegistry()
    count = Counter("raw_predictions", "x", ["model", "version", "status"], registry=registry)
    latency = Histogram(
        "raw_latency_seconds",
        "x",
        ["model", "version"],
        buckets=LATENCY_BUCKETS_SECONDS,
        registry=registry,
    )
    last = Gauge("raw_last_seconds", "x", ["model", "version"], registry=registry)
    count_child = count.labels("m", "1", "ok")
    latency_child = latency.labels("m", "1")
    last_child = last.labels("m", "1")
    clock, wall = time.perf_counter, time.time

    def raw_cached() -> None:
        for i in range(predictions):
            start = clock()
            model(i)
            latency_child.observe(clock() - start)
            count_child.inc()
            last_child.set(wall())

    def raw_labels_per_call() -> None:
        for i in range(predictions):
            start = clock()
            model(i)
            latency.labels("m", "1").observe(clock() - start)
            count.labels("m", "1", "ok").inc()
            last.labels("m", "1").set(wall())

    monitor = ModelMonitor("m", "1", registry=CollectorRegistry())

    def context_manager() -> None:
        for i in range(predictions):
            with monitor.predict():
                model(i)

    tracked = monitor.track(model)

    def decorator() -> None:
        for i in range(predictions):
            tracked(i)

    variants = [
        ("bare function call", bare),
        ("raw prometheus-client, cached children", raw_cached),
        ("raw prometheus-client, .labels() per call", raw_labels_per_call),
        ("ModelMonitor context manager", context_manager),
        ("ModelMonitor decorator", decorator),
    ]
    # Round-robin repeats: on a shared machine, load changes over time; interleaving gives
    # every variant the same chance of a quiet slot, and the best of each is kept.
    results = {name: float("inf") for name, _ in variants}
    for _ in range(repeats):
        for name, run in variants:
            results[name] = min(results[name], _best_of(1, run) / predictions * 1e6)
    bare_us = results["bare function call"]
    raw_us = results["raw prometheus-client, cached children"] - bare_us
    print(f"== ModelMonitor overhead per prediction ({predictions:,} calls, best of {repeats})")
    for name, per_call in results.items():
        overhead = per_call - bare_us
        line = f"{name:45s} {per_call:7.2f} us/call (CPU)"
        if name != "bare function call":
            line += f"   overhead {overhead:6.2f} us   x{overhead / raw_us:5.2f} vs raw cached"
        print(line)
    worst = (
        max(results["ModelMonitor context manager"], results["ModelMonitor decorator"]) - bare_us
    )
    print(f"ModelMonitor overhead {worst:.2f} us per prediction (target <= 10 us)")


def bench_drift(rows: int, features: int, baseline_features: int, workers: int) -> None:
    rng = np.random.default_rng(42)
    print(f"== drift: {features} numeric features x {rows:,} rows per side (workers={workers})")
    generate_start = time.perf_counter()
    reference = [rng.normal(0.0, 1.0, rows) for _ in range(features)]
    # A fifth of the features drift (mean shift or wider spread), a tenth shift slightly
    # (0.01 sd: a KS p-value far below 0.05 but not 0, PSI well under its threshold);
    # the rest do not drift.
    shifts = {0: 0.5, 3: 0.01}
    current = [
        rng.normal(shifts.get(index % 10, 0.0), 2.0 if index % 10 == 5 else 1.0, rows)
        for index in range(features)
    ]
    print(f"data generated in {time.perf_counter() - generate_start:.2f} s (not timed below)")
    gc.collect()

    cpu_start, start = time.process_time(), time.perf_counter()
    reference_samples = profile(
        {f"f{i}": values for i, values in enumerate(reference)}, workers=workers
    )
    cpu_profiled, profiled = time.process_time(), time.perf_counter()
    current_samples = samples_like(
        reference_samples, {f"f{i}": values for i, values in enumerate(current)}, workers=workers
    )
    report = detect_drift(reference_samples, current_samples, DriftConfig(workers=workers))
    cpu_end, end = time.process_time(), time.perf_counter()
    reference_secs = profiled - start
    current_secs = end - profiled
    total = end - start
    # CPU seconds (all threads) show the work itself when other jobs share the cores.
    print(
        f"profile reference (sort once; cacheable per model) {reference_secs:7.2f} s wall "
        f"{cpu_profiled - cpu_start:6.2f} s CPU"
    )
    print(
        f"current window: profile + all tests                 {current_secs:7.2f} s wall "
        f"{cpu_end - cpu_profiled:6.2f} s CPU"
    )
    print(
        f"flightlog drift total                               {total:7.2f} s wall "
        f"{cpu_end - cpu_start:6.2f} s CPU (target <= 5 s)"
    )
    print(f"features drifted: {len(report.drifted)} of {features}")

    baseline_count = min(baseline_features, features)
    baseline_cpu, baseline_start = time.process_time(), time.perf_counter()
    for index in range(baseline_count):
        scipy_stats.ks_2samp(reference[index], current[index])
    baseline_per_feature = (time.perf_counter() - baseline_start) / baseline_count
    baseline_cpu_per_feature = (time.process_time() - baseline_cpu) / baseline_count
    baseline_total = baseline_per_feature * features
    print(
        f"scipy ks_2samp looped (KS only)                     {baseline_total:7.2f} s "
        f"({baseline_per_feature:.2f} s/feature on {baseline_count} features, scaled to {features}; "
        f"{baseline_cpu_per_feature * features:.2f} s CPU)"
    )
    cpu_total = cpu_end - cpu_start
    print(
        f"speed-up vs scipy KS loop: x{baseline_total / total:.1f} wall, "
        f"x{baseline_cpu_per_feature * features / cpu_total:.1f} CPU "
        f"(flightlog also computes PSI, Wasserstein, out-of-range, missing rate)"
    )

    # The same statistics the scipy way: KS, Wasserstein and PSI bins per feature.
    same_cpu, same_start = time.process_time(), time.perf_counter()
    for index in range(baseline_count):
        scipy_stats.ks_2samp(reference[index], current[index])
        scipy_stats.wasserstein_distance(reference[index], current[index])
        edges = np.quantile(reference[index], np.linspace(0, 1, 11)[1:-1])
        np.bincount(np.searchsorted(edges, reference[index], side="right"), minlength=10)
        np.bincount(np.searchsorted(edges, current[index], side="right"), minlength=10)
    same_per_feature = (time.perf_counter() - same_start) / baseline_count
    same_cpu_total = (time.process_time() - same_cpu) / baseline_count * features
    print(
        f"scipy ks_2samp + wasserstein_distance + PSI looped  {same_per_feature * features:7.2f} s "
        f"({same_cpu_total:.2f} s CPU): same statistics, x{same_per_feature * features / total:.1f} "
        f"wall, x{same_cpu_total / cpu_total:.1f} CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--predictions", type=int, default=200_000, help="calls per overhead run")
    parser.add_argument("--repeats", type=int, default=3, help="best of N for overhead")
    parser.add_argument(
        "--rows",
        "--lines",
        dest="rows",
        type=int,
        default=1_000_000,
        help="rows per side for drift",
    )
    parser.add_argument("--features", type=int, default=50, help="numeric features for drift")
    parser.add_argument(
        "--baseline-features", type=int, default=3, help="features for the scipy baseline"
    )
    parser.add_argument("--workers", type=int, default=DriftConfig().workers, help="drift threads")
    parser.add_argument("--skip-drift", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    if not args.skip_overhead:
        bench_overhead(args.predictions, args.repeats)
    if not args.skip_drift:
        bench_drift(args.rows, args.features, args.baseline_features, args.workers)


if __name__ == "__main__":
    main()
