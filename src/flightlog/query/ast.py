"""The LogQL abstract syntax tree: frozen dataclasses, comparable and hashable.

The parser (``flightlog.query.parser``) builds these values, the printer
(``flightlog.query.printer``) turns them back into canonical LogQL text, and the planner
and evaluator read them. Durations are integer nanoseconds so that equality is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flightlog.model import LabelMatcher

__all__ = [
    "BinaryOp",
    "BytesFilter",
    "Decolorize",
    "DropLabels",
    "DurationFilter",
    "Expr",
    "Extraction",
    "Grouping",
    "IpFilter",
    "JsonParser",
    "KeepLabels",
    "LabelFilter",
    "LabelFilterAnd",
    "LabelFilterExpr",
    "LabelFilterOr",
    "LabelFormat",
    "LabelFormatItem",
    "LabelReplace",
    "LineFilter",
    "LineFormat",
    "LogQuery",
    "LogfmtParser",
    "MetricExpr",
    "NumberFilter",
    "NumberLiteral",
    "PatternParser",
    "RangeAggregation",
    "RegexpParser",
    "Stage",
    "StringFilter",
    "UnpackParser",
    "Unwrap",
    "VectorAggregation",
    "VectorLiteral",
    "VectorMatching",
]


class LineFilterOp(StrEnum):
    CONTAINS = "|="
    NOT_CONTAINS = "!="
    REGEX = "|~"
    NOT_REGEX = "!~"
    PATTERN = "|>"
    NOT_PATTERN = "!>"


@dataclass(frozen=True, slots=True)
class LineFilter:
    """``|= "a" or "b"``: keeps (or drops, for the negated ops) lines matching any value."""

    op: LineFilterOp
    values: tuple[str, ...]
    ip: bool = False
    """Values are ``ip("...")`` patterns (address, CIDR or range): lines holding a match."""


@dataclass(frozen=True, slots=True)
class Extraction:
    """One ``label="expression"`` parameter of ``| json`` / ``| logfmt``; ``None`` = same name."""

    label: str
    expression: str | None


@dataclass(frozen=True, slots=True)
class JsonParser:
    extractions: tuple[Extraction, ...] = ()


@dataclass(frozen=True, slots=True)
class LogfmtParser:
    strict: bool = False
    keep_empty: bool = False
    extractions: tuple[Extraction, ...] = ()


@dataclass(frozen=True, slots=True)
class RegexpParser:
    pattern: str


@dataclass(frozen=True, slots=True)
class PatternParser:
    pattern: str


@dataclass(frozen=True, slots=True)
class UnpackParser:
    pass


class CompareOp(StrEnum):
    EQ = "="
    EQ2 = "=="
    NEQ = "!="
    RE = "=~"
    NRE = "!~"
    GT = ">"
    GTE = ">="
    LT = "<"
    LTE = "<="


@dataclass(frozen=True, slots=True)
class StringFilter:
    """``name op "value"`` with ``=``, ``==``, ``!=``, ``=~``, ``!~``."""

    name: str
    op: CompareOp
    value: str


@dataclass(frozen=True, slots=True)
class NumberFilter:
    name: str
    op: CompareOp
    value: float


@dataclass(frozen=True, slots=True)
class DurationFilter:
    """Compares a label parsed as a Go duration; ``value_ns`` is the literal in ns."""

    name: str
    op: CompareOp
    value_ns: int


@dataclass(frozen=True, slots=True)
class BytesFilter:
    """Compares a label parsed as a byte size (``20KB``, ``1MiB``)."""

    name: str
    op: CompareOp
    value: float


@dataclass(frozen=True, slots=True)
class IpFilter:
    """``name = ip("10.0.0.0/8")`` (or ``!=``): the label is an address in the pattern."""

    name: str
    op: CompareOp
    pattern: str


@dataclass(frozen=True, slots=True)
class LabelFilterAnd:
    left: LabelFilterExpr
    right: LabelFilterExpr


@dataclass(frozen=True, slots=True)
class LabelFilterOr:
    left: LabelFilterExpr
    right: LabelFilterExpr


LabelFilterExpr = (
    StringFilter | NumberFilter | DurationFilter | BytesFilter | LabelFilterAnd | LabelFilterOr
)


@dataclass(frozen=True, slots=True)
class LabelFilter:
    """A pipeline stage ``| <label filter expression>``."""

    expr: LabelFilterExpr


@dataclass(frozen=True, slots=True)
class LineFormat:
    template: str


@dataclass(frozen=True, slots=True)
class LabelFormatItem:
    """``dst=src`` (rename, ``is_template`` false) or ``dst="{{ template }}"``."""

    dst: str
    source: str
    is_template: bool


@dataclass(frozen=True, slots=True)
class LabelFormat:
    items: tuple[LabelFormatItem, ...]


@dataclass(frozen=True, slots=True)
class DropLabels:
    """``| drop a, b="v"``: plain names, or matchers that drop only when they match."""

    items: tuple[str | LabelMatcher, ...]


@dataclass(frozen=True, slots=True)
class KeepLabels:
    items: tuple[str | LabelMatcher, ...]


@dataclass(frozen=True, slots=True)
class Decolorize:
    pass


Stage = (
    LineFilter
    | JsonParser
    | LogfmtParser
    | RegexpParser
    | PatternParser
    | UnpackParser
    | LabelFilter
    | LineFormat
    | LabelFormat
    | DropLabels
    | KeepLabels
    | Decolorize
)


@dataclass(frozen=True, slots=True)
class LogQuery:
    """A stream selector and its pipeline."""

    matchers: tuple[LabelMatcher, ...]
    stages: tuple[Stage, ...] = ()


class UnwrapConversion(StrEnum):
    NONE = ""
    DURATION = "duration"
    DURATION_SECONDS = "duration_seconds"
    BYTES = "bytes"


@dataclass(frozen=True, slots=True)
class Unwrap:
    """``| unwrap [conv(]label[)]`` and the label filters that follow it."""

    label: str
    conversion: UnwrapConversion = UnwrapConversion.NONE
    post_filters: tuple[LabelFilterExpr, ...] = ()


@dataclass(frozen=True, slots=True)
class Grouping:
    """``by (a, b)`` or ``without (a, b)``."""

    without: bool
    labels: tuple[str, ...]


class RangeOp(StrEnum):
    COUNT_OVER_TIME = "count_over_time"
    RATE = "rate"
    RATE_COUNTER = "rate_counter"
    BYTES_OVER_TIME = "bytes_over_time"
    BYTES_RATE = "bytes_rate"
    AVG_OVER_TIME = "avg_over_time"
    SUM_OVER_TIME = "sum_over_time"
    MIN_OVER_TIME = "min_over_time"
    MAX_OVER_TIME = "max_over_time"
    STDDEV_OVER_TIME = "stddev_over_time"
    STDVAR_OVER_TIME = "stdvar_over_time"
    QUANTILE_OVER_TIME = "quantile_over_time"
    FIRST_OVER_TIME = "first_over_time"
    LAST_OVER_TIME = "last_over_time"
    ABSENT_OVER_TIME = "absent_over_time"


LINE_RANGE_OPS = frozenset(
    {
        RangeOp.COUNT_OVER_TIME,
        RangeOp.RATE,
        RangeOp.BYTES_OVER_TIME,
        RangeOp.BYTES_RATE,
        RangeOp.ABSENT_OVER_TIME,
    }
)
"""Range aggregations over log lines; of these only ``rate`` and ``absent_over_time`` also
take an unwrapped range."""

GROUPING_RANGE_OPS = frozenset(
    {
        RangeOp.AVG_OVER_TIME,
        RangeOp.MIN_OVER_TIME,
        RangeOp.MAX_OVER_TIME,
        RangeOp.STDDEV_OVER_TIME,
        RangeOp.STDVAR_OVER_TIME,
        RangeOp.QUANTILE_OVER_TIME,
        RangeOp.FIRST_OVER_TIME,
        RangeOp.LAST_OVER_TIME,
    }
)
"""Range aggregations that accept ``by``/``without``: Loki documents grouping for the
unwrapped ones except ``sum_over_time``, ``absent_over_time``, ``rate`` and
``rate_counter`` (log range aggregations take none)."""


@dataclass(frozen=True, slots=True)
class RangeAggregation:
    op: RangeOp
    log: LogQuery
    range_ns: int
    offset_ns: int = 0
    unwrap: Unwrap | None = None
    param: float | None = None
    grouping: Grouping | None = None


class VectorOp(StrEnum):
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    COUNT = "count"
    STDDEV = "stddev"
    STDVAR = "stdvar"
    TOPK = "topk"
    BOTTOMK = "bottomk"
    SORT = "sort"
    SORT_DESC = "sort_desc"


@dataclass(frozen=True, slots=True)
class VectorAggregation:
    op: VectorOp
    expr: MetricExpr
    grouping: Grouping | None = None
    param: float | None = None


@dataclass(frozen=True, slots=True)
class VectorMatching:
    """``on(...)``/``ignoring(...)`` with an optional ``group_left/right(...)``."""

    on: bool
    labels: tuple[str, ...]
    group: str | None = None  # "left" | "right"
    include: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BinaryOp:
    op: str
    left: MetricExpr
    right: MetricExpr
    return_bool: bool = False
    matching: VectorMatching | None = None


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    value: float


@dataclass(frozen=True, slots=True)
class VectorLiteral:
    """``vector(1)``: one sample without labels at every step."""

    value: float


@dataclass(frozen=True, slots=True)
class LabelReplace:
    expr: MetricExpr
    dst: str
    replacement: str
    src: str
    regex: str


MetricExpr = (
    RangeAggregation | VectorAggregation | BinaryOp | NumberLiteral | VectorLiteral | LabelReplace
)
Expr = LogQuery | MetricExpr

ARITHMETIC_OPS = frozenset({"+", "-", "*", "/", "%", "^"})
COMPARISON_OPS = frozenset({"==", "!=", ">", ">=", "<", "<="})
SET_OPS = frozenset({"and", "or", "unless"})
