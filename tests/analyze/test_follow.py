"""Following a growing log: appends, rotation, and webhook alerts (real HTTP server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from flightlog.analyze.follow import DiagnosisAlerter, LogFollower

EPOCH = "Epoch {e}/9\n10/10 [==============================] - 1s 5ms/step - loss: {l} - val_loss: {v}\n"


class Receiver:
    """A real HTTP server that records the JSON bodies posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        self.fail = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                if receiver.fail:
                    self.send_response(500)
                else:
                    receiver.bodies.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_follower_reads_appends_and_waits_for_partial_lines(tmp_path: Path) -> None:
    """Each poll reads only new bytes; a line without newline waits for the rest."""
    log = tmp_path / "train.log"
    log.write_text(EPOCH.format(e=1, l=0.9, v=0.95))
    follower = LogFollower(log, "keras")
    follower.poll()
    with open(log, "a") as handle:
        handle.write(EPOCH.format(e=2, l=0.8, v=0.9)[:30])
    follower.poll()
    with open(log, "a") as handle:
        handle.write(EPOCH.format(e=2, l=0.8, v=0.9)[30:])
    follower.poll()
    analysis = follower.snapshot()
    assert analysis is not None
    assert analysis.runs[0].table.get("train", "loss").values.tolist() == [0.9, 0.8]
    # the snapshot did not consume the live state: more epochs still add up
    with open(log, "a") as handle:
        handle.write(EPOCH.format(e=3, l=0.7, v=0.85))
    follower.poll()
    assert follower.snapshot().runs[0].table.get("train", "loss").values.tolist() == [0.9, 0.8, 0.7]
    follower.close()


def test_follower_survives_rotation(tmp_path: Path) -> None:
    """After the log is renamed and a new one created, the new file is read from its start."""
    log = tmp_path / "train.log"
    log.write_text(EPOCH.format(e=1, l=0.9, v=0.95))
    follower = LogFollower(log, "keras")
    follower.poll()
    log.rename(tmp_path / "train.log.1")
    log.write_text(EPOCH.format(e=2, l=0.8, v=0.9) + EPOCH.format(e=3, l=0.7, v=0.85))
    follower.poll()
    assert follower.rotations == 1
    assert follower.snapshot().runs[0].table.get("train", "loss").values.tolist() == [0.9, 0.8, 0.7]
    follower.close()


def test_follower_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    """Following a path not created yet is fine: nothing until it appears."""
    follower = LogFollower(tmp_path / "later.log")
    assert follower.poll() == 0
    assert follower.snapshot() is None
    (tmp_path / "later.log").write_text("epoch 1 loss=0.5\n")
    follower.poll()
    assert follower.snapshot().format == "generic"
    follower.close()


def test_alerts_are_posted_once_per_new_diagnosis(tmp_path: Path, receiver: Receiver) -> None:
    """A NaN appears: one POST; later refreshes with the same NaN post nothing more."""
    log = tmp_path / "train.log"
    log.write_text(EPOCH.format(e=1, l=0.9, v=0.95))
    follower = LogFollower(log, "keras")
    alerter = DiagnosisAlerter(receiver.url)
    follower.poll()
    assert alerter.notify(follower.snapshot()) == []
    with open(log, "a") as handle:
        handle.write(EPOCH.format(e=2, l="nan", v="nan"))
    follower.poll()
    sent = alerter.notify(follower.snapshot())
    assert [p["diagnosis"]["kind"] for p in sent] == ["nan", "nan"]  # train and val loss
    with open(log, "a") as handle:
        handle.write(EPOCH.format(e=3, l="nan", v="nan"))
    follower.poll()
    assert alerter.notify(follower.snapshot()) == []
    assert len(receiver.bodies) == 2
    assert receiver.bodies[0]["run"] == "train"
    assert receiver.bodies[0]["diagnosis"]["severity"] == "critical"
    alerter.close()
    follower.close()


def test_failed_webhook_is_reported_and_retried(tmp_path: Path, receiver: Receiver) -> None:
    """A 500 from the webhook is reported, not raised, and the alert is sent next time."""
    log = tmp_path / "train.log"
    log.write_text(EPOCH.format(e=1, l="nan", v=0.9))
    follower = LogFollower(log, "keras")
    follower.poll()
    problems: list[str] = []
    alerter = DiagnosisAlerter(receiver.url, on_error=problems.append)
    receiver.fail = True
    assert alerter.notify(follower.snapshot()) == []
    assert problems and "failed" in problems[0]
    receiver.fail = False
    assert len(alerter.notify(follower.snapshot())) == 1
    alerter.close()
    follower.close()


def test_follower_waits_for_a_recognisable_format(tmp_path: Path) -> None:
    """Warnings first (generic-looking), Keras later: the Keras parser still gets it all."""
    log = tmp_path / "train.log"
    log.write_text("2026-01-01 warning: cuda_devices=0 threads=4\n")
    follower = LogFollower(log)
    follower.poll()
    assert follower.snapshot().format == "generic"
    with open(log, "a") as handle:
        handle.write(EPOCH.format(e=1, l=0.9, v=0.95))
    follower.poll()
    analysis = follower.snapshot()
    assert analysis is not None and analysis.format == "keras"
    assert analysis.runs[0].table.get("train", "loss").values.tolist() == [0.9]
    follower.close()
