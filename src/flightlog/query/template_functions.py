"""The functions ``line_format`` / ``label_format`` templates may call, with Loki's semantics.

Loki's template functions come from Go's ``text/template``, Sprig and a few of Loki's own;
each takes its arguments in the documented order, the piped value arriving last. Go's
``time.Time`` is modelled by :class:`GoTime` (nanoseconds since the epoch and a zone), and
values render as Go's ``fmt`` prints them (``render_value``). Regular expressions are RE2.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import re2

from flightlog.query.go_time import GoTime, go_format, go_parse

__all__ = ["FUNCTIONS", "GoTime", "render_value"]

_ZERO_TIME_NS = -62_135_596_800 * 1_000_000_000  # Go's time.Time{}: 0001-01-01 00:00:00 UTC


def local_zone() -> tzinfo:
    """The server's local zone (Go's ``time.Local``); tests replace it."""
    return datetime.now().astimezone().tzinfo or UTC


# ---------------------------------------------------------------- numbers and rendering


def to_int(value: object) -> int:
    """Sprig's toInt64: numbers truncate, strings parse as integers, anything else is 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            return 0
    return 0


def to_float(value: object) -> float:
    """Sprig's toFloat64: numbers convert, strings parse as floats, anything else is 0."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return 0.0
    return 0.0


def go_float(value: float) -> str:
    """A float64 as Go's ``%v`` prints it: shortest digits, an exponent below 1e-4 or from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, exp = _shortest(abs(value))
    if exp < -4 or exp >= 6:  # strconv 'g' with the shortest precision
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if len(digits) <= exp + 1:
        return sign + digits + "0" * (exp + 1 - len(digits))
    return f"{sign}{digits[: exp + 1]}.{digits[exp + 1 :]}"


def _shortest(value: float) -> tuple[str, int]:
    """The shortest round-tripping digits of ``value`` and the decimal exponent of the first."""
    _, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    return text.rstrip("0") or "0", len(text) + exponent - 1


def render_value(value: object) -> str:
    """A template value as Go's ``fmt`` prints it (maps sorted, ``[a b]`` for lists)."""
    if value is None:
        return ""
    return _go_print(value, top=True)


def _go_print(value: object, top: bool = False) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "map[" + " ".join(f"{k}:{_go_print(v)}" for k, v in items) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_go_print(v) for v in value) + "]"
    return str(value)


def is_empty(value: object) -> bool:
    """Sprig's notion of empty: nil, "", 0, false, an empty list or map."""
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) == 0
    if isinstance(value, (bool, int, float)):
        return not value
    return False


def _zone(name: object) -> tzinfo:
    text = str(name)
    if text in ("", "UTC"):
        return UTC
    if text == "Local":
        return local_zone()
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text}") from None


def _as_time(value: object) -> GoTime:
    """What Sprig's ``date`` accepts: a time, or unix seconds; anything else means now."""
    if isinstance(value, GoTime):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return GoTime(value * 1_000_000_000, local_zone())
    return _now()


def _now() -> GoTime:
    return GoTime(time.time_ns(), local_zone())


def _date(layout: object, value: object) -> str:
    t = _as_time(value)
    return go_format(GoTime(t.ns, local_zone()), str(layout))


def _to_date(layout: object, text: object) -> GoTime:
    try:
        return go_parse(str(layout), str(text), local_zone())
    except ValueError:
        return GoTime(_ZERO_TIME_NS, UTC)


def _to_date_in_zone(layout: object, zone: object, text: object) -> GoTime:
    try:
        return go_parse(str(layout), str(text), _zone(zone))
    except ValueError:
        return GoTime(_ZERO_TIME_NS, UTC)


def _time_arg(value: object) -> GoTime:
    if not isinstance(value, GoTime):
        raise TypeError("expected a time")
    return value


def _unix_to_time(epoch: object) -> GoTime:
    text = str(epoch)
    if not text.isdigit():
        raise ValueError(f"cannot convert {text!r} to a time")
    n = int(text)
    scale = {5: 86_400 * 10**9, 10: 10**9, 13: 10**6, 16: 10**3, 19: 1}.get(len(text))
    if scale is None:
        raise ValueError(f"cannot convert {text!r} to a time")
    return GoTime(n * scale, local_zone())


# ---------------------------------------------------------------- durations and bytes

_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}  # fmt: skip
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def duration_seconds(value: object) -> float:
    """Go's time.ParseDuration, in seconds: ``"1h30m"`` is 5400, ``"-1.5s"`` is -1.5."""
    text = str(value)
    sign = -1.0 if text.startswith("-") else 1.0
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    if not body or re.fullmatch(f"(?:{_DURATION_PART.pattern})+", body) is None:
        raise ValueError(f"invalid duration {text!r}")
    total = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(body))
    return sign * total


