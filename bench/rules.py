"""Benchmark of the ruler and the notification pipeline.

1. 100 alert rules (line filters, regexes, json/logfmt parsing, count/rate/quantile) in 10
   groups over N stored lines (default 1,000,000 from /work/shared/bench/gen_logs.py),
   1-minute ranges, evaluated at the end of the data: time per full evaluation cycle.
   Baseline in the same run: the same 100 queries once each straight through the engine.
2. Notifications per second through routing + grouping + dedup to a real HTTP webhook.
   Baseline in the same run: the same number of webhook POSTs sent directly with httpx.

    nice .venv/bin/python bench/rules.py --lines 1000000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from flightlog.model import PushRequest, StreamBatch, canonical_labels
from flightlog.notify.config import load_alerting_config
from flightlog.notify.service import NotifyService
from flightlog.notify.testing import RecordingReceiver
from flightlog.query import Engine
from flightlog.rules.alert import Alert
from flightlog.rules.model import AlertingRule, RuleGroup
from flightlog.rules.querier import EngineQuerier
from flightlog.rules.ruler import Ruler
from flightlog.rules.state_db import RulesStateDB
from flightlog.store import Store, StoreConfig

HERE = Path(__file__).parent
GEN = Path("/work/shared/bench/gen_logs.py")
SERVICES = ["trainer", "inference-gateway", "feature-store", "data-loader", "registry"]
ENVS = ["prod", "staging", "dev", "research"]


def generate(lines: int) -> Path:
    out = HERE / "data" / f"rules_logs_{lines}.ndjson"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(GEN), "--lines", str(lines), "--out", str(out)], check=True
        )
    return out


def load_store(source: Path, lines: int) -> tuple[Store, int]:
    """A store holding the generated lines (built once, reused); returns it and the last ts."""
    # v3: segments written with 4,096-row groups (rebuild when the segment layout changes).
    directory = HERE / "data" / f"rules_store_v3_{lines}"
    marker = directory / "LOADED"
    if marker.exists():
        last_ts = int(marker.read_text())
        return Store.open(StoreConfig(directory, fsync=False), clock=lambda: last_ts), last_ts
    last_ts = 0
    streams: dict[tuple, tuple[list[int], list[str]]] = {}

    def flush_batch(store: Store) -> None:
        batches = tuple(
            StreamBatch(labels, ts, text, [None] * len(ts))
            for labels, (ts, text) in streams.items()
        )
        store.append(PushRequest("default", batches))
        streams.clear()

    store = Store.open(
        StoreConfig(directory, fsync=False, max_segment_bytes=256 << 20), clock=lambda: last_ts
    )
    started = time.perf_counter()
    with source.open() as handle:
        for count, raw in enumerate(handle, 1):
            item = json.loads(raw)
            last_ts = item["ts"]
            key = canonical_labels(item["labels"])
            ts, text = streams.setdefault(key, ([], []))
            ts.append(item["ts"])
            text.append(item["line"])
            if count % 20_000 == 0:
                flush_batch(store)
                # As a running server does: cut a segment every 5 minutes of (data) time.
                store.maybe_cut()
    flush_batch(store)
    store.flush()
    marker.write_text(str(last_ts))
    print(f"loaded {lines:,} lines into {directory} in {time.perf_counter() - started:.1f} s")
    return store, last_ts


def make_rules() -> list[RuleGroup]:
    templates = [
        'sum by (service) (count_over_time({{env="{env}"}} |= "timeout" [1m])) > 5',
        'sum by (env) (count_over_time({{service="{service}"}} |~ "(?i)connection refused|killed|out of memory" [1m])) > 0',
        'sum by (env) (count_over_time({{service="{service}"}} | json | __error__="" | level="error" [1m])) > 3',
        'sum by (service) (rate({{env="{env}", level="error"}}[1m])) > 0.1',
        'quantile_over_time(0.99, {{service="{service}"}} | json | __error__="" | unwrap latency_ms [1m]) by (env) > 100',
        'sum by (env) (count_over_time({{service="{service}"}} | logfmt | __error__="" | latency_ms > 200 [1m])) > 1',
        'sum by (service) (count_over_time({{env="{env}", level=~"error|critical"}} [1m])) > 10',
        'sum by (service) (count_over_time({{env="{env}"}} != "Batch completed" |= "failed" [1m])) > 0',
        'avg_over_time({{service="{service}"}} | json | __error__="" | unwrap latency_ms [1m]) by (env) > 45',
        'sum by (service) (bytes_over_time({{env="{env}"}} |= "Traceback" [1m])) > 1000',
    ]
    groups = []
    for g in range(10):
        rules = []
        for r, template in enumerate(templates):
            expr = template.format(service=SERVICES[(g + r) % 5], env=ENVS[(g + r) % 4])
            rules.append(AlertingRule(f"Bench{g}_{r}", expr, labels={"severity": "high"}))
        groups.append(RuleGroup(f"bench-{g}", tuple(rules), 60.0))
    return groups


def bench_rules(store: Store, last_ts: int, cycles: int) -> None:
    groups = make_rules()
    exprs = [r.expr for g in groups for r in g.rules]
    engine = Engine(store)
    engine.query_instant(exprs[0], last_ts, ["default"])  # warm DuckDB / caches
    baselines, times, series = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        sent: list[Alert] = []
        ruler = Ruler(
            EngineQuerier(engine),
            RulesStateDB(Path(tmp) / "r.db"),
            notify=sent.extend,
            file_groups=groups,
        )
        # Alternate baseline passes and ruler cycles so both see the same cache and load.
        for cycle in range(cycles):
            started = time.perf_counter()
            series = sum(
                len(engine.query_instant(e, last_ts, ["default"]).result.samples) for e in exprs
            )
            baselines.append(time.perf_counter() - started)
            started = time.perf_counter()
            for group in groups:
                ruler.evaluate_group(group, last_ts + cycle)
            times.append(time.perf_counter() - started)
        unhealthy = [
            (rule, h.last_error)
            for _, health, _, _, _ in ruler.snapshot()
            for rule, h in health.items()
            if h.health != "ok"
        ]
        ruler.state.close()
    baseline, cycle_s = statistics.median(baselines), statistics.median(times)
    print(
        f"rules: {len(exprs)} alert rules in {len(groups)} groups, {series} result series, 1m ranges"
    )
    print(f"  baseline  engine.query_instant x{len(exprs)} (median of {cycles}): {baseline:.3f} s")
    print(
        f"  ruler     full evaluation cycle (median of {cycles}): {cycle_s:.3f} s  "
        f"(x{cycle_s / baseline:.2f} of baseline; target <= 5 s: {'met' if cycle_s <= 5 else 'MISSED'})"
    )
    print(
        f"  alerts sent to notify per cycle: {len(sent) // max(cycles, 1)}; unhealthy rules: {len(unhealthy)}"
    )
    for rule, error in unhealthy[:3]:
        print(f"    {rule}: {error[:150]}")


def bench_notify(alerts: int, groups: int) -> None:
    with RecordingReceiver() as hook, tempfile.TemporaryDirectory() as tmp:
        config = load_alerting_config(
            {
                "route": {
                    "receiver": "hook",
                    "group_by": ["alertname", "group"],
                    "group_wait": "0s",
                    "group_interval": "1h",
                },
                "receivers": [{"name": "hook", "webhook_configs": [{"url": hook.url}]}],
            }
        )
        service = NotifyService(config, Path(tmp), external_url="http://bench")
        now = time.time()
        batch = [
            Alert(
                {"alertname": "Bench", "group": str(i % groups), "instance": str(i)},
                {"summary": "x"},
                now,
                now + 3600,
            )
            for i in range(alerts)
        ]
        service.start()
        started = time.perf_counter()
        service.put(batch)
        hook.wait_for(groups, timeout_s=600)
        elapsed = time.perf_counter() - started
        service.stop()
        # Baseline: the same number of POSTs, same body size, straight from one client.
        body = hook.bodies[0]
        with httpx.Client() as client:
            started = time.perf_counter()
            for _ in range(groups):
                client.post(hook.url, json=body)
            direct = time.perf_counter() - started
    per_alert = alerts / elapsed
    print(f"notify: {alerts:,} alerts in {groups:,} groups -> {groups:,} webhook notifications")
    print(f"  baseline  direct httpx POSTs: {groups / direct:,.0f} requests/s")
    print(
        f"  pipeline  route+group+dedup+nflog+webhook: {groups / elapsed:,.0f} notifications/s "
        f"({per_alert:,.0f} alerts/s; x{(groups / elapsed) / (groups / direct):.2f} of baseline)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=1_000)
    args = parser.parse_args()
    source = generate(args.lines)
    store, last_ts = load_store(source, args.lines)
    try:
        bench_rules(store, last_ts, args.cycles)
    finally:
        store.close()
    bench_notify(args.alerts, args.groups)


if __name__ == "__main__":
    main()
