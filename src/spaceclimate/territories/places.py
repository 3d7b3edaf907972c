"""What a territory is: a GeoJSON polygon, a point with a radius, or a bundled named region.

A territory is given as a GeoJSON Feature; its ``properties`` carry its ``name`` (required),
an optional ``description`` and ``published`` flag, and, by kind:

* **polygon**: a ``Polygon`` or ``MultiPolygon`` geometry in longitude/latitude degrees;
* **circle**: a ``Point`` geometry with ``radius_km`` (0 < radius <= 2000): the geodesic
  circle around it on the WGS 84 ellipsoid, as a 72-vertex polygon;
* **region**: no geometry (``null``) and ``region`` naming a bundled region as the analytics
  do (``country:FRA``, ``France``, ``ar6:NAO``; see :mod:`spaceclimate.compute.regions`).

Every kind resolves to one (multi)polygon, which the dossier, match-ups and indicators use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from spaceclimate.compute.regions import lookup_region, parse_geometry
from spaceclimate.errors import InputError, NotFoundError

TerritoryKind = Literal["polygon", "circle", "region"]
#: Largest radius of a circle territory (km).
MAX_RADIUS_KM = 2000.0
#: Vertices of a circle territory's polygon.
CIRCLE_VERTICES = 72
#: Most vertices a territory polygon may have (a larger one is refused, not simplified).
MAX_VERTICES = 100_000
#: Longest name and description.
MAX_NAME = 200
MAX_DESCRIPTION = 4000
_WGS84 = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Place:
    """A territory as given, resolved to a polygon (before it has an id and an owner)."""

    name: str
    kind: TerritoryKind
    geometry: BaseGeometry
    definition: dict[str, Any]
    description: str = ""
    published: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """West, south, east, north of the polygon."""
        west, south, east, north = self.geometry.bounds
        return (float(west), float(south), float(east), float(north))


def circle(lon: float, lat: float, radius_km: float) -> BaseGeometry:
    """Return the geodesic circle of *radius_km* around (lon, lat) as a lon/lat polygon.

    A circle that crosses the antimeridian keeps continuous longitudes (up to 360 east).
    """
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-90 <= lat <= 90):
        raise InputError("geometry: the point's latitude must lie in -90..90")
    if not -180 <= lon <= 180:
        raise InputError("geometry: the point's longitude must lie in -180..180")
    if not (math.isfinite(radius_km) and 0 < radius_km <= MAX_RADIUS_KM):
        raise InputError(f"radius_km: must be a number in (0, {MAX_RADIUS_KM:g}]")
    azimuths = np.linspace(0.0, 360.0, CIRCLE_VERTICES, endpoint=False)
    lons, lats, _ = _WGS84.fwd(
        np.full(CIRCLE_VERTICES, lon),
        np.full(CIRCLE_VERTICES, lat),
        azimuths,
        np.full(CIRCLE_VERTICES, radius_km * 1000.0),
    )
    lons = np.asarray(lons, dtype="float64")
    lats = np.clip(np.asarray(lats, dtype="float64"), -90.0, 90.0)
    # unwrap longitudes around the centre so a circle across the antimeridian stays whole
    lons = lon + (lons - lon + 180.0) % 360.0 - 180.0
    if lons.min() < -180.0:
        lons = lons + 360.0
    return shapely.Polygon(np.column_stack([lons, lats]))


def _text(props: Mapping[str, Any], key: str, limit: int, required: bool = False) -> str:
    value = props.get(key)
    if value is None:
        if required:
            raise InputError(f"properties.{key}: a territory needs a {key}")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError(f"properties.{key}: must be a non-empty text")
    if len(value) > limit:
        raise InputError(f"properties.{key}: longer than {limit} characters")
    return value.strip()


def _vertices(geom: BaseGeometry) -> int:
    return int(shapely.get_num_coordinates(geom))


def parse_place(feature: Any) -> Place:
    """Read a territory from a GeoJSON Feature (see the module docstring).

    Raises
    ------
    InputError
        Naming the member that is wrong: not a Feature, no name, a geometry that is not a
        polygon or a point, a radius out of range, an unknown region.
    """
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise InputError("a territory is a GeoJSON Feature ({'type': 'Feature', ...})")
    props = feature.get("properties") or {}
    if not isinstance(props, Mapping):
        raise InputError("properties: must be an object")
    name = _text(props, "name", MAX_NAME, required=True)
    description = _text(props, "description", MAX_DESCRIPTION)
    published = props.get("published", False)
    if not isinstance(published, bool):
        raise InputError("properties.published: must be true or false")
    geometry = feature.get("geometry")
    region = props.get("region")
    definition = {"type": "Feature", "geometry": geometry, "properties": dict(props)}
    extra: dict[str, Any] = {}
    if geometry is None:
        if not isinstance(region, str) or not region.strip():
            raise InputError(
                "geometry: give a Polygon, a Point with properties.radius_km, or no geometry "
                "and properties.region (e.g. 'country:FRA', 'ar6:NAO')"
            )
        try:
            label, regions = lookup_region(region.strip())
        except NotFoundError as exc:  # a name in the request body: the request is wrong
            raise InputError(f"properties.{exc.message}") from None
        geom = shapely.union_all(list(regions.polygons))
        extra["region"] = label
        kind: TerritoryKind = "region"
    elif isinstance(geometry, Mapping) and geometry.get("type") == "Point":
        coords = geometry.get("coordinates")
        radius = props.get("radius_km")
        if not isinstance(radius, int | float) or isinstance(radius, bool):
            raise InputError("properties.radius_km: a Point territory needs a radius in km")
        try:
            lon, lat = (float(v) for v in coords[:2])  # type: ignore[index]
        except (TypeError, ValueError) as exc:
            raise InputError("geometry: a Point needs [longitude, latitude]") from exc
        geom = circle(lon, lat, float(radius))
        extra["centre"] = [lon, lat]
        extra["radius_km"] = float(radius)
        kind = "circle"
    else:
        if region is not None:
            raise InputError("properties.region: give a region or a geometry, not both")
        geom = parse_geometry(geometry if isinstance(geometry, Mapping) else {})
        kind = "polygon"
    if _vertices(geom) > MAX_VERTICES:
        raise InputError(f"geometry: more than {MAX_VERTICES} vertices; simplify it first")
    return Place(name, kind, geom, definition, description, published, extra)


def slug(name: str) -> str:
    """A URL-safe, lower-case form of *name* (at most 40 characters)."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:40].strip("-") or "territory"


def geometry_json(geom: BaseGeometry) -> dict[str, Any]:
    """The GeoJSON geometry of *geom* (plain lists)."""
    return dict(_lists(mapping(geom)))


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value
