"""System metrics: process and system memory, CPU %, and GPU memory/utilisation.

GPU figures come from torch (only if the application already imported it) and from
nvidia-ml-py (``pynvml``); a missing library or a machine without a GPU is not an error,
the fields are simply absent. ``SystemMonitor`` samples on a daemon thread at an
interval; it is started by ``Run`` only when asked (``system_metrics_interval_secs``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["SystemMonitor", "sample_system_metrics"]

_GIB = 1024**3
_nvml_state: dict[str, Any] = {}


def _torch_gpu() -> dict[str, float]:
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    try:
        if not torch.cuda.is_available():
            return {}
        out: dict[str, float] = {}
        for index in range(torch.cuda.device_count()):
            out[f"gpu{index}_allocated_gb"] = torch.cuda.memory_allocated(index) / _GIB
            out[f"gpu{index}_reserved_gb"] = torch.cuda.memory_reserved(index) / _GIB
            out[f"gpu{index}_max_allocated_gb"] = torch.cuda.max_memory_allocated(index) / _GIB
        return out
    except (RuntimeError, AssertionError):
        return {}


def _nvml_gpu() -> dict[str, float]:
    try:
        import pynvml
    except ImportError:
        return {}
    try:
        if not _nvml_state.get("initialised"):
            pynvml.nvmlInit()
            _nvml_state["initialised"] = True
        out: dict[str, float] = {}
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            util = pynvml.nvmlDeviceGetUtilizationRates(handle)
            out[f"gpu{index}_memory_used_gb"] = memory.used / _GIB
            out[f"gpu{index}_memory_total_gb"] = memory.total / _GIB
            out[f"gpu{index}_utilization_pct"] = float(util.gpu)
        return out
    except pynvml.NVMLError:
        return {}


def sample_system_metrics() -> dict[str, float]:
    """One sample: ``process_rss_gb``, ``system_memory_used_pct``, ``cpu_pct``, GPU fields."""
    import psutil

    process = psutil.Process()
    memory = psutil.virtual_memory()
    sample = {
        "process_rss_gb": process.memory_info().rss / _GIB,
        "system_memory_used_gb": (memory.total - memory.available) / _GIB,
        "system_memory_used_pct": float(memory.percent),
        "cpu_pct": float(psutil.cpu_percent(interval=None)),
        "process_cpu_pct": float(process.cpu_percent(interval=None)),
    }
    sample.update(_torch_gpu())
    sample.update(_nvml_gpu())
    return sample


class SystemMonitor:
    """Calls ``sink(sample)`` every ``interval_secs`` on a daemon thread until ``stop()``."""

    def __init__(self, interval_secs: float, sink: Callable[[dict[str, float]], None]) -> None:
        if interval_secs <= 0:
            raise ValueError(f"system metrics interval {interval_secs} must be > 0 seconds")
        self.interval_secs = interval_secs
        self._sink = sink
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="flightlog-sysmetrics", daemon=True)
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_secs: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_secs)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_secs):
            try:
                self._sink(sample_system_metrics())
            except Exception:  # boundary: sampling must never kill the host; counted
                self.errors += 1