_BYTE_UNITS = {
    "": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
    "t": 10**12, "tb": 10**12, "p": 10**15, "pb": 10**15, "e": 10**18, "eb": 10**18,
    "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20, "gi": 2**30, "gib": 2**30,
    "ti": 2**40, "tib": 2**40, "pi": 2**50, "pib": 2**50, "ei": 2**60, "eib": 2**60,
}  # fmt: skip


def parse_bytes(value: object) -> int:
    """go-humanize's ParseBytes: ``"42 MB"`` is 42000000, ``"1.5KiB"`` is 1536."""
    m = re.fullmatch(r"\s*([0-9][0-9,]*\.?[0-9]*)\s*([A-Za-z]*)\s*", str(value))
    if m is None or m.group(2).lower() not in _BYTE_UNITS:
        raise ValueError(f"invalid byte size {value!r}")
    return int(float(m.group(1).replace(",", "")) * _BYTE_UNITS[m.group(2).lower()])


# ---------------------------------------------------------------- strings


def _expand(template: str, match: re2._Match) -> str:  # type: ignore[name-defined]
    """Go's Regexp.Expand: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``; unknown is ""."""
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch != "$" or i + 1 >= len(template):
            out.append(ch)
            i += 1
            continue
        if template[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if template[i + 1] == "{":
            end = template.find("}", i + 2)
            name = template[i + 2 : end] if end != -1 else ""
            if end == -1 or not re.fullmatch(r"\w+", name):
                out.append(ch)
                i += 1
                continue
            i = end + 1
        else:
            m = re.match(r"\w+", template[i + 1 :])
            if m is None:
                out.append(ch)
                i += 1
                continue
            name = m.group(0)
            i += 1 + len(name)
        try:
            group = match.group(int(name) if name.isdigit() else name)
        except (IndexError, KeyError, ValueError, re2.error):
            group = None
        out.append(group or "")
    return "".join(out)


def _regex_replace_all(pattern: object, src: object, repl: object) -> str:
    return re2.sub(str(pattern), lambda m: _expand(str(repl), m), str(src))


def _regex_replace_all_literal(pattern: object, src: object, repl: object) -> str:
    return re2.sub(str(pattern), lambda _m: str(repl), str(src))


def _trunc(n: object, s: object) -> str:
    count, text = to_int(n), str(s)
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count :]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def _substr(start: object, end: object, s: object) -> str:
    a, b, text = to_int(start), to_int(end), str(s)
    if a < 0:
        return text[:b]
    if b < 0 or b > len(text):
        return text[a:]
    if a > b:
        raise ValueError("substr: start after end")
    return text[a:b]


def _abbreviate(text: str, offset: int, width: int) -> str:
    if len(text) <= width:
        return text
    offset = min(offset, len(text))
    if len(text) - offset < width - 3:
        offset = len(text) - (width - 3)
    if offset <= 4:
        return text[: width - 3] + "..."
    if offset + width - 3 < len(text):
        return "..." + _abbreviate(text[offset:], 0, width - 3)
    return "..." + text[len(text) - (width - 3) :]


def _abbrev(width: object, s: object) -> str:
    w = to_int(width)
    return str(s) if w < 4 else _abbreviate(str(s), 0, w)


def _abbrevboth(left: object, right: object, s: object) -> str:
    lo, hi = to_int(left), to_int(right)
    if hi < 4 or (lo > 0 and hi < 7):
        return str(s)
    return _abbreviate(str(s), lo, hi)


def _align_left(count: object, s: object) -> str:
    n, text = to_int(count), str(s)
    return text[:n] if len(text) >= n else text.ljust(n)


def _align_right(count: object, s: object) -> str:
    n, text = to_int(count), str(s)
    if len(text) >= n:
        return text[len(text) - n :] if n > 0 else ""
    return text.rjust(n)


def _indent(spaces: object, s: object) -> str:
    pad = " " * to_int(spaces)
    return pad + str(s).replace("\n", "\n" + pad)


def _repeat(count: object, s: object) -> str:
    n = to_int(count)
    if n < 0:
        raise ValueError("repeat: negative count")
    return str(s) * n


