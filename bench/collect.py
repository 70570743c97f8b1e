"""Collection benchmark: tail a 1,000,000-line file through the agent into a local server.

The agent (``flightlog collect --config``, a subprocess) tails a log file through a
json + logfmt + redact pipeline and ships it to ``flightlog serve`` (another subprocess,
fresh data dir, limits raised). Once the agent is warm (it has shipped one line), the
generated lines (``/work/shared/bench/gen_logs.py --raw``, cached under bench/data/) are
appended to the file in one go and the clock runs until the server reports every line
stored (``flightlog_ingest_entries_stored_total``). Agent CPU seconds and peak RSS are
sampled with psutil. Baselines measured in the same run on the same file: ``cat file >
/dev/null`` and a plain Python read-and-split loop; plus the pipeline alone in-process.

    .venv/bin/python bench/collect.py                # 1,000,000 lines
    .venv/bin/python bench/collect.py --lines 100000
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

GEN = Path("/work/shared/bench/gen_logs.py")
DATA = Path(__file__).resolve().parent / "data"
TARGET_LINES_PER_SEC = 100_000
TARGET_RSS_BYTES = 200 * 1024**2

SERVER_CONFIG = """\
limits:
  defaults:
    max_request_bytes: 268435456
    ingestion_rate_bytes_per_sec: 1.0e12
    ingestion_burst_bytes: 1000000000000
    max_streams_per_tenant: 100000
"""

PIPELINE = """\
pipeline:
  - json: {}
  - logfmt: {}
  - redact: {}
"""


def generate(lines: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    for name in (f"collect_{lines}.log", f"ingest_{lines}.log"):  # same generator, same bytes
        if (DATA / name).exists():
            return DATA / name
    raw = DATA / f"collect_{lines}.log"
    print(f"generating {lines:,} lines ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            str(GEN),
            "--lines",
            str(lines),
            "--out",
            str(DATA / f"collect_{lines}.ndjson"),
            "--raw",
            str(raw),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return raw


def baseline_cat(raw: Path) -> float:
    started = time.perf_counter()
    with open(raw, "rb") as source, open("/dev/null", "wb") as sink:
        subprocess.run(["cat"], stdin=source, stdout=sink, check=True)
    return time.perf_counter() - started


def baseline_read_loop(raw: Path) -> float:
    started = time.perf_counter()
    count = 0
    with open(raw, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            chunk.decode("utf-8", "replace").split("\n")
    return time.perf_counter() - started


def pipeline_only(raw: Path, lines: int) -> float:
    """Seconds for the pipeline alone over the file's lines (records built as the agent does)."""
    import yaml

    from flightlog.pipeline import LogRecord, PipelineConfig, build_pipeline
    from flightlog.pipeline.record import EMPTY

    pipeline = build_pipeline(
        PipelineConfig.from_yaml_section(yaml.safe_load(PIPELINE)["pipeline"])
    )
    text = raw.read_text("utf-8", "replace").split("\n")[:lines]
    labels, metadata = {"job": "bench"}, {"filename": str(raw)}
    started = time.perf_counter()
    for start in range(0, len(text), 10_000):
        chunk = text[start : start + 10_000]
        records = [LogRecord(i, line, labels, metadata, EMPTY, "") for i, line in enumerate(chunk)]
        pipeline.process(records)
    return time.perf_counter() - started


