"""Fixtures for the SDK tests: isolated logging config and context, a recording HTTP server."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import flightlog
from flightlog.sdk.context import clear_context
from flightlog.testing import RecordingServer


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """Each test starts with no flightlog configuration and an empty log context."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    clear_context()
    yield
    flightlog.shutdown(timeout_secs=1.0)
    clear_context()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    """A real HTTP server on a free loopback port recording Loki push bodies."""
    with RecordingServer() as server:
        yield server
