"""Go's ``time.Time`` for templates: an instant in a zone, formatted and parsed with Go layouts.

Loki's ``line_format`` date functions take Go reference-time layouts
(``2006-01-02T15:04:05Z07:00``); ``go_format`` and ``go_parse`` implement them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

__all__ = ["GoTime", "go_format", "go_parse"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class GoTime:
    """A Go ``time.Time``: an instant in nanoseconds and the zone it is shown in."""

    ns: int
    zone: tzinfo

    def datetime(self) -> datetime:
        return (_EPOCH + timedelta(microseconds=self.ns // 1000)).astimezone(self.zone)

    def __str__(self) -> str:  # Go's Time.String()
        return go_format(self, "2006-01-02 15:04:05.999999999 -0700 MST")


# ---------------------------------------------------------------- Go time layouts

_LAYOUT = re.compile(
    r"January|Jan|Monday|Mon|MST|2006|002|__2|_2|01|02|03|04|05|06|15|1|2|3|4|5|PM|pm"
    r"|Z070000|Z07:00:00|Z0700|Z07:00|Z07|-070000|-07:00:00|-0700|-07:00|-07"
    r"|[.,](?:0+|9+)(?!\d)"
)
_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _offset_text(seconds: int, token: str) -> str:
    if token.startswith("Z") and seconds == 0:
        return "Z"
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hh, mm, ss = seconds // 3600, seconds // 60 % 60, seconds % 60
    body = token.lstrip("Z-")  # 070000, 07:00:00, 0700, 07:00, 07
    if body == "07":
        return f"{sign}{hh:02d}"
    sep = ":" if ":" in body else ""
    text = f"{sign}{hh:02d}{sep}{mm:02d}"
    if body.count("0") >= 4 and len(body.replace(":", "")) == 6:
        text += f"{sep}{ss:02d}"
    return text


def go_format(t: GoTime, layout: str) -> str:
    """Format ``t`` with a Go reference-time layout (``2006-01-02T15:04:05Z07:00``)."""
    dt = t.datetime()
    nanos = t.ns % 1_000_000_000
    offset = int(dt.utcoffset().total_seconds()) if dt.utcoffset() is not None else 0

    def one(m: re.Match[str]) -> str:
        tok = m.group(0)
        match tok:
            case "January":
                return _MONTHS[dt.month - 1]
            case "Jan":
                return _MONTHS[dt.month - 1][:3]
            case "Monday":
                return _DAYS[dt.weekday()]
            case "Mon":
                return _DAYS[dt.weekday()][:3]
            case "MST":
                name = dt.tzname() or ""
                return (
                    name if name and not name.startswith("UTC+") else _offset_text(offset, "-0700")
                )
            case "2006":
                return f"{dt.year:04d}"
            case "06":
                return f"{dt.year % 100:02d}"
            case "01":
                return f"{dt.month:02d}"
            case "1":
                return str(dt.month)
            case "02":
                return f"{dt.day:02d}"
            case "_2":
                return f"{dt.day:2d}"
            case "2":
                return str(dt.day)
            case "002":
                return f"{dt.timetuple().tm_yday:03d}"
            case "__2":
                return f"{dt.timetuple().tm_yday:3d}"
            case "15":
                return f"{dt.hour:02d}"
            case "03":
                return f"{(dt.hour % 12) or 12:02d}"
            case "3":
                return str((dt.hour % 12) or 12)
            case "04":
                return f"{dt.minute:02d}"
            case "4":
                return str(dt.minute)
            case "05":
                return f"{dt.second:02d}"
            case "5":
                return str(dt.second)
            case "PM":
                return "PM" if dt.hour >= 12 else "AM"
            case "pm":
                return "pm" if dt.hour >= 12 else "am"
        if tok[0] in ".,":
            width = len(tok) - 1
            frac = f"{nanos:09d}"[:width]
            if tok[1] == "9":
                frac = frac.rstrip("0")
                return tok[0] + frac if frac else ""
            return tok[0] + frac
        return _offset_text(offset, tok)

    return _LAYOUT.sub(one, layout)


def go_parse(layout: str, text: str, zone: tzinfo) -> GoTime:
    """Parse ``text`` with a Go layout, as ``time.ParseInLocation(layout, text, zone)``."""
    pattern: list[str] = []
    kinds: list[str] = []
    pos = 0
    tokens = list(_LAYOUT.finditer(layout))
    for i, m in enumerate(tokens):
        pattern.append(re.escape(layout[pos : m.start()]))
        tok = m.group(0)
        pos = m.end()
        if tok[0] in ".,":
            exact = tok[1] == "0"
            pattern.append(rf"([.,]\d{{{len(tok) - 1}}})" if exact else r"((?:[.,]\d+)?)")
            kinds.append("frac")
            continue
        regex = {
            "January": "[A-Za-z]+", "Jan": "[A-Za-z]{3}", "Monday": "[A-Za-z]+",
            "Mon": "[A-Za-z]{3}", "MST": "[A-Z]{3,5}|[+-]\\d{1,4}", "2006": "\\d{4}",
            "06": "\\d{2}", "01": "\\d{2}", "1": "\\d{1,2}", "02": "\\d{2}", "_2": " ?\\d{1,2}",
            "2": "\\d{1,2}", "002": "\\d{3}", "__2": " {0,2}\\d{1,3}", "15": "\\d{1,2}",
            "03": "\\d{2}", "3": "\\d{1,2}", "04": "\\d{2}", "4": "\\d{1,2}", "05": "\\d{2}",
            "5": "\\d{1,2}", "PM": "AM|PM", "pm": "am|pm",
        }.get(tok)  # fmt: skip
        if regex is None:  # a numeric zone offset
            digits = {"070000": 6, "07:00:00": 6, "0700": 4, "07:00": 4, "07": 2}[tok.lstrip("Z-")]
            colon = ":" if ":" in tok else ""
            parts = [r"\d{2}"] * (digits // 2)
            regex = r"[+-]" + colon.join(parts)
            if tok.startswith("Z"):
                regex = "Z|" + regex
        pattern.append(f"({regex})")
        kinds.append(tok)
        nxt = tokens[i + 1].group(0) if i + 1 < len(tokens) else ""
        follows = layout[pos : tokens[i + 1].start()] if i + 1 < len(tokens) else layout[pos:]
        if tok in ("05", "5") and not (nxt[:1] in ".," and follows == ""):
            pattern.append(r"((?:[.,]\d+)?)")  # Go accepts a fraction after seconds
            kinds.append("frac")
    pattern.append(re.escape(layout[pos:]))
    m = re.fullmatch("".join(pattern), text)
    if m is None:
        raise ValueError(f"cannot parse {text!r} as {layout!r}")
    year, month, day, hour, minute, second, nanos = 1, 1, 1, 0, 0, 0, 0
    pm: bool | None = None
    offset: int | None = None
    abbrev: str | None = None
    for kind, value in zip(kinds, m.groups(), strict=True):
        if kind == "frac":
            if value:
                nanos = int((value[1:] + "000000000")[:9])
        elif kind in ("2006",):
            year = int(value)
        elif kind == "06":
            year = int(value) + (1900 if int(value) >= 69 else 2000)
        elif kind in ("01", "1"):
            month = int(value)
        elif kind in ("January", "Jan"):
            names = [n if kind == "January" else n[:3] for n in _MONTHS]
            month = names.index(value.capitalize()) + 1
        elif kind in ("02", "_2", "2"):
            day = int(value)
        elif kind in ("15", "03", "3"):
            hour = int(value)
        elif kind in ("04", "4"):
            minute = int(value)
        elif kind in ("05", "5"):
            second = int(value)
        elif kind in ("PM", "pm"):
            pm = value.upper() == "PM"
        elif kind == "MST":
            abbrev = value
        elif kind.lstrip("Z-")[:2] == "07":
            if value == "Z":
                offset = 0
            else:
                raw = value[1:].replace(":", "")
                secs = int(raw[:2]) * 3600 + int(raw[2:4] or 0) * 60 + int(raw[4:6] or 0)
                offset = -secs if value[0] == "-" else secs
    if pm is not None:
        if hour > 12:
            raise ValueError("hour out of range")
        hour = hour % 12 + (12 if pm else 0)
    naive = datetime(year, month, day, hour, minute, second)
    if offset is not None:
        local = naive.replace(tzinfo=zone)
        local_offset = local.utcoffset()
        if local_offset is not None and int(local_offset.total_seconds()) == offset:
            out_zone = zone
        elif offset == 0 and m.group(0) and "Z" in text:
            out_zone = UTC
        else:
            out_zone = timezone(timedelta(seconds=offset), _offset_text(offset, "-0700"))
        aware = naive.replace(tzinfo=out_zone)
    elif abbrev is not None and abbrev in ("UTC", "GMT"):
        aware, out_zone = naive.replace(tzinfo=UTC), UTC
    else:
        aware, out_zone = naive.replace(tzinfo=zone), zone
    delta = aware - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + nanos
    return GoTime(ns, out_zone)
