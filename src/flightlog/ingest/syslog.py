"""Syslog: RFC 5424 and RFC 3164 messages over TCP (octet counting or newlines) and UDP.

``parse_syslog`` reads one message into (timestamp, labels, line, structured metadata):

* labels: ``service_name`` (the APP-NAME / TAG), ``hostname``, ``facility`` and ``level``
  (severity 0-2 → critical, 3 → error, 4 → warning, 5-6 → info, 7 → debug);
* metadata: ``procid``, ``msgid`` and each structured-data parameter as
  ``<sd-id>_<name>`` (characters other than letters, digits and ``_`` become ``_``);
* the line is the MSG part (a UTF-8 BOM removed);
* the timestamp is the message's for RFC 5424; RFC 3164 times have no year and no zone,
  so those messages get the time of receipt (the sender's text kept as ``timestamp``).

``SyslogListener`` serves TCP (RFC 6587: a frame starting with a digit is octet-counted,
otherwise it ends at a newline) and UDP (one datagram, one message), parses, batches and
hands ``PushRequest`` values to a sink the server provides. A message that is not syslog
at all is kept whole as the line with ``level`` unknown rather than dropped.
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flightlog.model import PushRequest, StreamBatch

__all__ = ["SyslogConfig", "SyslogListener", "SyslogMessage", "parse_syslog"]

logger = logging.getLogger("flightlog.ingest.syslog")

_SEVERITY_LEVEL = ("critical", "critical", "critical", "error", "warning", "info", "info", "debug")
_FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3",
    "local4", "local5", "local6", "local7",
)  # fmt: skip
_PRI = re.compile(r"<(\d{1,3})>")
_RFC5424_HEADER = re.compile(r"1 (\S+) (\S+) (\S+) (\S+) (\S+) ")
_RFC3164_HEADER = re.compile(
    r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (?:(\S+) )?([^\s:\[]+)(?:\[([^\]]*)\])?: ?"
)
_SD_ELEMENT = re.compile(r'\[([^\s\]=]+)((?:\s+[^\s=\]]+="(?:[^"\\\]]|\\.)*")*)\s*\]')
_SD_PARAM = re.compile(r'([^\s=\]]+)="((?:[^"\\\]]|\\.)*)"')
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")
_MAX_MESSAGE_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """One parsed message."""

    ts_ns: int
    labels: Mapping[str, str]
    line: str
    metadata: Mapping[str, str] = field(default_factory=dict)


def _rfc3339_ns(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    fraction = re.search(r"\.(\d+)", text)
    whole = int(moment.replace(microsecond=0).timestamp())
    nanos = int(fraction.group(1)[:9].ljust(9, "0")) if fraction else 0
    return whole * 1_000_000_000 + nanos


def _unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\]", "]").replace("\\\\", "\\")


def parse_syslog(message: str, received_ns: int) -> SyslogMessage:
    """Parse an RFC 5424 or RFC 3164 message; anything else becomes a bare line."""
    text = message.rstrip("\r\n\x00")
    labels: dict[str, str] = {}
    metadata: dict[str, str] = {}
    pri = _PRI.match(text)
    if pri is None or int(pri.group(1)) > 191:
        return SyslogMessage(received_ns, {"service_name": "syslog"}, text)
    value = int(pri.group(1))
    labels["facility"] = _FACILITIES[value // 8]
    labels["level"] = _SEVERITY_LEVEL[value % 8]
    rest = text[pri.end() :]
    ts_ns = received_ns
    header = _RFC5424_HEADER.match(rest)
    if header is not None:
        timestamp, hostname, app, procid, msgid = header.groups()
        if timestamp != "-":
            ts_ns = _rfc3339_ns(timestamp) or received_ns
        for key, part in (("hostname", hostname), ("service_name", app)):
            if part != "-":
                labels[key] = part
        for key, part in (("procid", procid), ("msgid", msgid)):
            if part != "-":
                metadata[key] = part
        rest = rest[header.end() :]
        if rest.startswith("-"):
            rest = rest[1:]
        else:
            while True:
                element = _SD_ELEMENT.match(rest)
                if element is None:
                    break
                sd_id = _NAME_CHARS.sub("_", element.group(1).split("@")[0])
                for name, param in _SD_PARAM.findall(element.group(2)):
                    metadata[f"{sd_id}_{_NAME_CHARS.sub('_', name)}"] = _unescape(param)
                rest = rest[element.end() :]
        rest = rest[1:] if rest.startswith(" ") else rest
        if rest.startswith("\ufeff"):
            rest = rest[1:]
    else:
        legacy = _RFC3164_HEADER.match(rest)
        if legacy is not None:
            month, day, hour, minute, second, hostname, tag, procid = legacy.groups()
            # RFC 3164 times have no year and no zone: keep the time of receipt, and the
            # sender's own text in metadata.
            metadata["timestamp"] = f"{month} {day} {hour}:{minute}:{second}"
            if hostname:
                labels["hostname"] = hostname
            labels["service_name"] = tag
            if procid:
                metadata["procid"] = procid
            rest = rest[legacy.end() :]
    labels.setdefault("service_name", "syslog")
    return SyslogMessage(ts_ns, labels, rest, metadata)


@dataclass(frozen=True, slots=True)
class SyslogConfig:
    """The ``syslog:`` section: where to listen, for which tenant, with which extra labels."""

    host: str = "127.0.0.1"
    tcp_port: int | None = None
    udp_port: int | None = None
    tenant: str = "default"
    labels: Mapping[str, str] = field(default_factory=dict)
    flush_interval_secs: float = 0.2
    max_batch_messages: int = 1000

    @property
    def enabled(self) -> bool:
        return self.tcp_port is not None or self.udp_port is not None


class _Batcher:
    """Collects parsed messages and hands them to the sink as one push per interval."""

    def __init__(
        self, config: SyslogConfig, sink: Callable[[PushRequest], None], clock_ns: Callable[[], int]
    ) -> None:
        self.config = config
        self.sink = sink
        self.clock_ns = clock_ns
        self._lock = threading.Lock()
        self._pending: list[SyslogMessage] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="flightlog-syslog-flush", daemon=True
        )

    def add(self, raw: bytes) -> None:
        text = raw[:_MAX_MESSAGE_BYTES].decode("utf-8", "replace")
        if not text.strip():
            return
        message = parse_syslog(text, self.clock_ns())
        with self._lock:
            self._pending.append(message)
            full = len(self._pending) >= self.config.max_batch_messages
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        streams: dict[
            tuple[tuple[str, str], ...], tuple[list[int], list[str], list[Mapping[str, str] | None]]
        ] = {}
        for message in pending:
            key = tuple(sorted({**self.config.labels, **message.labels}.items()))
            group = streams.setdefault(key, ([], [], []))
            group[0].append(message.ts_ns)
            group[1].append(message.line)
            group[2].append(dict(message.metadata) or None)
        request = PushRequest(
            self.config.tenant,
            tuple(StreamBatch(k, ts, lines, md) for k, (ts, lines, md) in streams.items()),
        )
        try:
            self.sink(request)
        except Exception:  # a boundary: a bad batch must not kill the listener; counted by the sink
            logger.exception("could not store %d syslog messages", len(pending))

    def _run(self) -> None:
        while not self._stop.wait(self.config.flush_interval_secs):
            self.flush()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.flush()


class _TCPHandler(socketserver.StreamRequestHandler):
    batcher: _Batcher

    def handle(self) -> None:
        stream = self.rfile
        while True:
            first = stream.peek(1)[:1] if hasattr(stream, "peek") else b""
            if not first:
                return
            if first.isdigit():
                length = b""
                while True:
                    char = stream.read(1)
                    if not char:
                        return
                    if char == b" ":
                        break
                    length += char
                    if not length.isdigit() or len(length) > 7:
                        return  # not a frame length: the peer is not speaking syslog
                size = int(length)
                self.batcher.add(stream.read(size))
            else:
                line = stream.readline(_MAX_MESSAGE_BYTES)
                if not line:
                    return
                self.batcher.add(line)


class _UDPHandler(socketserver.BaseRequestHandler):
    batcher: _Batcher

    def handle(self) -> None:
        data, _socket = self.request
        for message in data.split(b"\n") if data.count(b"\n") > 1 else [data]:
            self.batcher.add(message)


class _ThreadingTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _UDPServer(socketserver.UDPServer):
    allow_reuse_address = True
    max_packet_size = 65535


class SyslogListener:
    """TCP and/or UDP syslog servers feeding ``sink`` with batched pushes."""

    def __init__(
        self,
        config: SyslogConfig,
        sink: Callable[[PushRequest], None],
        *,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self._batcher = _Batcher(config, sink, clock_ns)
        self._servers: list[socketserver.BaseServer] = []
        self.tcp_address: tuple[str, int] | None = None
        self.udp_address: tuple[str, int] | None = None

    def start(self) -> None:
        batcher = self._batcher
        if self.config.tcp_port is not None:
            handler = type("TCPHandler", (_TCPHandler,), {"batcher": batcher})
            tcp = _ThreadingTCPServer((self.config.host, self.config.tcp_port), handler)
            self.tcp_address = tcp.server_address[:2]  # type: ignore[assignment]
            self._servers.append(tcp)
        if self.config.udp_port is not None:
            handler = type("UDPHandler", (_UDPHandler,), {"batcher": batcher})
            udp = _UDPServer((self.config.host, self.config.udp_port), handler)
            udp.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.udp_address = udp.server_address[:2]  # type: ignore[assignment]
            self._servers.append(udp)
        for server in self._servers:
            threading.Thread(
                target=server.serve_forever, name="flightlog-syslog", daemon=True
            ).start()
        batcher.start()
        logger.info("syslog listening: tcp=%s udp=%s", self.tcp_address, self.udp_address)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._batcher.stop()
