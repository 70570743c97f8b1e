"""A grok-style library of named patterns for the formats services really print.

``%{NAME}`` inserts a library pattern, ``%{NAME:field}`` also captures it as a field. The
library holds building blocks (``IP``, ``INT``, ``HTTPDATE``, ...) and whole-line formats:
``SYSLOG_RFC3164``, ``SYSLOG_RFC5424``, ``NGINX_ACCESS``, ``APACHE_COMMON``,
``APACHE_COMBINED``, ``PYTHON_LOGGING`` (``logging.basicConfig``'s default
``LEVEL:name:message``), ``PYTHON_LOGGING_ASCTIME`` (``asctime - name - level - message``)
and ``K8S_CRI`` (the container runtime's ``<time> <stream> <F|P> <message>``). Patterns
expand to RE2 expressions, written here from the formats' specifications.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flightlog.errors import ConfigError
from flightlog.pipeline.parse import NamedGroupStage, compile_regex

__all__ = ["GROK_LIBRARY", "GrokStage", "expand_grok"]

GROK_LIBRARY: Mapping[str, str] = {
    "WORD": r"\w+",
    "NOTSPACE": r"\S+",
    "SPACE": r"\s*",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "INT": r"[+-]?[0-9]+",
    "POSINT": r"[0-9]+",
    "NUMBER": r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)",
    "QS": r'"(?:[^"\\]|\\.)*"',
    "USERNAME": r"[a-zA-Z0-9._-]+",
    "IPV4": r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}",
    "IPV6": r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?",
    "IP": r"(?:%{IPV6}|%{IPV4})",
    "HOSTNAME": r"[0-9A-Za-z][0-9A-Za-z._-]*",
    "IPORHOST": r"(?:%{IP}|%{HOSTNAME})",
    "PATH": r"/\S*",
    "LOGLEVEL": r"(?i:trace|debug|info|notice|warn(?:ing)?|error|err|fatal|critical|crit|alert|emerg(?:ency)?)",
    "TIMESTAMP_ISO8601": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?",
    "HTTPDATE": r"[0-9]{2}/\w{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}",
    "SYSLOGTIMESTAMP": r"\w{3} +[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
    "PROG": r"[\w._/%-]+",
    "SYSLOG_RFC3164": r"(?:<%{POSINT:priority}>)?%{SYSLOGTIMESTAMP:timestamp} %{IPORHOST:hostname} %{PROG:appname}(?:\[%{POSINT:procid}\])?: ?%{GREEDYDATA:message}",
    "SYSLOG_RFC5424": r"<%{POSINT:priority}>1 %{NOTSPACE:timestamp} %{NOTSPACE:hostname} %{NOTSPACE:appname} %{NOTSPACE:procid} %{NOTSPACE:msgid} (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?%{GREEDYDATA:message}",
    "APACHE_COMMON": r'%{IPORHOST:client} %{NOTSPACE:ident} %{NOTSPACE:auth} \[%{HTTPDATE:timestamp}\] "%{WORD:method} %{NOTSPACE:path} %{NOTSPACE:protocol}" %{INT:status} (?:%{INT:bytes}|-)',
    "APACHE_COMBINED": r'%{APACHE_COMMON} "%{DATA:referrer}" "%{DATA:agent}"',
    "NGINX_ACCESS": r'%{IPORHOST:remote_addr} - %{NOTSPACE:remote_user} \[%{HTTPDATE:time_local}\] "%{WORD:method} %{NOTSPACE:path} %{NOTSPACE:protocol}" %{INT:status} %{INT:body_bytes_sent} "%{DATA:http_referer}" "%{DATA:http_user_agent}"',
    "PYTHON_LOGGING": r"(?P<level>[A-Z]+):(?P<logger>[^:]*):%{GREEDYDATA:message}",
    "PYTHON_LOGGING_ASCTIME": r"(?P<asctime>[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3}) - (?P<logger>.*?) - (?P<level>[A-Z]+) - %{GREEDYDATA:message}",
    "K8S_CRI": r"%{TIMESTAMP_ISO8601:time} (?P<stream>stdout|stderr) (?P<flags>[FP]) %{GREEDYDATA:message}",
}

_REFERENCE = re.compile(r"%\{([A-Za-z0-9_]+)(?::([A-Za-z_][A-Za-z0-9_.]*))?\}")
_MAX_DEPTH = 8


def expand_grok(expression: str, custom: Mapping[str, str] | None = None) -> str:
    """Expand ``%{NAME}`` / ``%{NAME:field}`` references into one RE2 expression."""
    library = dict(GROK_LIBRARY)
    if custom:
        library.update(custom)

    def expand(text: str, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise ConfigError(f"grok pattern {expression!r} nests deeper than {_MAX_DEPTH} levels")

        def replace(match: re.Match[str]) -> str:
            name, field = match.group(1), match.group(2)
            body = library.get(name)
            if body is None:
                raise ConfigError(
                    f"grok pattern {expression!r} uses unknown %{{{name}}}; known: "
                    + ", ".join(sorted(library))
                )
            inner = expand(body, depth + 1)
            if field:
                return f"(?P<{field.replace('.', '_')}>{inner})"
            return f"(?:{inner})"

        return _REFERENCE.sub(replace, text)

    return expand(expression, 0)


class GrokStage(NamedGroupStage):
    """Extract fields with a grok expression; a bare library name means that whole format."""

    kind = "grok"

    def __init__(
        self,
        pattern: str,
        source: str | None = None,
        custom_patterns: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        if "%{" not in pattern and pattern.upper() in {**GROK_LIBRARY, **(custom_patterns or {})}:
            pattern = "%{" + pattern.upper() + "}"
        self.pattern = pattern
        self.source = source
        # Anchored at the start, so the inherited search behaves as a match.
        self._regex = compile_regex("^" + expand_grok(pattern, custom_patterns), what="grok stage")
