"""Reading back, through the real server's query API, what the agent shipped."""

from __future__ import annotations

import time


def stored_lines(server, selector: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Every line of ``selector`` the real server holds, paging forward through query_range."""
    lines: list[str] = []
    start = time.time_ns() - 3600 * 10**9
    with server.client() as http:
        while True:
            response = http.get(
                "/loki/api/v1/query_range",
                params={
                    "query": selector,
                    "start": str(start),
                    "end": str(time.time_ns() + 10**9),
                    "limit": "5000",
                    "direction": "forward",
                },
            )
            assert response.status_code == 200, response.text
            values = sorted(
                (int(ts), line)
                for stream in response.json()["data"]["result"]
                for ts, line, *_ in stream["values"]
            )
            if not values:
                return lines
            lines.extend(line for _, line in values)
            start = values[-1][0] + 1
