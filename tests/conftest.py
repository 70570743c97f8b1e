"""Fixtures shared by the whole suite.

Servers
-------
``flightlog_server``
    A REAL ``python -m flightlog serve`` subprocess on a free loopback port with a fresh
    data dir under ``tmp_path``; ready (``GET /ready`` answered 200) when the test starts,
    stopped (SIGTERM, graceful) at teardown. The object it yields (``ServerProcess``) has
    ``.url``, ``.port``, ``.data_dir``, ``.config_path``, ``.client(**httpx_kwargs)``
    (an ``httpx.Client`` on ``.url``), ``.stop()`` (SIGTERM and wait; returns the exit
    code), ``.kill()`` (SIGKILL and wait), ``.restart()`` (start again on the same data
    dir, config and, when free, port; waits for ready) and ``.output()`` (what it printed).

``flightlog_server_factory``
    ``start(config=None, *, data_dir=None, env=None) -> ServerProcess`` for tests that
    need a config (a dict, written as YAML, or YAML text) or several servers; every
    server it started is stopped at teardown::

        def test_tokens(flightlog_server_factory):
            server = flightlog_server_factory({"auth": {"tokens": [
                {"token": "writer-token", "tenant": "a", "role": "write"}]}})
            with server.client() as http:
                assert http.post("/loki/api/v1/push", json={...}).status_code == 401

``flightlog_module_server``
    Like ``flightlog_server`` but shared by all tests of a module (starts once): for
    modules with many small request/response tests. Tests must not assume an empty store.
    ``flightlog_module_server_factory`` is the module-scoped twin of the factory.

``flightlog_app_client``
    In-process alternative (no subprocess, faster): a ``fastapi.testclient.TestClient``
    over ``create_app`` with a fresh data dir, lifespan run (store open, hooks started).
    Use it for request/response tests; use the real subprocess for anything about
    startup, signals, crashes or the CLI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import settings

# No per-example deadline: on the shared 2-core machine a first example can take 300 ms
# for reasons that are not the code's (a deadline is a timing assert; see STYLE).
settings.register_profile("flightlog", deadline=None)
settings.load_profile("flightlog")

_READY_TIMEOUT_SECS = 90.0
_STOP_TIMEOUT_SECS = 30.0


class ServerProcess:
    """One ``flightlog serve`` subprocess; see the module docstring."""

    def __init__(
        self, data_dir: Path, config_path: Path | None, log_path: Path, env: dict[str, str] | None
    ) -> None:
        self.data_dir = data_dir
        self.config_path = config_path
        self.log_path = log_path
        self.env = env
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Everything every run of this server printed (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("timeout", 30.0)
        return httpx.Client(base_url=self.url, **kwargs)

    def start(self, port: int = 0) -> ServerProcess:
        assert self.process is None or self.process.poll() is not None, "already running"
        command = [sys.executable, "-m", "flightlog", "serve", "--data-dir", str(self.data_dir)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        if self.config_path is not None:
            command += ["--config", str(self.config_path)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.port = self._wait_for_port()
        self._wait_ready()
        return self

    def _this_run_output(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def _fail(self, why: str) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        raise RuntimeError(f"flightlog serve {why}; it printed:\n{self._this_run_output()}")

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + _READY_TIMEOUT_SECS
        marker = "flightlog listening on http://127.0.0.1:"
        while time.monotonic() < deadline:
            for line in self._this_run_output().splitlines():
                if line.startswith(marker):
                    return int(line[len(marker) :].split()[0])
            assert self.process is not None
            if self.process.poll() is not None:
                self._fail(f"exited with {self.process.returncode} before listening")
            time.sleep(0.02)
        self._fail("did not print its address in time")
        raise AssertionError("unreachable")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_SECS
        with httpx.Client(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    self._fail(f"exited with {self.process.returncode} during startup")
                try:
                    if http.get("/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        self._fail("was not ready in time")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_secs: float = _STOP_TIMEOUT_SECS) -> int:
        """SIGTERM (graceful: the head is flushed) and wait; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_secs)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"flightlog serve ignored SIGTERM for {timeout_secs}s") from None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL (a crash: nothing is flushed) and wait."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def restart(self) -> ServerProcess:
        """Start again on the same data dir and config, on the same port if it is free."""
        if self.running:
            self.stop()
        previous = self.port
        try:
            return self.start(previous)
        except RuntimeError:
            return self.start(0)


def _write_config(config: dict[str, Any] | str | None, path: Path) -> Path | None:
    if config is None:
        return None
    text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
    path.write_text(text)
    return path


@pytest.fixture
def flightlog_server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(
        config: dict[str, Any] | str | None = None,
        *,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> ServerProcess:
        index = len(started)
        directory = data_dir or tmp_path / f"server{index}-data"
        config_path = _write_config(config, tmp_path / f"server{index}.yaml")
        server = ServerProcess(directory, config_path, tmp_path / f"server{index}.log", env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        if server.running:
            server.stop()


@pytest.fixture
def flightlog_server(flightlog_server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return flightlog_server_factory()


@pytest.fixture(scope="module")
def flightlog_module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("module-server")
    server = ServerProcess(root / "data", None, root / "server.log", None).start()
    yield server
    if server.running:
        server.stop()


@pytest.fixture(scope="module")
def flightlog_module_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ServerProcess]]:
    """Like ``flightlog_server_factory`` but its servers live for the whole module."""
    root = tmp_path_factory.mktemp("module-servers")
    started: list[ServerProcess] = []

    def start(config: dict[str, Any] | str | None = None) -> ServerProcess:
        index = len(started)
        config_path = _write_config(config, root / f"server{index}.yaml")
        server = ServerProcess(
            root / f"server{index}-data", config_path, root / f"server{index}.log", None
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        if server.running:
            server.stop()


@pytest.fixture
def flightlog_app_client(tmp_path: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from flightlog.config import load_config
    from flightlog.server import create_app

    app = create_app(load_config(None, data_dir=tmp_path / "app-data"))
    with TestClient(app) as client:
        yield client
