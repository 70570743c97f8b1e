"""``configure()``: wire flightlog into the stdlib ``logging`` root logger, once.

It installs (and on a second call replaces) flightlog's handlers on the root logger:
JSON lines to a stream, optionally to a rotating file, optionally shipped to a server.
Every handler runs the same processor chain first (redaction on by default), so nothing
unredacted is written or shipped. Handlers someone else installed are left alone.
Nothing happens at import time; only ``configure()`` creates handlers and threads.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from flightlog.errors import ConfigError
from flightlog.sdk.formatter import EventFilter, JSONFormatter
from flightlog.sdk.processors import Processor, Redactor
from flightlog.sdk.rotating import RotatingFileHandler, RotationPolicy
from flightlog.sdk.shipper import Exporter, LokiExporter, Shipper, ShipperConfig, ShippingHandler

__all__ = ["Configuration", "active_configuration", "configure", "shutdown"]

_HUMAN_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


@dataclass
class Configuration:
    """What ``configure()`` installed; ``shutdown()`` flushes and removes it."""

    handlers: list[logging.Handler] = field(default_factory=list)
    processors: tuple[Processor, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    shipper: Shipper | None = None

    def shutdown(self, timeout_secs: float = 5.0) -> None:
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        if self.shipper is not None:
            self.shipper.close(timeout_secs)
        self.handlers = []


_active: Configuration | None = None


def active_configuration() -> Configuration | None:
    """The configuration installed by the last ``configure()`` call, if any."""
    return _active


def default_spool_dir(service: str) -> Path:
    """Where a process buffers undelivered batches on disk when no ``buffer_dir`` is given.

    One directory per process (two processes must not send each other's batches), under
    the system temp dir so nothing lands in the user's home uninvited.
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in service)[:64]
    return Path(tempfile.gettempdir()) / "flightlog-spool" / f"{safe}-{os.getpid()}"


def configure(
    *,
    level: int | str = logging.INFO,
    stream: IO[str] | None = sys.stderr,
    json: bool = True,
    file: str | os.PathLike[str] | None = None,
    rotation: RotationPolicy | None = None,
    server: str | None = None,
    labels: Mapping[str, str] | None = None,
    service: str | None = None,
    redact: bool | Redactor = True,
    processors: Sequence[Processor] = (),
    exporter: Exporter | None = None,
    shipper_config: ShipperConfig | None = None,
    capture_warnings: bool = True,
) -> Configuration:
    """Send every ``logging`` record (yours and libraries') through flightlog.

    ``stream``: where JSON (or, with ``json=False``, human) lines go; ``None`` for none.
    ``file``: a rotating JSON-lines file (``rotation`` says when it rotates).
    ``server``: base URL of a flightlog/Loki server to ship to (``exporter`` overrides
    how), buffering on disk (``default_spool_dir``) while it is unreachable unless
    ``shipper_config`` says otherwise; ``labels``/``service``: stream labels. ``redact``: ``True``
    for the default ``Redactor``, a ``Redactor`` of your own, or ``False``.
    ``processors``: more processors, run after redaction.
    """
    global _active
    if _active is not None:
        _active.shutdown()
        _active = None
    chain: list[Processor] = []
    if isinstance(redact, Redactor):
        chain.append(redact)
    elif redact:
        chain.append(Redactor())
    chain.extend(processors)
    chain_tuple = tuple(chain)
    stream_labels = {str(k): str(v) for k, v in (labels or {}).items()}
    if service is not None:
        stream_labels["service"] = service
    stream_labels.setdefault(
        "service", Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "python"
    )

    config = Configuration(processors=chain_tuple, labels=stream_labels)
    if stream is not None:
        handler: logging.Handler = logging.StreamHandler(stream)
        handler.setFormatter(JSONFormatter() if json else logging.Formatter(_HUMAN_FORMAT))
        config.handlers.append(handler)
    if file is not None:
        handler = RotatingFileHandler(file, rotation)
        handler.setFormatter(JSONFormatter())
        config.handlers.append(handler)
    if server is not None or exporter is not None:
        if exporter is None:
            if not str(server).startswith(("http://", "https://")):
                raise ConfigError(f"server {server!r} is not a URL: use e.g. http://127.0.0.1:3100")
            exporter = LokiExporter(str(server))
        if shipper_config is None:
            shipper_config = ShipperConfig(buffer_dir=default_spool_dir(stream_labels["service"]))
        config.shipper = Shipper(exporter, shipper_config)
        config.handlers.append(ShippingHandler(config.shipper, stream_labels))
    event_filter = EventFilter(chain_tuple)
    root = logging.getLogger()
    for handler in config.handlers:
        handler.addFilter(event_filter)
        root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else str(level).upper())
    if capture_warnings:
        logging.captureWarnings(True)
    _active = config
    return config


def shutdown(timeout_secs: float = 5.0) -> None:
    """Flush and remove what ``configure()`` installed (ships what is left, with a timeout)."""
    global _active
    if _active is not None:
        _active.shutdown(timeout_secs)
        _active = None
