"""The format parsers, by name, and format detection.

``PARSERS`` maps each ``--format`` name to its parser class. ``detect_format`` scores a
sample of the log with every parser and picks the most confident; ``generic`` is the
fallback. File names settle the unambiguous cases first (``trainer_state.json``,
``metrics.csv``).
"""

from __future__ import annotations

from flightlog.analyze.formats.base import FormatParser
from flightlog.analyze.formats.boosting import BoostingParser
from flightlog.analyze.formats.generic import GenericParser
from flightlog.analyze.formats.huggingface import HFDictParser, HFTrainerStateParser
from flightlog.analyze.formats.jsonlines import JsonLinesParser
from flightlog.analyze.formats.keras import KerasParser
from flightlog.analyze.formats.lightning_csv import MetricsCsvParser
from flightlog.analyze.formats.nanogpt import NanoGPTParser
from flightlog.analyze.formats.progress import ProgressBarParser
from flightlog.analyze.formats.sklearn import SklearnParser

__all__ = ["PARSERS", "FormatParser", "detect_format"]

PARSERS: dict[str, type[FormatParser]] = {
    parser.name: parser
    for parser in (
        KerasParser,
        HFDictParser,
        HFTrainerStateParser,
        ProgressBarParser,
        MetricsCsvParser,
        BoostingParser,
        SklearnParser,
        NanoGPTParser,
        JsonLinesParser,
        GenericParser,
    )
}


def detect_format(sample: str, filename: str = "") -> str:
    """The name of the parser most confident that ``sample`` is its format."""
    base = filename.rsplit("/", 1)[-1].lower()
    for suffix in (".gz", ".zst", ".zstd"):
        base = base.removesuffix(suffix)
    if base.endswith("trainer_state.json") and HFTrainerStateParser.score(sample):
        return HFTrainerStateParser.name
    if base.endswith(".csv") and MetricsCsvParser.score(sample):
        return MetricsCsvParser.name
    best_name, best_score = GenericParser.name, 0.0
    for name, parser in PARSERS.items():
        score = parser.score(sample)
        if score > best_score:
            best_name, best_score = name, score
    return best_name
