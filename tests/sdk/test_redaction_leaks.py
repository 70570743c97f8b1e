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
# Values that are not strings (written through str() or as lists) and field names.
object_carriers = st.sampled_from(
    ["set", "path", "exception_value", "custom_object", "key", "nested_key", "run_objects"]
)


class _Opaque:
    """A custom object whose text (str and repr) holds the secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __str__(self) -> str:
        return f"opaque {self.secret}"

    __repr__ = __str__


def _log_objects(carrier: str, secret: str, directory: Path) -> None:
    logger = logging.getLogger("leaktest")
    if carrier == "set":
        logger.info("tags", extra={"tags": {f"t {secret}", "other"}})
    elif carrier == "path":
        logger.info("file", extra={"file": Path(f"/data/x {secret}")})
    elif carrier == "exception_value":
        logger.warning("caught", extra={"error": ValueError(f"bad {secret}")})
    elif carrier == "custom_object":
        logger.info("object", extra={"thing": _Opaque(secret), "things": [_Opaque(secret)]})
    elif carrier == "key":
        logger.info("keyed", extra={f"k {secret}": 1})
    elif carrier == "nested_key":
        logger.info("nested keyed", extra={"payload": {f"k {secret}": [{secret: 2}]}})
    else:
        with flightlog.Run(
            "leak",
            config={"path": Path(f"/data/x {secret}"), "tags": {secret}},
            dir=directory,
            flush_interval_secs=0.05,
        ) as run:
            run.log_hyperparameters({secret: 1, "owner": _Opaque(secret)})
            run.log_batch(step=1, epoch=1, loss=0.5, source=Path(f"/d/x {secret}"))
            run.log_batch(step=2, epoch=1, loss=0.4, tags={secret})
            run.log_batch(step=3, epoch=1, **{f"k {secret}": 0.1})
            run.log_validation(1, {"loss": 0.4, "who": _Opaque(secret)})
            run.log_error(ValueError("x"), operation="step", context={secret: {secret}})


def _outputs(stream: io.StringIO, exporter: InMemoryExporter, directory: Path) -> list[str]:
    outputs = [stream.getvalue(), *exporter.lines()]
    outputs += [str(e.metadata) for e in exporter.entries]
    for path in directory.rglob("*"):
        data = path.read_bytes()
        outputs.append(
            (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace")
        )
    return outputs


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
    outputs = _outputs(stream, exporter, directory)
    assert len(outputs) > 2
    for output in outputs:
        assert secret not in output


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=secrets, carrier=object_carriers)
def test_secret_in_a_non_string_value_or_a_field_name_never_reaches_any_output(
    tmp_path: Path, secret: str, carrier: str
) -> None:
    """Sets, paths, exceptions, custom objects and field names are redacted like strings."""
    directory = tmp_path / f"case-{abs(hash((secret, carrier)))}"
    stream = io.StringIO()
    exporter = InMemoryExporter()
    config = flightlog.configure(stream=stream, file=directory / "app.log", exporter=exporter)
    _log_objects(carrier, secret, directory)
    assert config.shipper is not None
    assert config.shipper.flush(5.0)
    flightlog.shutdown()
    outputs = _outputs(stream, exporter, directory)
    assert len(outputs) > 2
    for output in outputs:
        assert secret not in output
