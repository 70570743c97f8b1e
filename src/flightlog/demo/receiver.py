"""The demo's webhook receiver: records the Alertmanager-format notifications it gets.

Each notification is appended to a JSON-lines file and logged through the SDK under
``service="alert-receiver"``, so the demo shows in Explore exactly what an on-call tool
would have received.
"""

from __future__ import annotations

import argparse
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

import flightlog

log = logging.getLogger("flightlog.demo.receiver")

MAX_BODY_BYTES = 1 << 20


def make_handler(record_path: Path) -> type[BaseHTTPRequestHandler]:
    """A request handler class that appends every POSTed payload to ``record_path``."""

    class WebhookHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY_BYTES:
                self.send_error(
                    413 if length > MAX_BODY_BYTES else 400, "body required, at most 1 MiB"
                )
                return
            try:
                payload = orjson.loads(self.rfile.read(length))
            except orjson.JSONDecodeError:
                self.send_error(400, "body is not JSON")
                return
            with record_path.open("ab") as handle:
                handle.write(orjson.dumps(payload) + b"\n")
            for alert in payload.get("alerts", []) if isinstance(payload, dict) else []:
                log.warning(
                    "notification %s %s",
                    alert.get("status"),
                    alert.get("labels", {}).get("alertname"),
                    extra={
                        "alert_labels": alert.get("labels", {}),
                        "group_key": payload.get("groupKey"),
                    },
                )
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Keep the console quiet; notifications are logged through flightlog instead."""

    return WebhookHandler


def main(argv: list[str] | None = None) -> None:
    """Serve the receiver on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True, help="flightlog server URL")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--record", type=Path, required=True, help="JSON-lines file of received payloads"
    )
    args = parser.parse_args(argv)
    flightlog.configure(server=args.server, labels={"service": "alert-receiver", "env": "demo"})
    args.record.parent.mkdir(parents=True, exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.record))
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        flightlog.shutdown()


if __name__ == "__main__":
    main()
