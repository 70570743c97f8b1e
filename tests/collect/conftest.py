"""A recording push server (a real HTTP server on loopback) and an agent runner."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from flightlog.collect import Agent, CollectConfig, FileInput, ShipperConfig


class RecordingServer:
    """Accepts Loki JSON pushes (gzip or not) and records every entry; can go down and up."""

    def __init__(self) -> None:
        self.entries: list[tuple[dict[str, str], int, str, dict[str, str]]] = []
        self.requests: list[dict[str, str]] = []
        self.batches: list[list[str]] = []
        """The lines of each accepted push, in arrival order."""
        self.status = 204
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                status = recorder.status
                if status == 204:
                    payload = orjson.loads(body)
                    with recorder._lock:
                        recorder.requests.append(dict(self.headers))
                        recorder.batches.append(
                            [
                                value[1]
                                for stream in payload["streams"]
                                for value in stream["values"]
                            ]
                        )
                        for stream in payload["streams"]:
                            for value in stream["values"]:
                                metadata = value[2] if len(value) > 2 else {}
                                recorder.entries.append(
                                    (stream["stream"], int(value[0]), value[1], metadata)
                                )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        """Go down: the port refuses connections until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        with self._lock:
            return [entry[2] for entry in self.entries]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if len(lines) >= count:
                return lines
            time.sleep(0.02)
        raise AssertionError(
            f"server got {len(self.lines())} lines, expected {count} within {timeout}s"
        )


def wait_until(condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Return once ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"not met within {timeout}s: {what or condition}")


@pytest.fixture(name="wait_until")
def _wait_until() -> Callable[..., None]:
    return wait_until


def positions_of(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The agent's saved read positions (``positions.json``), by file identity."""
    try:
        return orjson.loads((data_dir / "positions.json").read_bytes())["files"]
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}


@pytest.fixture(name="positions_of")
def _positions_of() -> Callable[[Path], dict[str, dict[str, Any]]]:
    return positions_of


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.stop()


class RunningAgent:
    """An in-process agent on its own thread."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=agent.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "agent did not stop"


def fast_config(
    url: str, data_dir: Path, inputs: tuple[FileInput, ...], **overrides: Any
) -> CollectConfig:
    """A config with short intervals so tests wait little."""
    settings: dict[str, Any] = {
        "shipper": ShipperConfig(url=url, initial_backoff_secs=0.05, max_backoff_secs=0.2),
        "data_dir": data_dir,
        "inputs": inputs,
        "batch_max_lines": 500,
        "batch_flush_interval_secs": 0.05,
        "poll_interval_secs": 0.01,
        "glob_interval_secs": 0.05,
        "rotate_wait_secs": 0.2,
        "drain_timeout_secs": 10.0,
    }
    settings.update(overrides)
    return CollectConfig(**settings)


@pytest.fixture(name="fast_config")
def _fast_config() -> Callable[..., CollectConfig]:
    return fast_config


@pytest.fixture
def run_agent() -> Iterator[Callable[..., RunningAgent]]:
    started: list[RunningAgent] = []

    def start(config: CollectConfig, **kwargs: Any) -> RunningAgent:
        running = RunningAgent(
            Agent(config, registry=kwargs.pop("registry", CollectorRegistry()), **kwargs)
        )
        started.append(running)
        return running

    yield start
    for running in started:
        if running.thread.is_alive():
            running.stop()
