"""Starts and stops the demo's processes: the server first, the workload once it is ready."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

__all__ = ["DemoSupervisor"]


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoSupervisor:
    """Owns the demo's child processes; ``run`` blocks until the server exits."""

    host: str
    port: int
    data_dir: Path
    requests: int = 600
    epochs: int = 30
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    receiver_port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``python -m ...`` with its console output in ``demo/logs/<name>.out``."""
        log_dir = self.data_dir / "demo" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        output = (log_dir / f"{name}.out").open("ab")
        process = subprocess.Popen([sys.executable, *args], stdout=output, stderr=subprocess.STDOUT)
        self.children.append(process)
        return process

    def _wait_ready(self, server: subprocess.Popen[bytes], timeout_secs: float) -> bool:
        deadline = time.monotonic() + timeout_secs
        while time.monotonic() < deadline:
            if server.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/ready", timeout=1.0).status_code == 200:
                    return True
            time.sleep(0.2)
        return False

    def start_workload(self) -> None:
        """The receiver, the two inference services with traffic, and the training runs."""
        model_port, gateway_port = _free_port(self.host), _free_port(self.host)
        record = self.data_dir / "demo" / "notifications.jsonl"
        self._spawn(
            "receiver",
            "-m",
            "flightlog.demo.receiver",
            "--server",
            self.url,
            "--port",
            str(self.receiver_port),
            "--record",
            str(record),
        )
        self._spawn(
            "model-server",
            "-m",
            "flightlog.demo.services",
            "model-server",
            "--server",
            self.url,
            "--port",
            str(model_port),
        )
        self._spawn(
            "gateway",
            "-m",
            "flightlog.demo.services",
            "gateway",
            "--server",
            self.url,
            "--port",
            str(gateway_port),
            "--model-url",
            f"http://{self.host}:{model_port}",
            "--requests",
            str(self.requests),
        )
        self._spawn(
            "train",
            "-m",
            "flightlog.demo.train",
            "--server",
            self.url,
            "--epochs",
            str(self.epochs),
            "--log-dir",
            str(self.data_dir / "demo" / "runs"),
        )

    def stop(self) -> None:
        """Terminate every child, the server last so it can take their final lines."""
        for process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.children):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def run(self, ready_timeout_secs: float) -> int:
        """Start everything, print where to look, and wait; returns the exit code."""
        from flightlog.demo.setup import write_demo_config

        self.receiver_port = _free_port(self.host)
        config = write_demo_config(self.data_dir, f"http://{self.host}:{self.receiver_port}/")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flightlog",
                "serve",
                "--config",
                str(config),
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
        )
        # The server is started first and stopped last.
        self.children.append(server)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_signal)
        try:
            if not self._wait_ready(server, ready_timeout_secs):
                print(
                    f"error: the server did not become ready on {self.url}; see the lines above",
                    file=sys.stderr,
                )
                return 1
            self.start_workload()
            print(
                f"\nflightlog demo is running: open {self.url}\n"
                f"  training runs:  {self.url}/runs\n"
                f"  alerts:         {self.url}/alerts\n"
                f"  notifications the webhook receiver got: {self.data_dir / 'demo' / 'notifications.jsonl'}\n"
                "Press Ctrl-C to stop.",
                flush=True,
            )
            return server.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            self.stop()
