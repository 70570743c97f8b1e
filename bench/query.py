"""Benchmark: LogQL queries through `flightlog serve` vs grep / zgrep on the raw file.

Generates ``--lines`` lines with ``/work/shared/bench/gen_logs.py`` (cached under
bench/data/), pushes them to a fresh server subprocess (NDJSON push API), restarts it so
the head is flushed to Parquet segments, then times with hot caches (one warm-up run,
best of ``--repeat``):

  (1) sum(count_over_time({service=~".+"} |= "CUDA out of memory" [1h]))  vs grep -c
  (2) the same filter on one service                                        <= 0.3 x grep
  (3) {env="prod"} |= "<needle trace id>"                                  <= 0.1 x grep
  (4) sum by (service) (count_over_time({level="error"} [1m]))             <= 1 s
  (5) avg_over_time({service="inference-gateway"} | json | unwrap latency_ms [1m]) by (env)
      (with `| __error__=""` before unwrap: 40% of those lines are not JSON, and Loki
      fails a metric query whose samples carry __error__)                   <= 1 s
  (6) zgrep -c on the gzip of the raw file: every query <= 0.2 x zgrep

    .venv/bin/python bench/query.py                 # 5,000,000 lines
    .venv/bin/python bench/query.py --lines 500000
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
GEN = Path("/work/shared/bench/gen_logs.py")
DAY_NS = 86_400 * 1_000_000_000
S = 1_000_000_000


def generate(lines: int) -> tuple[Path, Path, str, int, int]:
    """(ndjson, raw log, needle, first ts, last ts); cached per line count and day."""
    DATA.mkdir(parents=True, exist_ok=True)
    start_ns = (time.time_ns() // DAY_NS - 1) * DAY_NS  # yesterday 00:00 UTC: inside retention
    stem = DATA / f"query_{lines}_{start_ns // S}"
    ndjson, raw, meta = (
        stem.with_suffix(".ndjson"),
        stem.with_suffix(".log"),
        stem.with_suffix(".meta"),
    )
    if not meta.exists():
        print(f"generating {lines:,} lines ...", flush=True)
        command = [
            sys.executable,
            str(GEN),
            "--lines",
            str(lines),
            "--out",
            str(ndjson),
            "--raw",
            str(raw),
            "--start-ns",
            str(start_ns),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        needle = re.search(r"trace_id=([0-9a-f]{32})", output).group(1)  # type: ignore[union-attr]
        last = int(re.search(r"\.\.(\d+)", output).group(1))  # type: ignore[union-attr]
        with (
            open(raw, "rb") as source,
            gzip.open(str(raw) + ".gz", "wb", compresslevel=6) as target,
        ):
            shutil.copyfileobj(source, target, 1 << 20)
        meta.write_text(f"{needle} {start_ns} {last}\n")
    needle, first, last = meta.read_text().split()
    return ndjson, raw, needle, int(first), int(last)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, config: Path) -> None:
        self.data_dir, self.config = data_dir, config
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "flightlog",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--config",
            str(self.config),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("server exited while starting")
            time.sleep(0.2)
        raise SystemExit("server did not become ready in 120 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=600)


def push(url: str, ndjson: Path, chunk_lines: int = 40_000) -> float:
    began = time.perf_counter()
    with httpx.Client(base_url=url, timeout=600) as client, open(ndjson, "rb") as source:
        batch: list[bytes] = []
        for line in source:
            batch.append(line)
            if len(batch) >= chunk_lines:
                _send(client, b"".join(batch))
                batch = []
        if batch:
            _send(client, b"".join(batch))
    return time.perf_counter() - began


def _send(client: httpx.Client, body: bytes) -> None:
    for _ in range(20):
        response = client.post(
            "/api/v1/push/ndjson", content=body, headers={"Content-Type": "application/x-ndjson"}
        )
        if response.status_code == 204:
            return
        if response.status_code != 429:
            raise SystemExit(f"push failed: {response.status_code} {response.text[:300]}")
        time.sleep(1)
    raise SystemExit("push kept being rate limited")


def best_of(repeat: int, function) -> tuple[float, object]:
    function()  # warm-up: hot caches
    times = []
    result = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    return min(times), result


def run_shell(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the pushed store in this folder and reuse it on the next run (profiling)",
    )
    args = parser.parse_args()

    ndjson, raw, needle, first, last = generate(args.lines)
    gz = Path(str(raw) + ".gz")
    print(
        f"data: {args.lines:,} lines, raw {raw.stat().st_size / 1e6:.0f} MB, gzip {gz.stat().st_size / 1e6:.0f} MB, needle {needle}"
    )

    work = args.keep or Path(tempfile.mkdtemp(prefix="flightlog-bench-query-"))
    work.mkdir(parents=True, exist_ok=True)
    reuse = (work / "pushed").exists()
    config = work / "flightlog.yaml"
    config.write_text(
        "limits:\n  defaults:\n    max_request_bytes: 67108864\n    ingestion_rate_bytes_per_sec: 10000000000\n"
        "    ingestion_burst_bytes: 10000000000\nstore:\n  fsync: false\n"
        "query_limits:\n  defaults:\n    max_query_time_secs: 600\n    max_query_length_secs: 30d\n"
    )
    server = Server(work / "data", config)
    try:
        server.start()
        if reuse:
            print(f"reusing the store in {work}")
        else:
            push_secs = push(server.url, ndjson)
            print(
                f"pushed in {push_secs:.1f} s ({args.lines / push_secs:,.0f} lines/s); restarting to flush the head to segments"
            )
            server.stop()
            server.start()
            if args.keep:
                (work / "pushed").touch()
        client = httpx.Client(base_url=server.url, timeout=600)

        def query_range(query: str, start: int, end: int, step: str, limit: int = 100) -> dict:
            response = client.get(
                "/loki/api/v1/query_range",
                params={
                    "query": query,
                    "start": str(start),
                    "end": str(end),
                    "step": step,
                    "limit": str(limit),
                },
            )
            if response.status_code != 200:
                raise SystemExit(
                    f"query failed: {query}: {response.status_code} {response.text[:300]}"
                )
            return orjson.loads(response.content)

        hour = 3600 * S
        hours = -(-(last - first) // hour)
        t_start, t_end = first + hour, first + hours * hour  # windows (t-1h, t] tile the data
        grep_secs, grep_count = best_of(
            args.repeat, lambda: run_shell(["grep", "-c", "CUDA out of memory", str(raw)])
        )
        zgrep_secs, _ = best_of(
            1, lambda: run_shell(["zgrep", "-c", "CUDA out of memory", str(gz)])
        )

        def total(body: dict) -> float:
            return sum(float(v) for s in body["data"]["result"] for _, v in s["values"])

        cases = [
            (
                "(1) count |= CUDA OOM, all services",
                'sum(count_over_time({service=~".+"} |= "CUDA out of memory" [1h]))',
                "1h",
                t_start,
                t_end,
                ("grep", 1.5),
            ),
            (
                "(2) count |= CUDA OOM, service=trainer",
                'sum(count_over_time({service="trainer"} |= "CUDA out of memory" [1h]))',
                "1h",
                t_start,
                t_end,
                ("grep", 0.3),
            ),
            (
                "(3) needle {env=prod} |= trace id",
                f'{{env="prod"}} |= "{needle}"',
                "1h",
                first,
                last + 1,
                ("grep", 0.1),
            ),
            (
                "(4) sum by service errors [1m]",
                'sum by (service) (count_over_time({level="error"} [1m]))',
                "60s",
                first + 60 * S,
                last + 60 * S,
                ("abs", 1.0),
            ),
            (
                "(5) avg unwrap latency_ms by env [1m]",
                'avg_over_time({service="inference-gateway"} | json | __error__="" | unwrap latency_ms [1m]) by (env)',
                "60s",
                first + 60 * S,
                last + 60 * S,
                ("abs", 1.0),
            ),
        ]
        print(
            f"\nbaselines (hot cache): grep -c {grep_secs:.3f} s (count {grep_count}); zgrep -c {zgrep_secs:.3f} s\n"
        )
        print(
            f"{'case':42} {'time':>8} {'target':>16} {'ratio':>10}  {'vs zgrep (<=0.2)':>16}  result"
        )
        for name, query, step, start, end, (kind, target) in cases:
            seconds, body = best_of(
                args.repeat,
                lambda q=query, s=step, a=start, b=end: query_range(q, a, b, s, limit=5000),
            )
            if body["data"]["resultType"] == "streams":
                summary = f"{sum(len(s['values']) for s in body['data']['result'])} entries"
            else:
                summary = f"{len(body['data']['result'])} series, sum {total(body):g}"
            if kind == "grep":
                ratio = seconds / grep_secs
                verdict = "ok" if ratio <= target else "MISS"
                target_text = f"<= {target} x grep"
                ratio_text = f"{ratio:.2f} x {verdict}"
            else:
                verdict = "ok" if seconds <= target else "MISS"
                target_text = f"<= {target:g} s"
                ratio_text = verdict
            zratio = seconds / zgrep_secs
            print(
                f"{name:42} {seconds:7.3f}s {target_text:>16} {ratio_text:>10}  {zratio:8.3f} {'ok' if zratio <= 0.2 else 'MISS':>7}  {summary}"
            )
        client.close()
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