class Process:
    """A subprocess with psutil sampling of its peak RSS and CPU time."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.process.pid)
        self.peak_rss = 0
        self.cpu_secs = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)
                times = self.ps.cpu_times()
                self.cpu_secs = times.user + times.system
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        self._sample_once()
        self._stop.set()
        self.process.terminate()
        self.process.wait(120)

    def _sample_once(self) -> None:
        try:
            times = self.ps.cpu_times()
            self.cpu_secs = times.user + times.system
            self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)
        except psutil.NoSuchProcess:
            pass


def wait_ready(server: Process) -> str:
    deadline = time.monotonic() + 60
    marker = "flightlog listening on "
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"server exited: {server.log.read_text()}")
        text = server.log.read_text()
        if marker in text:
            url = text.split(marker, 1)[1].split()[0]
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    raise SystemExit("server not ready within 60 s")


_STORED = re.compile(
    r'^flightlog_ingest_entries_stored_total\{tenant="default"\} ([0-9.e+]+)$', re.M
)


def stored(url: str) -> int:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    match = _STORED.search(text)
    return int(float(match.group(1))) if match else 0


def server_alone(url: str, raw: Path, lines: int) -> float:
    """Seconds the server takes to store the same lines pushed as the agent pushes them
    (20,000-line gzip'd Loki JSON batches, one at a time), bodies encoded before the clock."""
    from flightlog.collect.shipper import encode_push
    from flightlog.pipeline import LogRecord

    text = raw.read_text("utf-8", "replace").split("\n")[:lines]
    labels = {"job": "bench-server-alone", "filename": str(raw)}
    base = time.time_ns()
    bodies = [
        encode_push(
            [
                LogRecord(base + start + i, line, labels)
                for i, line in enumerate(text[start : start + 20_000])
            ]
        )
        for start in range(0, len(text), 20_000)
    ]
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "X-Scope-OrgID": "server-alone",
    }
    started = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        for body in bodies:
            response = client.post(f"{url}/loki/api/v1/push", content=body, headers=headers)
            response.raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    options = parser.parse_args()
    raw = generate(options.lines)
    size = raw.stat().st_size
    lines = options.lines
    print(f"collect benchmark: {lines:,} lines, {size / 1e6:.1f} MB, pipeline json+logfmt+redact")

    cat_secs = baseline_cat(raw)
    loop_secs = baseline_read_loop(raw)
    pipe_secs = pipeline_only(raw, lines)

    work = Path(tempfile.mkdtemp(prefix="flightlog-bench-collect-", dir=DATA))
    try:
        (work / "server.yaml").write_text(SERVER_CONFIG)
        server = Process(
            [sys.executable, "-m", "flightlog", "serve", "--data-dir", str(work / "data"), "--port", "0",
             "--config", str(work / "server.yaml")],
            work / "server.log",
        )  # fmt: skip
        url = wait_ready(server)
        log = work / "app.log"
        log.write_text('{"level":"info","msg":"warm-up"}\n')
        (work / "collect.yaml").write_text(
            f"url: {url}\ndata_dir: {work / 'agent'}\n"
            f"inputs:\n  - paths: ['{log}']\n    labels: {{job: bench}}\n"
            "batch: {max_lines: 20000, max_bytes: 8388608, flush_interval_secs: 0.2}\n"
            "buffer: {max_bytes: 2147483648}\n" + PIPELINE
        )
        agent = Process(
            [
                sys.executable,
                "-m",
                "flightlog",
                "collect",
                "--quiet",
                "--config",
                str(work / "collect.yaml"),
            ],
            work / "agent.log",
        )
        deadline = time.monotonic() + 60
        while stored(url) < 1:
            if time.monotonic() > deadline or agent.process.poll() is not None:
                raise SystemExit(f"agent did not ship: {agent.log.read_text()}")
            time.sleep(0.05)
        cpu_before = agent.cpu_secs
        started = time.perf_counter()
        with open(raw, "rb") as source, open(log, "ab") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        while stored(url) < lines + 1:
            if agent.process.poll() is not None:
                raise SystemExit(f"agent exited: {agent.log.read_text()}")
            time.sleep(0.25)  # /metrics is not free for the server: do not poll hard
        elapsed = time.perf_counter() - started
        agent._sample_once()
        agent_cpu = agent.cpu_secs - cpu_before
        agent.stop()
        server_secs = server_alone(url, raw, lines)
        server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rate = lines / elapsed
    print(
        f"baseline cat > /dev/null:        {lines / cat_secs:>12,.0f} lines/s  ({size / cat_secs / 1e6:,.0f} MB/s)"
    )
    print(f"baseline python read+split loop: {lines / loop_secs:>12,.0f} lines/s")
    print(f"pipeline alone (in-process):     {lines / pipe_secs:>12,.0f} lines/s")
    print(f"server alone (agent's batches):  {lines / server_secs:>12,.0f} lines/s")
    print(
        f"end to end (tail→pipeline→push→stored): {rate:,.0f} lines/s in {elapsed:.2f} s "
        f"(target ≥ {TARGET_LINES_PER_SEC:,}: {'met' if rate >= TARGET_LINES_PER_SEC else 'NOT met'})"
    )
    print(
        f"ratio end to end / server alone: {rate / (lines / server_secs):.2f}; / pipeline alone: "
        f"{rate / (lines / pipe_secs):.2f}; / python read loop: {rate / (lines / loop_secs):.3f}; / cat: "
        f"{rate / (lines / cat_secs):.4f}"
    )
    print(
        f"agent CPU: {agent_cpu:.2f} s ({agent_cpu / lines * 1e6:.2f} µs/line, {agent_cpu / elapsed:.0%} of one core); "
        f"agent peak RSS: {agent.peak_rss / 1024**2:.0f} MiB (target ≤ {TARGET_RSS_BYTES // 1024**2} MiB: "
        f"{'met' if agent.peak_rss <= TARGET_RSS_BYTES else 'NOT met'}); server peak RSS: {server.peak_rss / 1024**2:.0f} MiB"
    )


if __name__ == "__main__":
    main()
