"""A real HTTP server that records what receivers send it, for tests of alert routing.

``RecordingReceiver`` listens on a free loopback port; ``.url`` is where to point a
webhook / Slack / PagerDuty / Alertmanager integration, ``.bodies`` the JSON bodies it got
(``.headers`` their request headers, in the same order),
``wait_for(n)`` waits (bounded) until ``n`` have arrived. ``delay_s`` makes it answer slowly,
to stand in for a receiver that hangs.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["RecordingReceiver"]


class RecordingReceiver:
    def __init__(self, status: int = 200, delay_s: float = 0.0) -> None:
        self.status = status
        self.delay_s = delay_s
        self.requests: list[tuple[str, Any, float]] = []
        self.headers: list[dict[str, str]] = []
        self._cond = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
                with owner._cond:
                    owner.requests.append((self.path, body, time.monotonic()))
                    owner.headers.append(dict(self.headers.items()))
                    owner._cond.notify_all()
                try:
                    self.send_response(owner.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def bodies(self) -> list[Any]:
        with self._cond:
            return [body for _, body, _ in self.requests]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Any]:
        """Wait until ``count`` requests arrived; returns the bodies (raises on timeout)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"expected {count} requests, got {len(self.requests)} in {timeout_s}s"
                    )
                self._cond.wait(left)
            return [body for _, body, _ in self.requests]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RecordingReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
