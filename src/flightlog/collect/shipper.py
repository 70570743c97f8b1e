"""Sending spooled batches to the server: Loki push JSON, gzip, retries with backoff.

One thread sends the oldest sendable batch at a time, so entries of a stream arrive in
order. A 2xx removes the batch; a connection error, 429 or 5xx is retried after a
backoff that doubles up to ``max_backoff_secs`` (the batch stays on disk meanwhile); any
other 4xx means the server will never take this batch, so it is removed and its lines
counted as rejected rather than blocking everything behind it forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import cramjam
import httpx
import orjson
from prometheus_client import CollectorRegistry

from flightlog.collect.metrics import agent_metrics
from flightlog.collect.spool import Spool
from flightlog.model import format_labels
from flightlog.pipeline.record import LogRecord

__all__ = ["PUSH_PATH", "Shipper", "ShipperConfig", "encode_push", "entry_bytes", "split_batch"]

PUSH_PATH = "/loki/api/v1/push"
logger = logging.getLogger("flightlog.collect")


def encode_push(records: Iterable[LogRecord], *, level: int = 1) -> bytes:
    """A gzip'd Loki push body (JSON) for ``records``, one stream per label set.

    Built straight from the records (no intermediate columns): records of one file share
    one labels mapping, so the stream key is computed once per run of equal mappings.
    """
    groups: dict[tuple[tuple[str, str], ...], list[list[object]]] = {}
    last_labels: object = None
    values: list[list[object]] = []
    for record in records:
        labels = record.labels
        if labels is not last_labels:
            last_labels = labels
            key = tuple(sorted(labels.items()))
            found = groups.get(key)
            if found is None:
                found = groups[key] = []
            values = found
        metadata = record.metadata
        if metadata:
            values.append([str(record.ts_ns), record.line, dict(metadata)])
        else:
            values.append([str(record.ts_ns), record.line])
    body = orjson.dumps(
        {"streams": [{"stream": dict(key), "values": vals} for key, vals in groups.items()]}
    )
    # cramjam's gzip is ~40% cheaper than zlib's at level 1 (measured: 1.0 vs 1.6 µs/line).
    return bytes(cramjam.gzip.compress(body, level=level))


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def entry_bytes(record: LogRecord) -> int:
    """What an entry counts against ``batch.max_bytes``: its line in UTF-8 plus one (the
    newline it was read with), and the names and values of its structured metadata."""
    size = _utf8_len(record.line) + 1
    for name, value in record.metadata.items():
        size += _utf8_len(name) + _utf8_len(value)
    return size


def split_batch(
    records: Sequence[LogRecord], max_lines: int, max_bytes: int
) -> list[list[LogRecord]]:
    """``records`` cut, in order, into pushes of at most ``max_lines`` entries and
    ``max_bytes`` bytes (``entry_bytes``); none when there are no records.

    An entry over ``max_bytes`` on its own is pushed alone (a line is cut only at
    ``MAX_LINE_BYTES`` when read; the ``truncate`` pipeline stage cuts it shorter).
    """
    batches: list[list[LogRecord]] = []
    current: list[LogRecord] = []
    size = 0
    for record in records:
        entry = entry_bytes(record)
        if current and (len(current) >= max_lines or size + entry > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(record)
        size += entry
    if current:
        batches.append(current)
    return batches


@dataclass(frozen=True, slots=True)
class ShipperConfig:
    """Where and how batches are sent."""

    url: str
    tenant: str = "default"
    bearer_token: str | None = None
    timeout_secs: float = 10.0
    initial_backoff_secs: float = 0.5
    max_backoff_secs: float = 30.0

    @property
    def push_url(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith(PUSH_PATH) else base + PUSH_PATH

    def headers(self) -> Mapping[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-Scope-OrgID": self.tenant,
            "User-Agent": "flightlog-collect",
        }
        if self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        return headers


class Shipper:
    """The thread that drains the spool to the server."""

    def __init__(
        self,
        config: ShipperConfig,
        spool: Spool,
        *,
        registry: CollectorRegistry | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.spool = spool
        self._metrics = agent_metrics(registry)
        self._client = httpx.Client(timeout=config.timeout_secs, transport=transport)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.backoff_secs = 0.0

    def resolve_in_flight(self) -> None:
        """Settle the batch a killed agent was sending: drop it if the server has it.

        The server may have stored a batch and the agent died before it saw the answer.
        The batch's newest entry (its labels, exact timestamp and line) is looked up with
        ``query_range``; found means delivered. Any doubt (server down, no read API, no
        probe) keeps the batch, to be sent again: at least once, never lost.
        """
        item = self.spool.in_flight()
        if item is None:
            self.spool.clear_in_flight()
            return
        probe = self.spool.header(item).get("probe")
        if isinstance(probe, dict) and probe.get("labels") and self._stored(probe):
            logger.info(
                "batch %d reached the server before the agent stopped; not resending", item.seq
            )
            self.spool.remove(item)
            self._metrics.sent_lines.inc(item.lines)
            self._metrics.sent_batches.inc()
        self.spool.clear_in_flight()

    def _stored(self, probe: Mapping[str, object]) -> bool:
        labels = probe["labels"]
        assert isinstance(labels, dict)
        ts = int(probe["ts"])  # type: ignore[call-overload]
        base = self.config.push_url[: -len(PUSH_PATH)]
        params = {
            "query": format_labels(labels),
            "start": str(ts),
            "end": str(ts + 1),
            "limit": "100",
            "direction": "forward",
        }
        headers = {
            k: v
            for k, v in self.config.headers().items()
            if k not in ("Content-Type", "Content-Encoding")
        }
        try:
            response = self._client.get(
                base + "/loki/api/v1/query_range", params=params, headers=headers
            )
            if response.status_code != 200:
                return False
            result = response.json()["data"]["result"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return False
        wanted = (str(ts), probe.get("line"))
        return any(
            (value[0], value[1]) == wanted
            for stream in result
            for value in stream.get("values", [])
        )

    def start(self) -> None:
        self.resolve_in_flight()
        self._thread = threading.Thread(
            target=self._run, name="flightlog-collect-shipper", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.spool.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        headers = dict(self.config.headers())
        url = self.config.push_url
        while not self._stop.is_set():
            ready = self.spool.next_ready(timeout=0.5)
            if ready is None:
                continue
            item, body = ready
            reason = None
            self.spool.mark_in_flight(item)
            try:
                response = self._client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                reason = "connection"
                logger.debug("push to %s failed: %s", url, exc)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    self.spool.remove(item)
                    self.spool.clear_in_flight()
                    self._metrics.sent_lines.inc(item.lines)
                    self._metrics.sent_batches.inc()
                    self.backoff_secs = 0.0
                    continue
                if status == 429 or status >= 500 or status in (408, 401, 403):
                    # Auth errors are retried too: a token fix must not lose the buffer.
                    reason = f"http_{status}"
                else:
                    logger.error(
                        "server rejected a batch of %d lines with HTTP %d: %s; dropping it",
                        item.lines,
                        status,
                        response.text[:300],
                    )
                    self.spool.remove(item)
                    self.spool.clear_in_flight()
                    self._metrics.rejected_lines.inc(item.lines)
                    continue
            self.spool.clear_in_flight()
            self._metrics.send_errors.labels(reason).inc()
            self.backoff_secs = min(
                self.config.max_backoff_secs,
                max(self.config.initial_backoff_secs, self.backoff_secs * 2),
            )
            self._stop.wait(self.backoff_secs)
