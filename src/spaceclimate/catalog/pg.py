"""PostgreSQL expressions of the catalog: indexed box and time range of items, footprints.

PostGIS is not required. An item's footprint is its bounding box as the built-in ``box``
type and its time range a ``tstzrange``; one GiST index over both (migration
``0002``) serves bbox, datetime and ``S_INTERSECTS`` searches. The expressions below must
stay textually identical to the indexed ones, or the planner cannot use the index (the
backend conformance suite checks the plans).

``S_INTERSECTS`` is exact against the item's bounding box, using the built-in geometric
operators on the query geometry taken apart in Python: polygon overlap (``&&``), polygon
containment (``@>``) and path crossing (``?#``). Every item the hub builds has its bounding
box as geometry (:func:`spaceclimate.catalog.stac.build_item`), so for them the test is the
exact footprint test; an item published with another footprint is tested by its bbox.
PostgreSQL's geometric operators treat points closer than 1e-6 degrees as equal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
)
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    DateTime,
    Float,
    Table,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    true,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import UserDefinedType

from spaceclimate.errors import InputError

#: Name of the IMMUTABLE function turning the catalog's ISO 8601 UTC text into timestamptz.
UTC_FUNCTION = "sco_utc"


class _Geometric(UserDefinedType[str]):
    """A built-in geometric type (``polygon``, ``path``), given as its text form."""

    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **_kw: Any) -> str:
        return self.name


POLYGON = _Geometric("polygon")
PATH = _Geometric("path")


def _point(x: float, y: float) -> ColumnElement[Any]:
    return func.point(literal(float(x), Float), literal(float(y), Float))


def box_of(bounds: tuple[float, float, float, float]) -> ColumnElement[Any]:
    """Return the ``box`` of query bounds ``(minx, miny, maxx, maxy)``."""
    minx, miny, maxx, maxy = bounds
    return func.box(_point(minx, miny), _point(maxx, maxy))


def item_box(items: Table) -> ColumnElement[Any]:
    """Return the indexed ``box`` of an item's bounding box."""
    c = items.c
    return func.box(func.point(c.minx, c.miny), func.point(c.maxx, c.maxy))


def item_period(items: Table) -> ColumnElement[Any]:
    """Return the indexed ``tstzrange`` of an item's time range (closed; open end if none)."""
    c = items.c
    utc = getattr(func, UTC_FUNCTION)
    return func.tstzrange(utc(c.start), utc(c.end), "[]")


def bbox_condition(items: Table, bounds: tuple[float, float, float, float]) -> ColumnElement[bool]:
    """Items whose bounding box intersects *bounds* (GiST-indexed)."""
    return item_box(items).op("&&")(box_of(bounds)).self_group()


def period_condition(
    items: Table, start: datetime | None, end: datetime | None
) -> ColumnElement[bool]:
    """Items whose time range meets ``[start, end]`` (either may be open; GiST-indexed)."""
    stamp = DateTime(timezone=True)
    low, high = cast(literal(start, stamp), stamp), cast(literal(end, stamp), stamp)
    query = func.tstzrange(low, high, "[]")
    return item_period(items).op("&&")(query).self_group()


# -- S_INTERSECTS -------------------------------------------------------------------------------
def _points_text(coords: Any) -> str:
    return ",".join(f"({float(x)!r},{float(y)!r})" for x, y, *_ in coords)


def _polygon(coords: Any) -> ColumnElement[Any]:
    return cast(literal(f"({_points_text(coords)})"), POLYGON)


def _path(coords: Any, closed: bool) -> ColumnElement[Any]:
    text = _points_text(coords)
    return cast(literal(f"({text})" if closed else f"[{text}]"), PATH)


def _meets(footprint: ColumnElement[Any], geometry: BaseGeometry) -> ColumnElement[bool]:
    """SQL test: the polygon *footprint* and the query *geometry* have a point in common."""
    if geometry.is_empty:
        return false()
    if isinstance(geometry, ShapelyPoint):
        return footprint.op("@>")(_point(geometry.x, geometry.y)).self_group()
    if isinstance(geometry, LineString):
        coords = list(geometry.coords)
        if len(coords) < 2:
            return _meets(footprint, ShapelyPoint(coords[0]))
        crosses = func.path(footprint).op("?#")(_path(coords, closed=False))
        inside = footprint.op("@>")(_point(*coords[0][:2]))
        return or_(crosses.self_group(), inside.self_group())
    if isinstance(geometry, ShapelyPolygon):
        overlaps = footprint.op("&&")(_polygon(geometry.exterior.coords)).self_group()
        holes = []
        for ring in geometry.interiors:
            inside_hole = _polygon(ring.coords).op("@>")(footprint).self_group()
            touches_hole = func.path(footprint).op("?#")(_path(ring.coords, closed=True))
            holes.append(not_(and_(inside_hole, not_(touches_hole.self_group()))))
        return and_(overlaps, *holes)
    if isinstance(geometry, MultiPoint | MultiLineString | MultiPolygon | GeometryCollection):
        return or_(false(), *(_meets(footprint, part) for part in geometry.geoms))
    raise InputError(f"parameter 'filter': unsupported geometry type {geometry.geom_type}")


def intersects_condition(
    items: Table, geojson: str, bounds: tuple[float, float, float, float]
) -> ColumnElement[bool]:
    """Items whose footprint (bounding box) intersects the GeoJSON geometry *geojson*."""
    try:
        geometry = shapely.from_geojson(geojson)
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise InputError(f"parameter 'filter': unreadable geometry ({exc})") from exc
    if geometry.is_empty:
        return false()
    footprint = func.polygon(item_box(items))
    return and_(true(), bbox_condition(items, bounds), _meets(footprint, geometry))


def json_typed(element: ColumnElement[Any], kind: str) -> ColumnElement[Any]:
    """Return a JSON property as a number or boolean, NULL when it holds another type.

    A plain cast would raise on a value of another type (PostgreSQL checks casts strictly).
    """
    json_kind = "number" if kind == "number" else "boolean"
    typed = element.as_float() if kind == "number" else element.as_boolean()
    return case((func.json_typeof(element) == json_kind, typed), else_=None)
