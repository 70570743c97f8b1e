"""Ingest benchmark: push throughput per format, bytes on disk, peak server RSS.

Generates ``--lines`` lines with ``/work/shared/bench/gen_logs.py`` (cached under
bench/data/), starts ``flightlog serve`` as a subprocess on a fresh data dir (fsync on,
limits raised so the benchmark measures the server, not the rate limiter), and pushes
the same lines three times from one client, each format to its own tenant, in batches
of ``--batch-lines``: Loki JSON, NDJSON, Loki protobuf+snappy. Request bodies are encoded
before the clock starts (the client's encoding cost is not the server's). Then SIGTERM
(the head is flushed to segments) and the data dir is measured against ``gzip -6`` of
the raw lines, computed in the same run. Peak RSS of the server is sampled with psutil.

    .venv/bin/python bench/ingest.py               # 1,000,000 lines
    .venv/bin/python bench/ingest.py --lines 100000
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

from flightlog.ingest import decode_ndjson, encode_loki_json, encode_loki_protobuf

GEN = Path("/work/shared/bench/gen_logs.py")
DATA = Path(__file__).resolve().parent / "data"
TARGET_JSON_LINES_PER_SEC = 150_000
TARGET_DISK_RATIO = 1.0
TARGET_RSS_BYTES = 1024**3
TENANTS = {"loki-json": "bench-json", "ndjson": "bench-ndjson", "loki-protobuf": "bench-protobuf"}

CONFIG = """\
limits:
  defaults:
    max_request_bytes: 268435456
    ingestion_rate_bytes_per_sec: 1.0e12
    ingestion_burst_bytes: 1000000000000
server:
  maintenance_interval_secs: 5
