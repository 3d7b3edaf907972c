"""Parsing of the EDR query parameters: ``coords`` (WKT), ``z``, ``crs`` and the output format.

Every parser raises :class:`~spaceclimate.errors.InputError` (400) naming the parameter.
"""

from __future__ import annotations

import math

import shapely
import shapely.wkt
from shapely.geometry.base import BaseGeometry

from spaceclimate.errors import InputError

#: Output formats by the lower-case names ``f`` accepts.
FORMAT_NAMES = {
    "coveragejson": "coveragejson",
    "covjson": "coveragejson",
    "json": "coveragejson",
    "csv": "csv",
    "netcdf": "netcdf",
    "nc": "netcdf",
}
#: Output formats by media type, for content negotiation (``Accept``).
FORMAT_MEDIA = {
    "application/prs.coverage+json": "coveragejson",
    "application/vnd.cov+json": "coveragejson",
    "application/json": "coveragejson",
    "text/csv": "csv",
    "application/x-netcdf": "netcdf",
    "application/netcdf": "netcdf",
    "application/x-netcdf4": "netcdf",
}
CRS84_NAMES = {
    "crs84",
    "ogc:crs84",
    "epsg:4326",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "http://www.opengis.net/def/crs/epsg/0/4326",
}
MAX_Z_LEVELS = 1000


def output_format(f: str | None, accept: str | None) -> str:
    """Return ``coveragejson``, ``csv`` or ``netcdf`` from ``f`` or else the Accept header."""
    if f:
        key = f.strip().lower()
        if key not in FORMAT_NAMES:
            raise InputError(
                f"parameter 'f': unknown format {f[:40]!r}; use CoverageJSON, CSV or NetCDF"
            )
        return FORMAT_NAMES[key]
    best, best_q = "coveragejson", 0.0
    for part in (accept or "").split(","):
        fields = [p.strip() for p in part.split(";")]
        media = fields[0].lower()
        q = 1.0
        for field in fields[1:]:
            if field.startswith("q="):
                try:
                    q = float(field[2:])
                except ValueError:
                    q = 0.0
        if media in FORMAT_MEDIA and q > best_q:
            best, best_q = FORMAT_MEDIA[media], q
    return best


def _geometry(text: str | None, name: str) -> BaseGeometry:
    if text is None or not text.strip():
        raise InputError(f"parameter {name!r} is required (a WKT geometry)")
    try:
        geometry = shapely.wkt.loads(text.strip())
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for bad WKT
        raise InputError(f"parameter {name!r}: not well-formed WKT: {text[:80]!r}") from exc
    if geometry is None or geometry.is_empty:
        raise InputError(f"parameter {name!r}: empty geometry")
    coords = shapely.get_coordinates(geometry)
    if not all(math.isfinite(float(v)) for v in coords.ravel()):
        raise InputError(f"parameter {name!r}: coordinates must be finite numbers")
    return geometry


def parse_point(text: str | None, name: str = "coords") -> tuple[float, float]:
    """Parse ``POINT(lon lat)`` (a third coordinate is ignored) into ``(lon, lat)``."""
    geometry = _geometry(text, name)
    if geometry.geom_type != "Point":
        raise InputError(
            f"parameter {name!r}: a position query takes POINT(lon lat), "
            f"not {geometry.geom_type.upper()}"
        )
    lon, lat = float(geometry.x), float(geometry.y)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(f"parameter {name!r}: expected lon in -180..180 and lat in -90..90")
    return lon, lat


def parse_polygon(text: str | None, name: str = "coords") -> BaseGeometry:
    """Parse a ``POLYGON`` or ``MULTIPOLYGON`` in lon/lat."""
    geometry = _geometry(text, name)
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(
            f"parameter {name!r}: an area query takes POLYGON or MULTIPOLYGON, "
            f"not {geometry.geom_type.upper()}"
        )
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise InputError(f"parameter {name!r}: invalid polygon ({reason})")
    return geometry


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise InputError(f"parameter {name!r}: not a number: {text[:40]!r}") from exc
    if not math.isfinite(value):
        raise InputError(f"parameter {name!r}: numbers must be finite")
    return value


def parse_z(
    text: str | None, name: str = "z"
) -> tuple[list[float] | None, tuple[float, float] | None]:
    """Parse ``z``: a level, a list ``a,b,c``, an interval ``lo/hi`` or ``Rn/start/step``.

    Returns ``(levels, between)``; both None when *text* is empty.
    """
    if text is None or not text.strip():
        return None, None
    text = text.strip()
    if text[0] in "Rr":
        parts = text[1:].split("/")
        if len(parts) != 3:
            raise InputError(f"parameter {name!r}: expected Rcount/start/step")
        count = _number(parts[0], name)
        if count != int(count) or not 1 <= count <= MAX_Z_LEVELS:
            raise InputError(f"parameter {name!r}: count must be an integer 1..{MAX_Z_LEVELS}")
        start, step = _number(parts[1], name), _number(parts[2], name)
        return [start + i * step for i in range(int(count))], None
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 2:
            raise InputError(f"parameter {name!r}: expected an interval lo/hi")
        return None, (_number(parts[0], name), _number(parts[1], name))
    levels = [_number(p, name) for p in text.split(",") if p.strip()]
    if not levels or len(levels) > MAX_Z_LEVELS:
        raise InputError(f"parameter {name!r}: expected 1..{MAX_Z_LEVELS} levels")
    return levels, None


def check_crs(text: str | None, name: str = "crs") -> None:
    """Accept only CRS84 (lon/lat WGS 84) for query coordinates."""
    if text is None or not text.strip():
        return
    if text.strip().lower() not in CRS84_NAMES:
        raise InputError(f"parameter {name!r}: only CRS84 (lon/lat) is supported")
