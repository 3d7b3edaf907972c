"""The filter extension: CQL2 text and JSON into the catalog's filter expressions.

Parsing is done by the ``cql2`` package (text and JSON both become CQL2 JSON); this module
checks the result against the queryables and builds :mod:`spaceclimate.catalog.filters`
nodes. Supported: ``and``/``or``/``not``, the six comparisons, ``like``, ``between``, ``in``,
``isNull`` (basic CQL2 and advanced comparison operators) and ``s_intersects`` with any
GeoJSON geometry or a ``BBOX`` (basic spatial functions, plus). Every mistake is an
:class:`~spaceclimate.errors.InputError` naming the ``filter`` parameter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import cql2
import shapely
from shapely.geometry import box, shape

from spaceclimate.api.stac import filterguard
from spaceclimate.api.stac import queryables as q
from spaceclimate.catalog.filters import (
    And,
    Between,
    Compare,
    CompareOp,
    Expr,
    In,
    Intersects,
    IsNull,
    Like,
    Not,
    Or,
    Scalar,
)
from spaceclimate.errors import InputError
from spaceclimate.params import check_bbox, parse_instant

FILTER_LANGS = ("cql2-text", "cql2-json")
CRS84 = (
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
)
_COMPARE: dict[str, CompareOp] = {
    "=": "=",
    "<>": "<>",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
_FLIP: dict[CompareOp, CompareOp] = {
    "=": "=",
    "<>": "<>",
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
}
#: Bounds on a filter's size: deeper or larger filters are refused (400), never half-run.
MAX_DEPTH = 32
MAX_NODES = 1000
SUPPORTED_OPS = (*_COMPARE, "and", "or", "not", "like", "between", "in", "isNull", "s_intersects")


def _fail(reason: str, name: str = "filter") -> InputError:
    return InputError(f"parameter {name!r}: {reason}")


def _snippet(node: Any, length: int = 80) -> str:
    """Return the start of *node* as JSON for a message (never fails on deep values)."""
    try:
        text = json.dumps(node)
    except (RecursionError, TypeError, ValueError):
        text = repr(type(node).__name__)
    return text[:length]


def parse_geometry(value: Any, name: str) -> Intersects:
    """Validate a GeoJSON geometry (lon/lat) and return the Intersects node for it."""
    if not isinstance(value, dict) or "type" not in value:
        raise _fail("expected a GeoJSON geometry object", name)
    try:
        geometry = shape(value)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise _fail(f"not a valid GeoJSON geometry ({exc})", name) from exc
    except shapely.errors.ShapelyError as exc:
        raise _fail(f"not a valid GeoJSON geometry ({exc})", name) from exc
    if geometry.is_empty:
        raise _fail("the geometry is empty", name)
    if not geometry.is_valid:
        raise _fail(f"invalid geometry: {shapely.is_valid_reason(geometry)}", name)
    minx, miny, maxx, maxy = (float(b) for b in geometry.bounds)
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _fail("coordinates must be lon/lat within -180..180 and -90..90", name)
    return Intersects(shapely.to_geojson(geometry), (minx, miny, maxx, maxy))


def check_filter_crs(crs: str | None) -> None:
    """Accept only CRS84 (lon/lat) as ``filter-crs``."""
    if crs is not None and crs not in CRS84:
        raise _fail(f"only {CRS84[0]} is supported, got {crs[:80]!r}", "filter-crs")


def parse_filter(
    value: str | dict[str, Any] | bool | None, lang: str | None, default_lang: str
) -> Expr | None:
    """Parse a CQL2 filter given as text or JSON (a JSON object or its text)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    lang = lang or default_lang
    if lang not in FILTER_LANGS:
        raise _fail(f"expected one of {', '.join(FILTER_LANGS)}, got {lang[:40]!r}", "filter-lang")
    if lang == "cql2-text" and isinstance(value, str):
        refused = filterguard.check_text(value)
    elif isinstance(value, str):
        refused = filterguard.check_json_text(value)
    else:
        refused = filterguard.check_json_value(value)
    if refused:  # checked before any parser sees it: deep nesting crashes the parser
        raise _fail(f"not accepted: {refused}")
    try:
        if lang == "cql2-text":
            if not isinstance(value, str):
                raise _fail("filter-lang is cql2-text but the filter is not a string")
            parsed = cql2.parse_text(value)
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            if isinstance(value, str):
                try:
                    json.loads(value)
                except ValueError as exc:
                    raise _fail(f"not valid JSON for cql2-json ({exc})") from exc
            parsed = cql2.parse_json(text)
        tree = parsed.to_json()
    except (cql2.ParseError, cql2.ValidationError, ValueError, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise _fail(f"not valid {lang}: {reason}") from exc
    return FilterBuilder().expr(tree)


class FilterBuilder:
    """Turn CQL2 JSON into filter expressions, checking properties against the queryables."""

    def __init__(self) -> None:
        self.depth = 0
        self.nodes = 0

    def expr(self, node: Any) -> Expr:
        """Return the expression of one CQL2 JSON node (bounded in depth and size)."""
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH:
            raise _fail(f"nested deeper than {MAX_DEPTH} levels")
        if self.nodes > MAX_NODES:
            raise _fail(f"more than {MAX_NODES} expressions")
        try:
            return self._expr(node)
        finally:
            self.depth -= 1

    def _expr(self, node: Any) -> Expr:
        if node is True:
            return And(())
        if node is False:
            return Or(())
        if not isinstance(node, dict) or "op" not in node:
            raise _fail(f"expected a boolean expression, got {_snippet(node)}")
        op = str(node["op"])
        args = node.get("args", [])
        if not isinstance(args, list):
            raise _fail(f"{op}: 'args' must be a list")
        if op in ("and", "or"):
            if not args:
                raise _fail(f"{op} needs at least one argument")
            parts = tuple(self.expr(a) for a in args)
            return And(parts) if op == "and" else Or(parts)
        if op == "not":
            self._arity(op, args, 1)
            return Not(self.expr(args[0]))
        if op in _COMPARE:
            return self._compare(_COMPARE[op], args)
        if op == "like":
            self._arity(op, args, 2)
            prop = self._property(args[0], ("string",), op)
            if not isinstance(args[1], str):
                raise _fail("like needs a string pattern")
            return Like(prop, args[1])
        if op == "between":
            self._arity(op, args, 3)
            prop = self._property(args[0], ("number", "datetime", "string"), op)
            return Between(prop, self._literal(prop, args[1]), self._literal(prop, args[2]))
        if op == "in":
            self._arity(op, args, 2)
            prop = self._property(args[0], ("number", "datetime", "string", "boolean"), op)
            if not isinstance(args[1], list) or not args[1]:
                raise _fail("in needs a non-empty list of values")
            if len(args[1]) > MAX_NODES:
                raise _fail(f"in takes at most {MAX_NODES} values")
            return In(prop, tuple(self._literal(prop, v) for v in args[1]))
        if op.lower() == "isnull":
            self._arity(op, args, 1)
            return IsNull(self._property(args[0], None, op))
        if op == "s_intersects":
            return self._intersects(args)
        raise _fail(f"unsupported operator {op!r}; supported: {', '.join(SUPPORTED_OPS)}")

    @staticmethod
    def _arity(op: str, args: list[Any], n: int) -> None:
        if len(args) != n:
            raise _fail(f"{op} takes {n} argument(s), got {len(args)}")

    @staticmethod
    def _is_property(node: Any) -> bool:
        return isinstance(node, dict) and set(node) == {"property"}

    def _property(self, node: Any, kinds: tuple[str, ...] | None, op: str) -> str:
        if not self._is_property(node):
            raise _fail(f"{op}: expected a property as first argument, got {_snippet(node)}")
        name = q.normalise(str(node["property"]))
        if name not in q.queryables():
            raise _fail(f"unknown property {name!r}; queryables: {', '.join(q.queryables())}")
        if kinds is not None and q.kind(name) not in kinds:
            raise _fail(f"{op} cannot be applied to {name!r} ({q.kind(name)})")
        return name

    def _compare(self, op: CompareOp, args: list[Any]) -> Expr:
        self._arity(op, args, 2)
        left, right = args
        if not self._is_property(left) and self._is_property(right):
            left, right, op = right, left, _FLIP[op]
        if self._is_property(right):
            raise _fail("comparing two properties is not supported; compare with a value")
        prop = self._property(left, ("number", "datetime", "string", "boolean"), op)
        if right is None:
            raise _fail(f"compare {prop!r} with a value; use IS NULL to test for null")
        return Compare(prop, op, self._literal(prop, right))

    def _literal(self, prop: str, value: Any) -> Scalar:
        found = q.kind(prop)
        if found == "datetime":
            return self._instant(prop, value)
        if found == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _fail(f"{prop!r} is a number; got {_snippet(value)}")
            return int(value) if float(value).is_integer() else float(value)
        if found == "boolean":
            if not isinstance(value, bool):
                raise _fail(f"{prop!r} is a boolean; got {_snippet(value)}")
            return value
        if not isinstance(value, str):
            raise _fail(f"{prop!r} is a string; got {_snippet(value)}")
        return value

    @staticmethod
    def _instant(prop: str, value: Any) -> datetime:
        text: Any = value
        if isinstance(value, dict) and len(value) == 1:
            key, text = next(iter(value.items()))
            if key not in ("timestamp", "date"):
                raise _fail(f"{prop!r} is a date-time; {key} values are not supported")
        if not isinstance(text, str):
            raise _fail(f"{prop!r} is a date-time; got {_snippet(value)}")
        stamp = parse_instant(text, "filter")
        if stamp is None:
            raise _fail(f"{prop!r} needs a date-time, not '..'")
        return stamp.astimezone(UTC)

    def _intersects(self, args: list[Any]) -> Intersects:
        self._arity("s_intersects", args, 2)
        first, second = args
        if not self._is_property(first):
            first, second = second, first
        prop = self._property(first, ("geometry",), "s_intersects")
        del prop
        if isinstance(second, dict) and set(second) == {"bbox"}:
            numbers = second["bbox"]
            if not isinstance(numbers, list) or not all(
                isinstance(n, int | float) and not isinstance(n, bool) for n in numbers
            ):
                raise _fail("BBOX needs 4 (or 6) numbers")
            minx, miny, maxx, maxy = check_bbox([float(n) for n in numbers], "filter")
            return Intersects(
                shapely.to_geojson(box(minx, miny, maxx, maxy)), (minx, miny, maxx, maxy)
            )
        return parse_geometry(second, "filter")
