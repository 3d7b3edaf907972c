"""True cell areas of the hub's grids, the weights of every area mean.

Regular latitude/longitude grids
    The area of the cell between latitudes φ1 < φ2 and longitudes λ1 < λ2 on a sphere of radius
    R is exactly ``R² (λ2 − λ1) (sin φ2 − sin φ1)`` (angles in radians), computed from the cell
    bounds (``lat_bnds``/``lon_bnds``, or half-way between centres). On a regular grid with the
    centre half-way between its bounds, ``sin φ2 − sin φ1 = 2 sin(Δφ/2) cos φ`` exactly, so
    normalised cos-latitude weights agree with true areas to rounding (1e-12 on OSTIA's grid).

Projected grids (the NSIDC 25 km polar stereographic sea-ice grids)
    Every cell is a 25 km × 25 km square *on the map*; on the ellipsoid of the projection it is
    larger or smaller by the projection's areal scale factor ``h·k`` at that place. The default
    method, ``scale_factor``, divides the map area of each cell by the areal scale at its centre
    (:meth:`pyproj.Proj.get_factors`). The method ``geodesic`` instead transforms the four cell
    corners to geographic coordinates and takes the area of that geodesic quadrilateral on the
    ellipsoid (:meth:`pyproj.Geod.polygon_area_perimeter`). For 25 km cells the two agree to
    better than 1e-5 (relative; see the tests), the scale-factor method is vectorised and is
    the one used by the sea-ice and regional-mean operations.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr
from pyproj import CRS, Proj, Transformer

from spaceclimate.compute.grids import GridKind, grid_crs, grid_kind, spatial_dims
from spaceclimate.errors import GridError, InputError
from spaceclimate.harmonise.grid import cell_bounds

__all__ = ["GridKind", "cell_area", "grid_crs", "grid_kind", "spatial_dims"]
AreaMethod = Literal["scale_factor", "geodesic"]

#: IUGG mean Earth radius R1 (m), the sphere of the lat/lon cell areas.
EARTH_RADIUS_M = 6_371_008.8


def axis_bounds(obj: xr.Dataset | xr.DataArray, dim: str) -> np.ndarray:
    """Return ``(n, 2)`` cell bounds (low, high) of the 1-D coordinate *dim*.

    Taken from ``<dim>_bnds`` when *obj* carries it, else half-way between the centres.
    Latitude bounds are clipped to ±90°.
    """
    name = f"{dim}_bnds"
    if name in obj.coords or (isinstance(obj, xr.Dataset) and name in obj.variables):
        bounds = np.asarray(obj[name].values, dtype="float64")
    else:
        centres = np.asarray(obj[dim].values, dtype="float64")
        if centres.size > 1 and centres[1] < centres[0]:
            bounds = cell_bounds(centres[::-1])[::-1]
        else:
            bounds = cell_bounds(centres)
    bounds = np.sort(bounds, axis=1)
    if dim == "lat":
        bounds = np.clip(bounds, -90.0, 90.0)
    if bounds.shape != (obj.sizes[dim], 2):
        raise GridError(f"data: bounds of {dim!r} do not match the coordinate")
    return bounds


def latlon_cell_area(
    obj: xr.Dataset | xr.DataArray, radius: float = EARTH_RADIUS_M
) -> xr.DataArray:
    """Return the spherical area (m²) of every cell of a regular lat/lon grid, dims (lat, lon)."""
    lat_b = np.deg2rad(axis_bounds(obj, "lat"))
    lon_b = np.deg2rad(axis_bounds(obj, "lon"))
    band = np.sin(lat_b[:, 1]) - np.sin(lat_b[:, 0])
    width = lon_b[:, 1] - lon_b[:, 0]
    area = radius**2 * np.outer(band, width)
    return xr.DataArray(
        area,
        dims=("lat", "lon"),
        coords={"lat": obj["lat"].values, "lon": obj["lon"].values},
        name="cell_area",
        attrs={
            "standard_name": "cell_area",
            "long_name": "Area of the grid cell on a sphere",
            "units": "m2",
            "comment": f"R^2 dlon (sin lat2 - sin lat1) from cell bounds, R = {radius} m",
        },
    )


def coslat_weights(obj: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """Return cos(latitude) of the cell centres, dims (lat): relative weights of a regular grid."""
    lat = np.asarray(obj["lat"].values, dtype="float64")
    return xr.DataArray(
        np.cos(np.deg2rad(lat)),
        dims=("lat",),
        coords={"lat": lat},
        name="coslat",
        attrs={"long_name": "cosine of latitude", "units": "1"},
    )


def _projected_centres(obj: xr.Dataset | xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(obj["x"].values, dtype="float64")
    y = np.asarray(obj["y"].values, dtype="float64")
    return np.meshgrid(x, y)


def projected_cell_area(
    obj: xr.Dataset | xr.DataArray, method: AreaMethod = "scale_factor"
) -> xr.DataArray:
    """Return the true area (m²) on the projection's ellipsoid of every cell, dims (y, x).

    Parameters
    ----------
    obj
        A harmonised projected dataset or variable (dims ``y``/``x`` in metres, ``crs``).
    method
        ``scale_factor`` (map area divided by the areal scale factor at the cell centre) or
        ``geodesic`` (geodesic area of the cell's four corners); see the module docstring.
    """
    crs = grid_crs(obj)
    x_b, y_b = axis_bounds(obj, "x"), axis_bounds(obj, "y")
    to_geo = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    if method == "scale_factor":
        map_area = np.outer(y_b[:, 1] - y_b[:, 0], x_b[:, 1] - x_b[:, 0])
        xx, yy = _projected_centres(obj)
        with np.errstate(all="ignore"):
            lon, lat = to_geo.transform(xx, yy)
            factors = Proj(crs).get_factors(lon, lat)
            area = map_area / np.asarray(factors.areal_scale, dtype="float64")
        comment = "map cell area divided by the areal scale factor of the projection at the centre"
    elif method == "geodesic":
        area = _geodesic_areas(crs, to_geo, x_b, y_b)
        comment = "geodesic area on the ellipsoid of the quadrilateral of the cell's corners"
    else:
        raise InputError(f"method: must be 'scale_factor' or 'geodesic', not {method!r}")
    area = np.where(np.isfinite(area) & (area > 0), area, np.nan)
    ellipsoid = crs.ellipsoid.name if crs.ellipsoid is not None else "projection's"
    return xr.DataArray(
        area,
        dims=("y", "x"),
        coords={"y": obj["y"].values, "x": obj["x"].values},
        name="cell_area",
        attrs={
            "standard_name": "cell_area",
            "long_name": f"Area of the grid cell on the {ellipsoid} ellipsoid",
            "units": "m2",
            "comment": comment,
        },
    )


def _geodesic_areas(crs: CRS, to_geo: Transformer, x_b: np.ndarray, y_b: np.ndarray) -> np.ndarray:
    geod = crs.get_geod()
    if geod is None:
        raise InputError("data: the grid's CRS has no ellipsoid")
    xe = np.concatenate([x_b[:, 0], x_b[-1:, 1]])
    ye = np.concatenate([y_b[:, 0], y_b[-1:, 1]])
    xx, yy = np.meshgrid(xe, ye)
    with np.errstate(all="ignore"):
        lon, lat = to_geo.transform(xx, yy)
    area = np.full((y_b.shape[0], x_b.shape[0]), np.nan)
    for j in range(area.shape[0]):
        for i in range(area.shape[1]):
            lons = [lon[j, i], lon[j, i + 1], lon[j + 1, i + 1], lon[j + 1, i]]
            lats = [lat[j, i], lat[j, i + 1], lat[j + 1, i + 1], lat[j + 1, i]]
            if np.all(np.isfinite(lons)) and np.all(np.isfinite(lats)):
                area[j, i] = abs(geod.polygon_area_perimeter(lons, lats)[0])
    return area


def cell_area(obj: xr.Dataset | xr.DataArray, method: AreaMethod = "scale_factor") -> xr.DataArray:
    """Return the true area (m²) of every cell of a regular or projected grid.

    *method* applies to projected grids only (see :func:`projected_cell_area`).
    """
    kind = grid_kind(obj)
    if kind == "latlon":
        return latlon_cell_area(obj)
    if kind == "projected":
        return projected_cell_area(obj, method)
    raise InputError("data: no spatial grid (needs lat/lon or y/x dimensions)")
