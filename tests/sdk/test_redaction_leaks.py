"""Property: generated secrets never appear in any output -- console, files, shipped payloads."""

from __future__ import annotations

import gzip
import io
import logging
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flightlog
from flightlog.testing import InMemoryExporter

_ALNUM = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    min_size=24,
    max_size=40,
)


def _luhn_complete(prefix: str) -> str:
    digits = [int(d) for d in prefix]
    for check in range(10):
        candidate = [*digits, check]
        total = 0
        for index, value in enumerate(reversed(candidate)):
            if index % 2 == 1:
                value *= 2
                if value > 9:
                    value -= 9
            total += value
        if total % 10 == 0:
            return prefix + str(check)
    raise AssertionError("unreachable")


secrets = st.one_of(
    st.emails(),
    _ALNUM.map(lambda s: "sk-" + s),
    _ALNUM.map(lambda s: "ghp_" + s),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16).map(
        lambda s: "AKIA" + s
    ),
    st.from_regex(r"4[0-9]{14}", fullmatch=True).map(_luhn_complete),
)
carriers = st.sampled_from(["msg", "extra", "nested", "exception", "bearer", "run"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=secrets, carrier=carriers)
def test_secret_never_reaches_stream_file_shipper_or_run_files(
    tmp_path: Path, secret: str, carrier: str
) -> None:
    """Whichever way a secret enters a log call, no output contains it."""
    directory = tmp_path / f"case-{abs(hash((secret, carrier)))}"
    stream = io.StringIO()
    exporter = InMemoryExporter()
    config = flightlog.configure(stream=stream, file=directory / "app.log", exporter=exporter)
    logger = logging.getLogger("leaktest")
    if carrier == "msg":
        logger.info("user sent %s", secret)
    elif carrier == "extra":
        logger.info("extra", extra={"note": f"value {secret} here"})
    elif carrier == "nested":
        logger.warning("nested", extra={"payload": {"list": [f"x {secret}"]}})
    elif carrier == "exception":
        try:
            raise ValueError(f"bad input {secret}")
        except ValueError:
            logger.exception("failed")
    elif carrier == "bearer":
        logger.info("header Authorization: Bearer %s", secret)
    else:
        with flightlog.Run(
            "leak", config={"note": secret}, dir=directory, flush_interval_secs=0.05
        ) as run:
            run.log_batch(step=1, epoch=1, loss=0.5, tag=f"t {secret}")
            run.log_validation(1, {"loss": 0.4, "who": secret})
            try:
                raise RuntimeError(f"oops {secret}")
            except RuntimeError as exc:
                run.log_error(exc, operation="step", context={"input": secret})
    assert config.shipper is not None
    assert config.shipper.flush(5.0)
    flightlog.shutdown()
    outputs = [stream.getvalue(), *exporter.lines()]
    outputs += [str(e.metadata) for e in exporter.entries]
    for path in directory.rglob("*"):
        data = path.read_bytes()
        outputs.append(
            (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace")
        )
    assert len(outputs) > 2
    for output in outputs:
        assert secret not in output
