"""The Hugging Face parser's bulk path (training dicts as Arrow columns, only the other
lines scanned for errors) gives exactly what the dict-by-dict path gives."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightlog.analyze.formats.base import FormatParser, FoundError
from flightlog.analyze.formats.huggingface import HFDictParser
from flightlog.analyze.parse import LogReader
from flightlog.analyze.table import ParsedLog


class DictByDict(HFDictParser):
    """The reference: every chunk scanned whole and every dict parsed on its own."""

    def feed_scanning(self, text: str) -> list[FoundError]:
        self._try_columnar = False
        return FormatParser.feed_scanning(self, text)


def parse(chunks: list[str], parser: HFDictParser) -> ParsedLog:
    reader = LogReader(parser)
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


def both(chunks: list[str]) -> tuple[ParsedLog, ParsedLog]:
    return parse(chunks, HFDictParser("run")), parse(chunks, DictByDict("run"))


def rows(parsed: ParsedLog) -> list[tuple[object, ...]]:
    return [row._replace(value=repr(row.value)) for row in parsed.tidy_rows()]  # nan == nan


def same(bulk: ParsedLog, reference: ParsedLog) -> None:
    assert rows(bulk) == rows(reference)
    assert bulk.errors == reference.errors
    assert [run.info for run in bulk.runs] == [run.info for run in reference.runs]
    assert bulk.line_count == reference.line_count


def train(loss: str, epoch: str, quote: bool = False) -> str:
    q = "'" if quote else ""
    return (
        f"{{'loss': {q}{loss}{q}, 'grad_norm': {q}1.5{q}, "
        f"'learning_rate': {q}5e-05{q}, 'epoch': {q}{epoch}{q}}}\n"
    )


OOM = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0)\n"


def test_bulk_path_takes_the_training_dicts_as_columns() -> None:
    """A chunk of one layout goes through the bulk path (no dict parsed on its own)."""
    parser = HFDictParser("run")
    text = "".join(train(f"0.{9 - i}", f"0.{i}") for i in range(5))
    assert parser._columnar(text) is not None
    run = parse([text], parser).runs[0]
    assert run.get("train", "loss").points() == [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6), (5, 0.5)]
    assert run.get("train", "grad_norm").epochs == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_error_between_training_dicts_is_pinned_to_the_step_before_it() -> None:
    """An error line in a bulk chunk has its line number and the last step before it."""
    text = train("0.9", "0.1") + train("0.8", "0.2") + OOM + train("0.7", "0.3")
    bulk, reference = both([text])
    same(bulk, reference)
    (error,) = bulk.errors
    assert (error.signature, error.line_number, error.step) == ("cuda_oom", 3, 2)
    assert dict(error.details)["tried"] == "2.00 GiB"


def test_eval_dicts_and_warnings_between_training_dicts() -> None:
    """Eval dicts get the step of the training dict before them, warnings are skipped."""
    text = (
        train("0.9", "0.1")
        + "/site-packages/torch/utils/checkpoint.py:90: UserWarning: None of the inputs\n"
        + train("0.8", "0.2")
        + "{'eval_loss': 0.85, 'eval_accuracy': 0.5, 'epoch': 0.2}\n"
        + train("0.7", "0.3")
    )
    bulk, reference = both([text])
    same(bulk, reference)
    assert bulk.runs[0].get("eval", "loss").points() == [(2, 0.85)]


def test_another_layout_falls_back_to_dict_by_dict() -> None:
    """A training dict of another layout in the chunk: the chunk is read dict by dict."""
    text = train("0.9", "0.1") + "{'loss': 0.8, 'epoch': 0.2}\n" + OOM + train("0.7", "0.3")
    assert HFDictParser("run")._columnar(text) is None
    same(*both([text]))


def test_key_naming_an_error_needle_is_still_scanned() -> None:
    """A layout whose key holds an error needle is scanned whole (no error is lost)."""
    text = "{'loss': 0.5, 'NCCL timeout_s': 1.0, 'epoch': 0.1}\n" * 3 + OOM
    bulk, reference = both([text])
    same(bulk, reference)


LINES = st.one_of(
    st.builds(
        train,
        st.sampled_from(["0.5", "1e-05", "nan", "inf", "-0.25", "12"]),
        st.sampled_from(["0.1", "0.2", "1.0", "0.05"]),
        st.booleans(),
    ),
    st.sampled_from(
        [
            "{'eval_loss': 0.7, 'eval_runtime': 0.2, 'epoch': 1.0}\n",
            "{'eval_loss': 'nan', 'epoch': 1.0}\n",
            "{'train_runtime': 12.5, 'train_loss': 0.6, 'epoch': 1.0}\n",
            "{'loss': 0.8, 'epoch': 0.2}\n",
            "note {'loss': 0.4, 'epoch': 0.3}\n",
            "{'loss': 0.8, 'grad_norm': 1.0, 'learning_rate': 5e-05, 'epoch': 0.3\n",
            "UserWarning: something\n",
            OOM,
            "RuntimeError: NCCL communicator was aborted: Watchdog caught collective operation timeout\n",
            "OSError: [Errno 28] No space left on device\n",
            "\n",
        ]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, max_size=40), st.lists(st.integers(0, 40), max_size=3))
def test_bulk_path_equals_dict_by_dict(lines: list[str], cuts: list[int]) -> None:
    """Any mix of layouts, evals, restarts, errors and chunk cuts: same table, same errors."""
    text = "".join(lines)
    points = sorted({min(c, len(lines)) for c in cuts})
    chunks, start = [], 0
    for point in points:
        chunks.append("".join(lines[start:point]))
        start = point
    chunks.append("".join(lines[start:]))
    chunks = [chunk for chunk in chunks if chunk]
    assert "".join(chunks) == text
    same(*both(chunks))
