"""Semantic checks of the LogQL parser and where their errors point.

A check that fails raises ``SemanticError``. ``at`` is a path of child indices from the
parse-tree node whose callback raised down to the offending node or token, so the
``ParseError`` points at it (``topk(1.5, ...)`` at ``1.5``, ``1 + bool 2`` at ``bool``);
without ``at`` the error points at the start of that node.
"""

from __future__ import annotations

import lark
import re2

from flightlog.query.template import TemplateError, compile_template

__all__ = [
    "SemanticError",
    "check_ip_pattern",
    "check_regex",
    "check_template",
    "position_of",
]


class SemanticError(Exception):
    """A query that parses but means nothing.

    ``position`` (line, column) when it is known outright; otherwise ``at``, the child
    indices leading from the node being transformed to the offending part.
    """

    def __init__(
        self,
        message: str,
        position: tuple[int, int] | None = None,
        at: tuple[int, ...] = (),
    ) -> None:
        super().__init__(message)
        self.position = position
        self.at = at

    def within(self, *prefix: int) -> SemanticError:
        """The same error seen from ``prefix`` levels further up the tree."""
        return SemanticError(str(self), self.position, (*prefix, *self.at))


def _quiet_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    return options


_QUIET = _quiet_options()


def check_regex(pattern: str, at: tuple[int, ...] = ()) -> None:
    try:
        re2.compile(pattern, _QUIET)
    except re2.error as exc:
        detail = (
            exc.args[0].decode(errors="replace")
            if exc.args and isinstance(exc.args[0], bytes)
            else str(exc)
        )
        raise SemanticError(f"invalid regex {pattern!r}: {detail}", at=at) from None


def check_ip_pattern(pattern: str) -> None:
    from flightlog.query.ipmatch import parse_ip_pattern

    try:
        parse_ip_pattern(pattern)
    except ValueError as exc:
        raise SemanticError(str(exc)) from None


def check_template(source: str, stage: str) -> None:
    """Compile a line_format / label_format template now, so a bad one is a parse error."""
    try:
        compile_template(source)
    except TemplateError as exc:
        raise SemanticError(f"invalid {stage} template {source!r}: {exc}") from None


def _start(node: object) -> tuple[int, int] | None:
    if isinstance(node, lark.Token):
        if node.line is not None and node.column is not None:
            return node.line, node.column
        return None
    meta = getattr(node, "meta", None)
    if meta is not None and not getattr(meta, "empty", True):
        return meta.line, meta.column
    return None


def position_of(node: object, at: tuple[int, ...] = ()) -> tuple[int, int]:
    """Where ``node``'s descendant along ``at`` starts; the deepest located ancestor on
    that path when the descendant has no position (an empty optional part), else 1:1."""
    best = _start(node)
    for index in at:
        children = getattr(node, "children", None)
        if children is None or not 0 <= index < len(children) or children[index] is None:
            break
        node = children[index]
        best = _start(node) or best
    return best or (1, 1)
