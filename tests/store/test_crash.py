"""Crash safety: a writer killed with SIGKILL loses no acknowledged append."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storekit import rows

from flightlog.store import Store, StoreConfig

_WRITER = r"""
import sys, threading, time
from pathlib import Path
from flightlog.model import PushRequest, StreamBatch
from flightlog.store import Store, StoreConfig

data_dir, first = Path(sys.argv[1]), int(sys.argv[2])
store = Store.open(StoreConfig(data_dir=data_dir, max_segment_bytes=16384, fsync=True))
lock = threading.Lock()
counter = [first]

def worker(name):
    while True:
        with lock:
            number = counter[0]
            counter[0] += 1
        lines = [f"b{number}-{j}" for j in range(20)]
        ts = [number * 1000 + j for j in range(20)]
        store.append(PushRequest("t", (StreamBatch((("w", name),), ts, lines, [None] * 20),)))
        with lock:
            sys.stdout.write(f"{number}\n")
            sys.stdout.flush()

def cutter():
    while True:
        store.maybe_cut()
        time.sleep(0.005)

for name in ("a", "b", "c"):
    threading.Thread(target=worker, args=(name,), daemon=True).start()
threading.Thread(target=cutter, daemon=True).start()
threading.Event().wait()
"""


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_append(tmp_path: Path) -> None:
    """Several rounds of kill -9 at random moments; every acked batch is there once."""
    data_dir = tmp_path / "d"
    acked: set[int] = set()
    rng = random.Random(7)
    next_number = 0
    for _ in range(4):
        process = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(data_dir), str(next_number)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        wanted = rng.randint(20, 120)
        deadline = time.monotonic() + 60
        got = 0
        while got < wanted and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            acked.add(int(line))
            got += 1
        os.kill(process.pid, signal.SIGKILL)
        rest, errors = process.communicate()
        acked.update(int(n) for n in rest.split())
        assert got == wanted, errors
        next_number = max(acked) + 1000
        with Store.open(StoreConfig(data_dir=data_dir, fsync=False)) as store:
            counts = collections.Counter(r["line"] for r in rows(store))
        assert max(counts.values()) == 1, "an entry is stored twice"
        missing = [n for n in acked if counts[f"b{n}-0"] != 1 or counts[f"b{n}-19"] != 1]
        assert missing == []
        batches = collections.Counter(line.split("-")[0] for line in counts)
        assert set(batches.values()) == {20}, "a batch is stored partly"
