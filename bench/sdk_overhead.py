"""SDK overhead: what flightlog costs inside a training loop or a service, per call.

Measured in one run, each against a baseline measured in the same run:

* ``Run.log_batch`` with 5 metrics (hot path; target <= 5 us/call): the calling thread's
  CPU time, and the whole process's CPU time including the background writer's work;
* one ``logging`` call through flightlog's ``JSONFormatter`` vs the same call through
  python-json-logger, structlog's ``JSONRenderer`` and loguru ``serialize=True``
  (target: ours <= 0.5 x python-json-logger), plus ``format()`` alone;
* ``mlflow.log_metric`` (local file store) and tensorboard ``add_scalar``, if installed;
* a small PyTorch training loop on CPU with ``log_batch`` every step vs without, if
  torch is installed (target: slowdown <= 2 %).

Usage: ``nice .venv/bin/python bench/sdk_overhead.py [--calls N] [--steps N]``.
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RESULTS: dict[str, float] = {}


def per_call_us(
    fn: Callable[[int], None],
    calls: int,
    repeats: int = 3,
    clock: Callable[[], float] = time.process_time,
) -> float:
    """Best-of-``repeats`` microseconds per call of ``fn(calls)`` (which loops ``calls`` times).

    The default clock is the process's CPU time (all threads, so a background writer's
    work is counted): on a shared machine it is far steadier than wall time.
    """
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = clock()
        fn(calls)
        best = min(best, clock() - start)
    return best / calls * 1e6


def report(name: str, micros: float, baseline: str | None = None, target: str = "") -> None:
    RESULTS[name] = micros
    ratio = ""
    if baseline is not None and baseline in RESULTS:
        ratio = f"  ({micros / RESULTS[baseline]:.2f}x {baseline})"
    print(f"{name:<44} {micros:9.3f} us/call{ratio}{'  ' + target if target else ''}", flush=True)


def bench_log_batch(calls: int, workdir: Path) -> None:
    import flightlog

    run = flightlog.Run("bench", dir=workdir / "runs", flush_interval_secs=0.2)
    log_batch = run.log_batch

    def loop(n: int) -> None:
        for i in range(n):
            log_batch(
                step=i, epoch=1, loss=0.5, accuracy=0.9, lr=1e-3, grad_norm=1.2, batch_time=0.01
            )

    def loop_and_drain(n: int) -> None:
        loop(n)
        run.flush()

    def bare(step: int | None = None, epoch: int | None = None, **metrics: float) -> None:
        return None

    def bare_loop(n: int) -> None:
        for i in range(n):
            bare(step=i, epoch=1, loss=0.5, accuracy=0.9, lr=1e-3, grad_norm=1.2, batch_time=0.01)

    base = "bare python call, same args (baseline)"
    # The caller's own CPU time (time.thread_time): what the training thread pays, without
    # the writer thread's work, which the next line counts.
    report(base, per_call_us(bare_loop, calls, clock=time.thread_time))
    report(
        "Run.log_batch, 5 metrics (caller thread CPU)",
        per_call_us(loop, calls, clock=time.thread_time),
        base,
        "target <= 5 us",
    )
    report(
        "Run.log_batch incl. writer thread (process CPU)",
        per_call_us(loop_and_drain, calls),
        "bare python call, same args (baseline)",
    )
    run.finish()
    lines = sum(1 for _ in (workdir / "runs" / "bench_metrics.jsonl").open("rb"))
    print(f"  (metrics.jsonl holds {lines} lines)")


def _null_stream() -> io.TextIOBase:
    return open(os.devnull, "w")


def bench_formatters(calls: int) -> None:
    from pythonjsonlogger import json as pjl_json

    from flightlog import JSONFormatter

    devnull = _null_stream()

    def make_logger(name: str, formatter: logging.Formatter) -> logging.Logger:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        handler = logging.StreamHandler(devnull)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        return logger

    extra = {"loss": 0.25, "step": 10, "user": "u1"}
    pjl = make_logger(
        "bench.pjl", pjl_json.JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    ours = make_logger("bench.ours", JSONFormatter())

    def call(logger: logging.Logger) -> Callable[[int], None]:
        def loop(n: int) -> None:
            for i in range(n):
                logger.info("step %d done", i, extra=extra)

        return loop

    report("logging + python-json-logger (baseline)", per_call_us(call(pjl), calls))
    report(
        "logging + flightlog JSONFormatter",
        per_call_us(call(ours), calls),
        "logging + python-json-logger (baseline)",
        "target <= 0.5x",
    )

    record = logging.LogRecord("bench", logging.INFO, __file__, 1, "step %d done", (1,), None)
    record.__dict__.update(extra)
    pjl_formatter = pjl.handlers[0].formatter
    our_formatter = ours.handlers[0].formatter
    assert pjl_formatter is not None and our_formatter is not None

    def fmt(formatter: logging.Formatter) -> Callable[[int], None]:
        def loop(n: int) -> None:
            for _ in range(n):
                formatter.format(record)

        return loop

    report("format() only: python-json-logger (baseline)", per_call_us(fmt(pjl_formatter), calls))
    report(
        "format() only: flightlog JSONFormatter",
        per_call_us(fmt(our_formatter), calls),
        "format() only: python-json-logger (baseline)",
        "target <= 0.5x",
    )

    import structlog

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=devnull),
        cache_logger_on_first_use=True,
    )
    slog = structlog.get_logger("bench")

    def structlog_loop(n: int) -> None:
        for i in range(n):
            slog.info("step done", step=i, loss=0.25, user="u1")

    report(
        "structlog JSONRenderer",
        per_call_us(structlog_loop, calls),
        "logging + python-json-logger (baseline)",
    )

    from loguru import logger as loguru_logger

    loguru_logger.remove()
    loguru_logger.add(devnull, serialize=True, level="INFO")

    def loguru_loop(n: int) -> None:
        for i in range(n):
            loguru_logger.bind(loss=0.25, user="u1").info("step {} done", i)

    report(
        "loguru serialize=True",
        per_call_us(loguru_loop, calls),
        "logging + python-json-logger (baseline)",
    )


def bench_trackers(calls: int, workdir: Path) -> None:
    # MLflow 3 refuses the file store unless asked; the issue measures exactly that store.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        import mlflow
    except ImportError:
        print("mlflow.log_metric: skipped (mlflow is not installed)")
    else:
        mlflow.set_tracking_uri((workdir / "mlruns").as_uri())
        with mlflow.start_run():
            n = max(calls // 100, 200)

            def mlflow_loop(count: int) -> None:
                for i in range(count):
                    mlflow.log_metric("loss", 0.5, step=i)

            report("mlflow.log_metric (local file store)", per_call_us(mlflow_loop, n, repeats=1))
            if "Run.log_batch, 5 metrics (caller thread CPU)" in RESULTS:
                ratio = (
                    RESULTS["Run.log_batch, 5 metrics (caller thread CPU)"]
                    / RESULTS["mlflow.log_metric (local file store)"]
                )
                print(f"  log_batch / mlflow.log_metric = {ratio:.4f}  (target <= 0.05)")
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        print("tensorboard SummaryWriter.add_scalar: skipped (tensorboard is not installed)")
    else:
        writer = SummaryWriter(log_dir=str(workdir / "tb"))

        def tb_loop(count: int) -> None:
            for i in range(count):
                writer.add_scalar("loss", 0.5, i)

        report("tensorboard add_scalar", per_call_us(tb_loop, calls // 10, repeats=3))
        writer.close()


def bench_torch_loop(steps: int, workdir: Path) -> None:
    try:
        import torch
    except ImportError:
        print("PyTorch training loop: skipped (torch is not installed)")
        return
    import flightlog

    torch.manual_seed(0)
    torch.set_num_threads(1)
    # An MNIST-sized MLP on one CPU thread: a small but real training step.
    inputs = torch.randn(128, 784)
    targets = torch.randint(0, 10, (128,))

    def train(run: flightlog.Run | None) -> float:
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()
        start = time.process_time()  # CPU of all threads: the writer's work is counted
        for step in range(steps):
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            value = loss.item()
            if run is not None:
                run.log_batch(step=step, epoch=1, loss=value, lr=0.01, a=1.0, b=2.0, c=3.0)
        if run is not None:
            run.flush()  # what the writer still had to do belongs to this loop
        return time.process_time() - start

    train(None)  # warm up
    plain, logged = [], []
    for index in range(7):  # interleaved, so drift in machine load hits both alike
        plain.append(train(None))
        with flightlog.Run(f"loop{index}", dir=workdir / "loop") as run:
            logged.append(train(run))
    base, with_logging = statistics.median(plain), statistics.median(logged)
    report("torch CPU loop step, no logging (baseline)", base / steps * 1e6)
    report(
        "torch CPU loop step, log_batch every step",
        with_logging / steps * 1e6,
        "torch CPU loop step, no logging (baseline)",
        "target <= 1.02x",
    )
    print(
        f"  training-loop slowdown: {(with_logging / base - 1) * 100:+.2f} % "
        f"(CPU time, median of 7 interleaved runs of {steps} steps)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=100_000, help="calls per measurement")
    parser.add_argument("--steps", type=int, default=500, help="steps of the PyTorch loop")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"flightlog SDK overhead (python {sys.version.split()[0]}, {args.calls} calls per "
        f"measurement, {os.cpu_count()} CPUs, load average {load:.1f})"
    )
    with tempfile.TemporaryDirectory(prefix="flightlog-bench-") as tmp:
        workdir = Path(tmp)
        bench_log_batch(args.calls, workdir)
        bench_formatters(args.calls // 4)
        bench_trackers(args.calls, workdir)
        bench_torch_loop(args.steps, workdir)


if __name__ == "__main__":
    main()
