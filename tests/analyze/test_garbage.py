"""Garbage never crashes: every parser, the detector and the analysis survive any text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightlog.analyze import FORMATS, analyze_records, analyze_text
from flightlog.analyze.parse import parse_text

# fragments of real log syntax, so the garbage reaches deep into the parsers
FRAGMENTS = st.sampled_from(
    [
        "Epoch 1/3\n",
        "Epoch 0/0\n",
        "10/10 [=====] - 1s 5ms/step - loss: ",
        "nan",
        "inf",
        "-",
        "{'loss': ",
        "{'eval_loss': ",
        "'epoch': ",
        "}",
        "{",
        "[3]\t",
        "validation_0-logloss:",
        "valid_0's auc: ",
        "Iteration 3, loss = ",
        "-- Epoch 2\n",
        "Avg. loss: ",
        "iter 5: loss ",
        "step 5: train loss 1, val loss ",
        "time 3ms",
        "%|██| 3/9 [00:01<00:02, loss=",
        "Epoch 2: ",
        "\r",
        "\n",
        "\x1b[31m",
        "\b",
        "=",
        ": ",
        ",",
        "1e308",
        "1e-400",
        "0.5",
        "-3",
        "99999999999999999999",
        '{"step": ',
        '"loss": ',
        '{"event": "metrics", ',
        "epoch,step,loss\n",
        "CUDA out of memory",
        "NCCL",
        "DataLoader worker",
        "No space left on device",
        "checkpoint failed to save",
        "\x00",
        "\ufffd",
        "'",
        '"',
        " ",
        "Tried to allocate 1.0 GiB",
    ]
)
GARBAGE = st.one_of(
    st.text(max_size=300), st.lists(FRAGMENTS | st.text(max_size=5), max_size=60).map("".join)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=GARBAGE)
def test_any_text_with_any_format_never_crashes(text: str) -> None:
    """Each parser and the full analysis accept any text without raising."""
    for name in FORMATS:
        parse_text(text, format_name=name)
    analysis = analyze_text(text)
    analysis.to_dict()


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "step",
                    "epoch",
                    "loss",
                    "val_loss",
                    "event",
                    "split",
                    "ts",
                    "message",
                    "lr",
                    "run_id",
                ]
            ),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(),
                st.floats(allow_nan=True),
                st.text(max_size=20),
                st.lists(st.integers(), max_size=2),
                st.dictionaries(st.text(max_size=3), st.floats(), max_size=2),
            ),
        ),
        max_size=40,
    )
)
def test_any_records_never_crash(records: list[dict[str, object]]) -> None:
    """analyze_records accepts any mapping values without raising."""
    analyze_records(records).to_dict()
