"""Translate filter expressions and sort keys (:mod:`~spaceclimate.catalog.filters`) to SQL.

Item properties map to indexed columns where the catalog has them (``id``, ``collection``,
the time range) and otherwise to the item document's ``properties`` through SQLAlchemy's
JSON index operators (``json_extract`` on SQLite, ``#>>`` on PostgreSQL), cast by the type
of the literal they are compared with. Two things differ by dialect and nothing else:

- ``LIKE`` is case-sensitive in CQL2; SQLite's ``LIKE`` is not, so SQLite uses ``GLOB``.
- Geometry intersection: SQLite has no spatial functions, so the backend registers
  ``sco_intersects(item_geometry_json, query_geometry_json)`` (shapely) on each connection,
  after a bounding-box test on the bbox columns; PostgreSQL (without PostGIS) tests the
  query geometry against the item's GiST-indexed bounding box with the built-in geometric
  operators (:func:`spaceclimate.catalog.pg.intersects_condition`).

On PostgreSQL a JSON property compared as a number or boolean is NULL when it holds a value
of another type (a plain cast would fail the whole query).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Table, and_, false, func, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from spaceclimate.catalog import pg
from spaceclimate.catalog.filters import (
    And,
    Between,
    Compare,
    Expr,
    In,
    Intersects,
    IsNull,
    Like,
    Not,
    Or,
    Scalar,
    SortKey,
)

#: Item properties held in columns of the items table.
_COLUMNS = {
    "id": "item_id",
    "collection": "collection_id",
    "datetime": "start",
    "start_datetime": "start",
    "end_datetime": "end",
}
_TIME_COLUMNS = {"start", "end"}


def iso_utc(value: datetime) -> str:
    """Format an instant as the catalog stores it: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _literal(value: Scalar) -> Any:
    return iso_utc(value) if isinstance(value, datetime) else value


def cql2_like_to_glob(pattern: str) -> str:
    """Translate a CQL2 LIKE pattern (``%``, ``_``, ``\\`` escape) to a SQLite GLOB pattern."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            ch = next(chars, "\\")
            out.append(f"[{ch}]" if ch in "*?[" else ch)
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


class SQLFilterTranslator:
    """Build SQLAlchemy conditions and orderings over the items table.

    Parameters
    ----------
    items
        The items table (:data:`spaceclimate.db.schema.items`).
    is_sqlite
        Whether the engine is SQLite (GLOB and the ``sco_intersects`` function).
    """

    def __init__(self, items: Table, is_sqlite: bool) -> None:
        self.items = items
        self.is_sqlite = is_sqlite

    # -- properties -------------------------------------------------------------------------
    def _column(self, prop: str) -> ColumnElement[Any] | None:
        name = _COLUMNS.get(prop)
        return None if name is None else self.items.c[name]

    def _json(self, prop: str, kind: str) -> ColumnElement[Any]:
        element = self.items.c.doc[("properties", prop)]
        if not self.is_sqlite and kind in ("boolean", "number"):
            return pg.json_typed(element, kind)
        if kind == "boolean":
            return element.as_boolean()
        if kind == "number":
            return element.as_float()
        return element.as_string()

    def operand(self, prop: str, sample: Scalar | None) -> ColumnElement[Any]:
        """Return the SQL expression of *prop*, typed like the literal *sample*."""
        column = self._column(prop)
        if column is not None:
            return column
        if isinstance(sample, bool):
            return self._json(prop, "boolean")
        if isinstance(sample, int | float):
            return self._json(prop, "number")
        return self._json(prop, "string")

    # -- expressions ------------------------------------------------------------------------
    def where(self, expr: Expr) -> ColumnElement[bool]:
        """Return the SQL condition of *expr*."""
        if isinstance(expr, And):
            return and_(true(), *(self.where(a) for a in expr.args))
        if isinstance(expr, Or):
            return or_(false(), *(self.where(a) for a in expr.args))
        if isinstance(expr, Not):
            return not_(self.where(expr.arg))
        if isinstance(expr, Compare):
            col, value = self.operand(expr.prop, expr.value), _literal(expr.value)
            return {
                "=": lambda: col == value,
                "<>": lambda: col != value,
                "<": lambda: col < value,
                "<=": lambda: col <= value,
                ">": lambda: col > value,
                ">=": lambda: col >= value,
            }[expr.op]()
        if isinstance(expr, Between):
            col = self.operand(expr.prop, expr.low)
            return and_(col >= _literal(expr.low), col <= _literal(expr.high))
        if isinstance(expr, In):
            col = self.operand(expr.prop, expr.values[0] if expr.values else None)
            return col.in_([_literal(v) for v in expr.values])
        if isinstance(expr, IsNull):
            return self.operand(expr.prop, None).is_(None)
        if isinstance(expr, Like):
            col = self.operand(expr.prop, expr.pattern)
            if self.is_sqlite:
                return col.op("GLOB")(cql2_like_to_glob(expr.pattern))
            return col.like(expr.pattern, escape="\\")
        if isinstance(expr, Intersects):
            return self._intersects(expr)
        raise TypeError(f"not a filter expression: {expr!r}")

    def _intersects(self, expr: Intersects) -> ColumnElement[bool]:
        if not self.is_sqlite:
            return pg.intersects_condition(self.items, expr.geojson, expr.bounds)
        c = self.items.c
        minx, miny, maxx, maxy = expr.bounds
        box = and_(c.minx <= maxx, c.maxx >= minx, c.miny <= maxy, c.maxy >= miny)
        exact = func.sco_intersects(c.doc["geometry"], expr.geojson) == 1
        return and_(box, exact)

    # -- sorting ----------------------------------------------------------------------------
    def order_by(self, keys: tuple[SortKey, ...]) -> list[Any]:
        """Return ORDER BY terms for *keys* (nulls last in both directions)."""
        terms: list[Any] = []
        for key in keys:
            column = self._column(key.prop)
            if column is None:
                kind = "string" if key.kind == "datetime" else key.kind
                column = self._json(key.prop, kind)
            term = column.desc() if key.descending else column.asc()
            terms.append(term.nulls_last())
        return terms


@lru_cache(maxsize=4096)
def _shape(geojson: str) -> BaseGeometry:
    geometry = shapely.from_geojson(geojson)
    shapely.prepare(geometry)
    return geometry


def sqlite_intersects(item_geojson: str | None, query_geojson: str | None) -> int:
    """SQLite function ``sco_intersects``: 1 when two GeoJSON geometries intersect, else 0."""
    if not item_geojson or not query_geojson:
        return 0
    try:
        return int(_shape(item_geojson).intersects(_shape(query_geojson)))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return 0


def register_sqlite_functions(dbapi_conn: Any, _record: Any) -> None:
    """Connection hook: register the catalog's SQL functions on a new SQLite connection."""
    dbapi_conn.create_function("sco_intersects", 2, sqlite_intersects, deterministic=True)
