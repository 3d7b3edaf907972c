"""The spatial grid of a harmonised dataset: its kind, its dims and its CRS.

Harmonised cubes have one of three layouts (see :mod:`spaceclimate.harmonise.grid`):

* ``latlon``: dims ``lat`` (ascending) and ``lon`` (ascending, in [-180, 180));
* ``projected``: dims ``y``/``x`` in metres and a ``crs`` grid-mapping variable with
  ``crs_wkt`` (the NSIDC polar stereographic sea-ice grids, the MODIS sinusoidal tiles);
* ``none``: gridless series.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import xarray as xr
from pyproj import CRS
from pyproj.exceptions import CRSError

from spaceclimate.errors import InputError

GridKind = Literal["latlon", "projected", "none"]


def grid_kind(obj: xr.Dataset | xr.DataArray) -> GridKind:
    """Return the kind of spatial grid of a harmonised dataset or variable."""
    if "lat" in obj.dims and "lon" in obj.dims:
        return "latlon"
    if "x" in obj.dims and "y" in obj.dims:
        return "projected"
    return "none"


def spatial_dims(obj: xr.Dataset | xr.DataArray, parameter: str = "data") -> tuple[str, str]:
    """Return the (row, column) dims of a gridded dataset; InputError for gridless ones."""
    kind = grid_kind(obj)
    if kind == "latlon":
        return ("lat", "lon")
    if kind == "projected":
        return ("y", "x")
    name = obj.attrs.get("id") or getattr(obj, "name", None) or parameter
    raise InputError(f"{parameter}: {name!s} has no spatial grid (needs lat/lon or y/x)")


def grid_crs(obj: xr.Dataset | xr.DataArray) -> CRS:
    """Return the CRS of a grid: EPSG:4326 for lat/lon, the ``crs`` variable's for projected."""
    if grid_kind(obj) != "projected":
        return CRS.from_epsg(4326)
    if "crs" not in obj.coords and not (isinstance(obj, xr.Dataset) and "crs" in obj.variables):
        raise InputError("data: projected grid without a 'crs' grid-mapping variable")
    attrs = obj["crs"].attrs
    wkt = attrs.get("crs_wkt") or attrs.get("spatial_ref")
    if not wkt:
        raise InputError("data: the 'crs' variable has no crs_wkt")
    return crs_from_wkt(str(wkt))


@lru_cache(maxsize=32)
def crs_from_wkt(wkt: str) -> CRS:
    """Parse (and cache) a CRS from WKT; InputError when it is unusable."""
    try:
        return CRS.from_wkt(wkt)
    except CRSError as exc:
        raise InputError(f"data: unusable crs_wkt ({exc})") from exc
