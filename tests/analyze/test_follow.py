"""Following a growing log: appends, rotation, and webhook alerts (real HTTP server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from flightlog.analyze.follow import DiagnosisAlerter, LogFollower
from flightlog.testing import FakeClock

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


# ---- a job hung right now: silence since the last progress line ------------------------

NANOGPT = "iter {i}: loss {loss:.4f}, time 100.00ms, mfu 12.30%\n"
HF_DICT = "{{'loss': {loss}, 'grad_norm': 1.5, 'learning_rate': 5e-05, 'epoch': {epoch}}}\n"


def follower_at_mtime(log: Path, format_name: str) -> tuple[LogFollower, FakeClock]:
    """A follower whose clock starts when the log was last written."""
    clock = FakeClock(start_ns=int(log.stat().st_mtime * 1e9))
    return LogFollower(log, format_name, clock=clock.time), clock


def ongoing(analysis: object) -> list[dict[str, object]]:
    return [
        d.to_dict()
        for run in analysis.runs  # type: ignore[attr-defined]
        for d in run.diagnoses
        if d.kind == "stall" and d.evidence.get("ongoing")
    ]


def test_silence_over_the_stall_threshold_is_an_ongoing_stall(tmp_path: Path) -> None:
    """Steps of 0.1 s (the log's own times), then 31 s of silence: a stall right now."""
    log = tmp_path / "train.log"
    log.write_text("".join(NANOGPT.format(i=i, loss=2 - i / 10) for i in range(8)))
    follower, clock = follower_at_mtime(log, "nanogpt")
    follower.poll()
    clock.advance(29)
    assert ongoing(follower.snapshot()) == []  # limit: max(10 x 0.1 s, 30 s)
    clock.advance(2)
    (stall,) = ongoing(follower.snapshot())
    assert stall["severity"] == "warning"
    assert stall["first_step"] == 7
    assert stall["evidence"]["since_step"] == 7
    assert stall["evidence"]["silent_secs"] == 31
    assert stall["evidence"]["usual_gap_secs"] == 0.1
    assert "hung right now" in stall["message"]
    follower.close()


def test_new_progress_ends_the_ongoing_stall(tmp_path: Path) -> None:
    """A progress line after the silence: the stall is over (no ongoing diagnosis)."""
    log = tmp_path / "train.log"
    log.write_text("".join(NANOGPT.format(i=i, loss=2 - i / 10) for i in range(8)))
    follower, clock = follower_at_mtime(log, "nanogpt")
    follower.poll()
    clock.advance(60)
    assert ongoing(follower.snapshot())
    with open(log, "a") as handle:
        handle.write(NANOGPT.format(i=8, loss=1.1))
    follower.poll()
    assert ongoing(follower.snapshot()) == []
    follower.close()


def test_without_times_the_usual_gap_is_what_the_follower_saw(tmp_path: Path) -> None:
    """Trainer dicts carry no time: one dict a second seen live sets the usual gap."""
    log = tmp_path / "train.log"
    log.write_text(HF_DICT.format(loss=0.9, epoch=0.1))
    follower, clock = follower_at_mtime(log, "hf")
    follower.poll()
    for i in range(2, 7):
        clock.advance(1)
        with open(log, "a") as handle:
            handle.write(HF_DICT.format(loss=1 - i / 10, epoch=i / 10))
        follower.poll()
    clock.advance(30)
    assert ongoing(follower.snapshot()) == []  # limit: max(10 x 1 s, 30 s)
    clock.advance(1)
    (stall,) = ongoing(follower.snapshot())
    assert stall["evidence"]["usual_gap_secs"] == 1.0
    assert stall["evidence"]["since_step"] == 6
    follower.close()


def test_too_few_observations_make_no_ongoing_stall(tmp_path: Path) -> None:
    """Two timeless dicts are not enough to know the usual gap: no stall, however long."""
    log = tmp_path / "train.log"
    log.write_text(HF_DICT.format(loss=0.9, epoch=0.1) + HF_DICT.format(loss=0.8, epoch=0.2))
    follower, clock = follower_at_mtime(log, "hf")
    follower.poll()
    clock.advance(3600)
    assert ongoing(follower.snapshot()) == []
    follower.close()


def test_a_finished_run_is_not_stalled(tmp_path: Path) -> None:
    """The Trainer printed its closing summary: silence afterwards is the end, not a hang."""
    log = tmp_path / "train.log"
    log.write_text(HF_DICT.format(loss=0.9, epoch=0.1))
    follower, clock = follower_at_mtime(log, "hf")
    follower.poll()
    for i in range(2, 7):
        clock.advance(1)
        with open(log, "a") as handle:
            handle.write(HF_DICT.format(loss=1 - i / 10, epoch=i / 10))
        follower.poll()
    with open(log, "a") as handle:
        handle.write("{'train_runtime': 6.5, 'train_loss': 0.6, 'epoch': 0.6}\n")
    follower.poll()
    clock.advance(3600)
    assert ongoing(follower.snapshot()) == []
    follower.close()


def test_ongoing_stall_is_posted_once_per_hang(tmp_path: Path, receiver: Receiver) -> None:
    """The webhook gets the ongoing stall once; a later hang at another step again."""
    log = tmp_path / "train.log"
    log.write_text("".join(NANOGPT.format(i=i, loss=2 - i / 10) for i in range(8)))
    follower, clock = follower_at_mtime(log, "nanogpt")
    alerter = DiagnosisAlerter(receiver.url)
    follower.poll()
    clock.advance(40)
    sent = alerter.notify(follower.snapshot())
    assert [(p["diagnosis"]["kind"], p["diagnosis"]["first_step"]) for p in sent] == [("stall", 7)]
    clock.advance(40)
    assert alerter.notify(follower.snapshot()) == []
    with open(log, "a") as handle:
        handle.write(NANOGPT.format(i=8, loss=1.1))
    follower.poll()
    clock.advance(40)
    sent = alerter.notify(follower.snapshot())
    assert [p["diagnosis"]["evidence"]["since_step"] for p in sent] == [8]
    assert len(receiver.bodies) == 2
    alerter.close()
    follower.close()
