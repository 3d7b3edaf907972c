"""Bounds a CQL2 filter must meet before any parser sees it.

The CQL2 parser builds its tree by recursion: a filter nested thousands of levels deep (a few
kilobytes of brackets, ``NOT NOT NOT ...`` or a long chain of ``+`` or ``=``) exhausts the
stack of the process that parses it, which is a crash, not an exception. So the text is
scanned first, without recursion and in one pass, and refused when its brackets nest deeper
or it holds more operators than :data:`MAX_BRACKETS` and :data:`MAX_OPERATORS`. Together they
bound the depth of any tree the parser can build to a few hundred levels, far below what the
stack holds. A JSON filter already parsed into Python objects is measured the same way, with
an explicit stack.
"""

from __future__ import annotations

from typing import Any

#: Deepest nesting of ``(`` and ``[`` in a CQL2 text filter (the boolean depth limit is 32;
#: function calls and arithmetic add a few levels of their own).
MAX_BRACKETS = 64
#: Most operators (comparisons, arithmetic, ``AND``/``OR``/``NOT``, ``LIKE``, ``IN``, ...)
#: in a CQL2 text filter: a chain of binary operators nests as deep as it is long.
MAX_OPERATORS = 500
#: Deepest nesting of objects and arrays in a CQL2 JSON filter (two levels per expression,
#: a few more for GeoJSON coordinates).
MAX_JSON_DEPTH = 2 * MAX_BRACKETS + 8
#: Longest filter text accepted (a URL is shorter still; a POST body may carry more).
MAX_TEXT = 100_000

_KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "DIV"})
_OPERATOR_CHARS = frozenset("=<>!+-*/^%")
_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")


def check_text(text: str) -> str | None:
    """Return why a CQL2 text filter is refused (too long, too deep, too many operators)."""
    if len(text) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    depth = deepest = operators = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":  # a string literal or a quoted identifier; a doubled quote escapes
            i += 1
            while i < n:
                if text[i] == ch:
                    if i + 1 < n and text[i + 1] == ch:
                        i += 2
                        continue
                    break
                i += 1
        elif ch in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch in _OPERATOR_CHARS:
            operators += 1
            while i + 1 < n and text[i + 1] in _OPERATOR_CHARS:
                i += 1
                if text[i] in "+-":  # signs after an operator nest too: x < - - - 1
                    operators += 1
        elif ch.isalpha() or ch == "_":
            start = i
            while i + 1 < n and (text[i + 1].isalnum() or text[i + 1] in "_:."):
                i += 1
            if text[start : i + 1].upper() in _KEYWORDS:
                operators += 1
        if deepest > MAX_BRACKETS:
            return f"brackets nested deeper than {MAX_BRACKETS} levels"
        if operators > MAX_OPERATORS:
            return f"more than {MAX_OPERATORS} operators"
        i += 1
    return None


def check_json_text(text: str) -> str | None:
    """Return why a CQL2 JSON filter given as text is refused (too long or too deep)."""
    if len(text) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels of objects and arrays"
        elif ch in "]}":
            depth -= 1
    return None


def check_json_value(value: Any) -> str | None:
    """Return why a CQL2 JSON filter given as Python objects is refused (too deep or large)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_TEXT:
            return f"more than {MAX_TEXT} values"
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels of objects and arrays"
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return None
