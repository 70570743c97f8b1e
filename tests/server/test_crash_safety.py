"""Crash safety: SIGKILL at random moments under concurrent pushes loses no acknowledged line."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import httpx
import pytest

from flightlog.ingest import encode_loki_json
from flightlog.model import PushRequest, StreamBatch

from .readback import replayed_rows

_T0 = 1_767_225_600_000_000_000
_CLIENTS = 4
_ROUNDS = 4
_BATCH = 50


class Pusher(threading.Thread):
    """Pushes batches of unique lines until the server dies; remembers what was acked."""

    def __init__(self, url: str, client: int, round_: int, next_ts: int) -> None:
        super().__init__(daemon=True)
        self.url, self.client, self.round = url, client, round_
        self.next_ts = next_ts
        self.acked: list[str] = []
        self.sent: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10.0) as http:
            for batch in range(1_000_000):
                lines = [f"c{self.client} r{self.round} b{batch} n{i}" for i in range(_BATCH)]
                ts = list(range(self.next_ts, self.next_ts + _BATCH))
                self.next_ts += _BATCH
                request = PushRequest(
                    "default",
                    (StreamBatch((("client", str(self.client)),), ts, lines, [None] * _BATCH),),
                )
                self.sent.extend(lines)
                try:
                    response = http.post(
                        "/loki/api/v1/push",
                        content=encode_loki_json(request),
                        headers={"Content-Type": "application/json"},
                    )
                except httpx.TransportError:
                    return  # the server was killed mid-request: not acknowledged
                assert response.status_code == 204, response.text
                self.acked.extend(lines)


@pytest.mark.slow
def test_sigkill_under_concurrent_pushes_loses_no_acknowledged_line(flightlog_server):
    """Several rounds of push + SIGKILL + restart: every acked line is stored exactly once."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    acked: set[str] = set()
    sent: set[str] = set()
    next_ts = {c: _T0 for c in range(_CLIENTS)}
    for round_ in range(_ROUNDS):
        if round_:
            flightlog_server.restart()
        pushers = [Pusher(flightlog_server.url, c, round_, next_ts[c]) for c in range(_CLIENTS)]
        for pusher in pushers:
            pusher.start()
        # Kill once some pushes were acknowledged, at a random moment after that.
        deadline = time.monotonic() + 30
        while sum(len(p.acked) for p in pushers) < _BATCH and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5))
        flightlog_server.kill()
        for pusher in pushers:
            pusher.join(15)
            assert not pusher.is_alive()
            acked.update(pusher.acked)
            sent.update(pusher.sent)
            next_ts[pusher.client] = pusher.next_ts
        counts = Counter(row[2] for row in replayed_rows(flightlog_server.data_dir))
        missing = acked - counts.keys()
        assert not missing, f"seed {seed} round {round_}: {len(missing)} acknowledged lines lost"
        duplicated = [line for line, n in counts.items() if n > 1]
        assert not duplicated, f"seed {seed} round {round_}: duplicated {duplicated[:3]}"
        assert counts.keys() <= sent, f"seed {seed}: lines nobody sent"
    assert len(acked) >= _ROUNDS * _BATCH