def _b64dec(s: object) -> str:
    text = str(s)
    try:
        return base64.b64decode(text.encode(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        bad = next(
            (i for i, c in enumerate(text) if not (c.isascii() and (c.isalnum() or c in "+/="))),
            len(text) - len(text) % 4 if len(text) % 4 else max(len(text) - 1, 0),
        )
        return f"illegal base64 data at input byte {bad}"


def _urldecode(s: object) -> str:
    text = str(s)
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise ValueError(f"invalid URL escape in {text!r}")
    return urllib.parse.unquote_plus(text)


def _from_json(s: object) -> object:
    try:
        return json.loads(str(s), parse_int=float)
    except ValueError:
        return ""


def _round(value: object, places: object, *round_on: object) -> float:
    on = to_float(round_on[0]) if round_on else 0.5
    power = 10.0 ** to_int(places)
    digit = power * to_float(value)
    frac = digit - math.trunc(digit)
    return (math.ceil(digit) if frac >= on else math.floor(digit)) / power


def _div(a: object, b: object) -> int:
    x, y = to_int(a), to_int(b)
    if y == 0:
        raise ZeroDivisionError("integer divide by zero")
    q = abs(x) // abs(y)  # Go truncates towards zero
    return q if (x >= 0) == (y >= 0) else -q


def _mod(a: object, b: object) -> int:
    x, y = to_int(a), to_int(b)
    if y == 0:
        raise ZeroDivisionError("integer divide by zero")
    return x - _div(x, y) * y


def _fdiv(x: float, y: float) -> float:
    if y == 0:
        return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x)
    return x / y


def _divf(a: object, *rest: object) -> float:
    out = to_float(a)
    for v in rest:
        out = _fdiv(out, to_float(v))
    return out


def _fold(values: tuple[object, ...], conv: Callable[[object], float], op: Callable) -> object:
    out = conv(values[0])
    for v in values[1:]:
        out = op(out, conv(v))
    return out


FUNCTIONS: dict[str, Callable[..., object]] = {
    # strings
    "ToLower": lambda s: str(s).lower(),
    "lower": lambda s: str(s).lower(),
    "ToUpper": lambda s: str(s).upper(),
    "upper": lambda s: str(s).upper(),
    "title": lambda s: re.sub(r"\S+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:], str(s)),
    "trim": lambda s: str(s).strip(),
    "trimSpace": lambda s: str(s).strip(),
    "TrimSpace": lambda s: str(s).strip(),
    "trimAll": lambda chars, s: str(s).strip(str(chars)),
    "trimPrefix": lambda prefix, s: str(s).removeprefix(str(prefix)),
    "trimSuffix": lambda suffix, s: str(s).removesuffix(str(suffix)),
    "TrimPrefix": lambda s, prefix: str(s).removeprefix(str(prefix)),
    "TrimSuffix": lambda s, suffix: str(s).removesuffix(str(suffix)),
    "replace": lambda old, new, s: str(s).replace(str(old), str(new)),
    "Replace": lambda s, old, new, n=-1: str(s).replace(str(old), str(new), to_int(n)),
    "default": lambda d, s=None: d if is_empty(s) else s,
    "len": lambda s: len(s) if isinstance(s, (list, dict)) else len(str(s)),
    "trunc": _trunc,
    "substr": _substr,
    "repeat": _repeat,
    "abbrev": _abbrev,
    "abbrevboth": _abbrevboth,
    "alignLeft": _align_left,
    "alignRight": _align_right,
    "indent": _indent,
    "nindent": lambda spaces, s: "\n" + _indent(spaces, s),
    "b64enc": lambda s: base64.b64encode(str(s).encode()).decode(),
    "b64dec": _b64dec,
    "urlencode": lambda s: urllib.parse.quote_plus(str(s), safe=""),
    "urldecode": _urldecode,
    "fromJson": _from_json,
    "bytes": parse_bytes,
    "duration": duration_seconds,
    "duration_seconds": duration_seconds,
    # logic
    "contains": lambda sub, s: str(sub) in str(s),
    "hasPrefix": lambda prefix, s: str(s).startswith(str(prefix)),
    "hasSuffix": lambda suffix, s: str(s).endswith(str(suffix)),
    # regular expressions (RE2)
    "regexReplaceAll": _regex_replace_all,
    "regexReplaceAllLiteral": _regex_replace_all_literal,
    "count": lambda pattern, s: len(re2.findall(str(pattern), str(s))),
    # numbers
    "int": to_int,
    "float64": to_float,
    "add": lambda *xs: sum(to_int(x) for x in xs),
    "sub": lambda a, b: to_int(a) - to_int(b),
    "mul": lambda a, *xs: _fold((a, *xs), to_int, lambda x, y: x * y),
    "div": _div,
    "mod": _mod,
    "addf": lambda *xs: math.fsum(to_float(x) for x in xs),
    "subf": lambda a, *xs: _fold((a, *xs), to_float, lambda x, y: x - y),
    "mulf": lambda a, *xs: _fold((a, *xs), to_float, lambda x, y: x * y),
    "divf": _divf,
    "max": lambda a, *xs: _fold((a, *xs), to_int, max),
    "min": lambda a, *xs: _fold((a, *xs), to_int, min),
    "maxf": lambda a, *xs: _fold((a, *xs), to_float, max),
    "minf": lambda a, *xs: _fold((a, *xs), to_float, min),
    "ceil": lambda a: float(math.ceil(to_float(a))),
    "floor": lambda a: float(math.floor(to_float(a))),
    "round": _round,
    # dates and times
    "now": _now,
    "date": _date,
    "toDate": _to_date,
    "toDateInZone": _to_date_in_zone,
    "unixEpoch": lambda t: str(_time_arg(t).ns // 1_000_000_000),
    "unixEpochMillis": lambda t: str(_time_arg(t).ns // 1_000_000),
    "unixEpochNanos": lambda t: str(_time_arg(t).ns),
    "unixToTime": _unix_to_time,
}