"""


def generate(lines: int) -> tuple[Path, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    ndjson, raw = DATA / f"ingest_{lines}.ndjson", DATA / f"ingest_{lines}.log"
    if not (ndjson.exists() and raw.exists()):
        print(f"generating {lines:,} lines ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(GEN),
                "--lines",
                str(lines),
                "--out",
                str(ndjson),
                "--raw",
                str(raw),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return ndjson, raw


def gzip6_size(raw: Path) -> int:
    if shutil.which("gzip"):
        out = subprocess.run(["gzip", "-6", "-c", str(raw)], check=True, capture_output=True).stdout
        return len(out)
    return len(gzip.compress(raw.read_bytes(), compresslevel=6))


class Server:
    def __init__(self, data_dir: Path, config: Path) -> None:
        self.log = data_dir.parent / "server.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flightlog",
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                "0",
                "--config",
                str(config),
            ],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.peak_rss = 0
        self._stop = threading.Event()
        self.url = self._wait_ready()
        threading.Thread(target=self._sample_rss, daemon=True).start()

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + 60
        marker = "flightlog listening on "
        url = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited: {self.log.read_text()}")
            text = self.log.read_text()
            if url is None and marker in text:
                url = text.split(marker, 1)[1].split()[0]
            if url:
                try:
                    if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                        return url
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        raise SystemExit("server not ready within 60 s")

    def _sample_rss(self) -> None:
        process = psutil.Process(self.process.pid)
        while not self._stop.is_set():
            try:
                self.peak_rss = max(self.peak_rss, process.memory_info().rss)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)

    def cpu_secs(self) -> float:
        """CPU time the server used so far (all threads): steadier than wall time on a busy box."""
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(120)
        self._stop.set()


def batches_of(ndjson: Path, batch_lines: int) -> list[bytes]:
    lines = ndjson.read_bytes().splitlines(keepends=True)
    return [b"".join(lines[i : i + batch_lines]) for i in range(0, len(lines), batch_lines)]


def push_all(url: str, path: str, tenant: str, content_type: str, bodies: list[bytes]) -> float:
    headers = {"Content-Type": content_type, "X-Scope-OrgID": tenant}
    with httpx.Client(base_url=url, timeout=120) as http:
        started = time.perf_counter()
        for body in bodies:
            response = http.post(path, content=body, headers=headers)
            if response.status_code != 204:
                raise SystemExit(f"push failed: {response.status_code} {response.text[:300]}")
        return time.perf_counter() - started


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--batch-lines", type=int, default=10_000)
    args = parser.parse_args()

    ndjson, raw = generate(args.lines)
    raw_bytes = raw.stat().st_size
    gzip_bytes = gzip6_size(raw)
    nd_bodies = batches_of(ndjson, args.batch_lines)
    encoders: dict[str, Callable[[bytes], bytes]] = {
        "loki-json": lambda b: encode_loki_json(decode_ndjson(b, "t", 0)),
        "ndjson": lambda b: b,
        "loki-protobuf": lambda b: encode_loki_protobuf(decode_ndjson(b, "t", 0)),
    }
    routes = {
        "loki-json": ("/loki/api/v1/push", "application/json"),
        "ndjson": ("/api/v1/push/ndjson", "application/x-ndjson"),
        "loki-protobuf": ("/loki/api/v1/push", "application/x-protobuf"),
    }
    with tempfile.TemporaryDirectory(prefix="flightlog-bench-ingest-", dir=DATA) as tmp:
        root = Path(tmp)
        config = root / "flightlog.yaml"
        config.write_text(CONFIG)
        server = Server(root / "data", config)
        results = {}
        try:
            for name, encode in encoders.items():
                bodies = [encode(b) for b in nd_bodies]
                path, content_type = routes[name]
                cpu_before = server.cpu_secs()
                seconds = push_all(server.url, path, TENANTS[name], content_type, bodies)
                cpu = server.cpu_secs() - cpu_before
                results[name] = (seconds, sum(map(len, bodies)))
                print(
                    f"{name:14s} {args.lines / seconds:>10,.0f} lines/s  {sum(map(len, bodies)) / seconds / 1e6:6.1f} MB/s (request bytes)"
                    f"  {raw_bytes / seconds / 1e6:6.1f} MB/s (raw line bytes)  {seconds:6.2f} s wall"
                    f"  | server CPU {cpu:6.2f} s = {args.lines / cpu:>9,.0f} lines per CPU-second",
                    flush=True,
                )
        finally:
            server.stop()
        disk = dir_bytes(root / "data")
    copies = len(encoders)
    json_rate = args.lines / results["loki-json"][0]
    disk_ratio = disk / (copies * gzip_bytes)
    print(
        f"lines: {args.lines:,} per format, batches of {args.batch_lines:,}, one client, fsync on"
    )
    print(
        f"raw lines: {raw_bytes:,} B; gzip -6 of them: {gzip_bytes:,} B ({raw_bytes / gzip_bytes:.2f}x)"
    )
    print(
        f"on disk after final flush: {disk:,} B for {copies} copies = {disk / copies:,.0f} B per copy"
    )
    print(
        f"on-disk / gzip -6: {disk_ratio:.3f} (target <= {TARGET_DISK_RATIO}) -> {'OK' if disk_ratio <= TARGET_DISK_RATIO else 'MISS'}"
    )
    print(
        f"loki-json push: {json_rate:,.0f} lines/s = {json_rate / TARGET_JSON_LINES_PER_SEC:.2f}x target "
        f"{TARGET_JSON_LINES_PER_SEC:,} -> {'OK' if json_rate >= TARGET_JSON_LINES_PER_SEC else 'MISS'}"
    )
    for name in ("ndjson", "loki-protobuf"):
        rate = args.lines / results[name][0]
        print(f"{name} push: {rate:,.0f} lines/s = {rate / json_rate:.2f}x loki-json")
    print(
        f"peak server RSS: {server.peak_rss / 2**20:,.0f} MiB = {server.peak_rss / TARGET_RSS_BYTES:.2f}x target 1 GiB "
        f"-> {'OK' if server.peak_rss <= TARGET_RSS_BYTES else 'MISS'}"
    )


if __name__ == "__main__":
    main()
