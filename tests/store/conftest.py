"""Fixtures of the store tests: a settable clock and an open store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storekit import FakeClock

from flightlog.store import Store, StoreConfig


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store_config(tmp_path: Path) -> StoreConfig:
    return StoreConfig(data_dir=tmp_path / "data", fsync=False)


@pytest.fixture
def store(store_config: StoreConfig, clock: FakeClock) -> Iterator[Store]:
    opened = Store.open(store_config, clock=clock)
    yield opened
    opened.close()
