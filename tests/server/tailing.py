"""Reading a Loki tail websocket in tests."""

from __future__ import annotations

from typing import Any

import orjson


def tail_lines_until(socket: Any, last: str, timeout_s: float = 20) -> list[str]:
    """Lines of the tail messages received up to and including the one with ``last``."""
    lines: list[str] = []
    while last not in lines:
        message = orjson.loads(socket.recv(timeout=timeout_s))
        assert "streams" in message, message
        lines += [v[1] for s in message["streams"] for v in s["values"]]
    return lines
