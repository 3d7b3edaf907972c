"""Spatial grids: lon in [-180, 180), lat ascending, cell bounds, projected CRS and 2-D lat/lon."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from spaceclimate.ecv.models import GridSpec
from spaceclimate.errors import GridError, InputError


def _check_monotonic(values: np.ndarray, name: str, file: str) -> None:
    if values.ndim != 1:
        raise GridError(f"{file}: coordinate {name!r} is not 1-D")
    if values.size > 1:
        diffs = np.diff(values.astype("float64"))
        if not (np.all(diffs > 0) or np.all(diffs < 0)):
            raise GridError(f"{file}: coordinate {name!r} is not strictly monotonic")
    if not np.all(np.isfinite(values)):
        raise GridError(f"{file}: coordinate {name!r} has missing values")


def cell_bounds(centres: np.ndarray) -> np.ndarray:
    """Return ``(n, 2)`` bounds of cells from ascending 1-D centres (edges half a step out)."""
    c = centres.astype("float64")
    if c.size == 1:
        return np.array([[c[0] - 0.5, c[0] + 0.5]])
    mid = (c[:-1] + c[1:]) / 2
    edges = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
    return np.stack([edges[:-1], edges[1:]], axis=1)


def source_dims(raw: xr.Dataset, grid: GridSpec, file: str) -> dict[str, str]:
    """Return ``{source dimension: canonical name}`` for the spatial dims of *grid*."""
    pairs = [(grid.lat, "lat"), (grid.lon, "lon")] if grid.type == "latlon" else []
    if grid.type == "projected":
        pairs = [(grid.y, "y"), (grid.x, "x")]
    mapping: dict[str, str] = {}
    for source, canonical in pairs:
        assert source is not None
        if source not in raw.variables:
            raise InputError(f"{file}: coordinate {source!r} not found")
        coord = raw[source]
        if coord.ndim != 1:
            raise GridError(f"{file}: coordinate {source!r} is not 1-D")
        mapping[str(coord.dims[0])] = canonical
    return mapping


def sort_plan(values: np.ndarray) -> int | np.ndarray | None:
    """Return how to sort 1-D *values* ascending (stable): None when already sorted, a shift
    when a rotation sorts them (``np.roll(values, -shift)``), else the gather order."""
    order = np.argsort(values, kind="stable")
    if np.array_equal(order, np.arange(order.size)):
        return None
    shift = int(order[0])
    if np.array_equal(order, np.roll(np.arange(order.size), -shift)):
        return shift
    return order


def apply_sort_plan(values: np.ndarray, plan: int | np.ndarray | None, axis: int) -> np.ndarray:
    """Reorder *values* along *axis* following a :func:`sort_plan` (as :func:`sort_axis`)."""
    if plan is None:
        return values
    if isinstance(plan, int):
        return np.roll(values, -plan, axis=axis)
    return np.take(values, plan, axis=axis)


def sort_axis(ds: xr.Dataset, dim: str) -> xr.Dataset:
    """Sort *ds* along *dim* by its coordinate (as ``sortby``), skipping the no-op case.

    A rotation (longitudes 0..360 wrapped to -180..180) is two slices rather than a gather.
    """
    plan = sort_plan(ds[dim].values)
    if plan is None:
        return ds
    if isinstance(plan, int):
        return ds.roll({dim: -plan}, roll_coords=True)
    return ds.isel({dim: plan})


LAT_ATTRS = {
    "standard_name": "latitude",
    "long_name": "latitude",
    "units": "degrees_north",
    "axis": "Y",
    "bounds": "lat_bnds",
}
LON_ATTRS = {
    "standard_name": "longitude",
    "long_name": "longitude",
    "units": "degrees_east",
    "axis": "X",
    "bounds": "lon_bnds",
}


def checked_latlon(
    lat_raw: np.ndarray, lon_raw: np.ndarray, grid: GridSpec, file: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return lat and lon as float64, checked, lon wrapped to [-180, 180) (source order)."""
    assert grid.lat and grid.lon
    lat = np.asarray(lat_raw, dtype="float64")
    lon = np.asarray(lon_raw, dtype="float64")
    _check_monotonic(lat, grid.lat, file)
    _check_monotonic(lon, grid.lon, file)
    if np.any(np.abs(lat) > 90):
        raise GridError(f"{file}: latitude outside -90..90")
    return lat, ((lon + 180.0) % 360.0) - 180.0


def latlon_bounds(lat: np.ndarray, lon: np.ndarray, file: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the cell bounds of sorted lat and lon (refusing longitudes that repeat)."""
    if np.any(np.diff(lon) <= 0):
        raise GridError(f"{file}: longitude repeats after wrapping to -180..180")
    return np.clip(cell_bounds(lat), -90.0, 90.0), cell_bounds(lon)


def normalise_latlon(ds: xr.Dataset, raw: xr.Dataset, grid: GridSpec, file: str) -> xr.Dataset:
    """Attach lat/lon from *raw*, make lon [-180, 180) ascending and lat ascending, add bounds."""
    assert grid.lat and grid.lon
    lat, lon = checked_latlon(raw[grid.lat].values, raw[grid.lon].values, grid, file)
    ds = ds.assign_coords(lat=("lat", lat), lon=("lon", lon))
    ds = sort_axis(sort_axis(ds, "lat"), "lon")
    lat_b, lon_b = latlon_bounds(ds["lat"].values, ds["lon"].values, file)
    ds = ds.assign_coords(
        lat_bnds=(("lat", "bnds"), lat_b),
        lon_bnds=(("lon", "bnds"), lon_b),
    )
    ds["lat"].attrs = dict(LAT_ATTRS)
    ds["lon"].attrs = dict(LON_ATTRS)
    return ds


def grid_crs(raw: xr.Dataset, grid: GridSpec, file: str) -> CRS:
    """Return the CRS of a projected grid from the recipe or the source's grid mapping."""
    try:
        if grid.crs:
            return CRS.from_user_input(grid.crs)
        assert grid.crs_wkt_from
        if grid.crs_wkt_from not in raw.variables:
            raise InputError(f"{file}: grid mapping variable {grid.crs_wkt_from!r} not found")
        wkt = raw[grid.crs_wkt_from].attrs.get("crs_wkt") or raw[grid.crs_wkt_from].attrs.get(
            "spatial_ref"
        )
        if not wkt:
            raise InputError(f"{file}: {grid.crs_wkt_from!r} has no crs_wkt")
        return CRS.from_wkt(wkt)
    except CRSError as exc:
        raise GridError(f"{file}: unusable CRS ({exc})") from exc


def normalise_projected(ds: xr.Dataset, raw: xr.Dataset, grid: GridSpec, file: str) -> xr.Dataset:
    """Keep the projection: x/y ascending in metres, bounds, a ``crs`` grid mapping, 2-D lat/lon."""
    assert grid.x and grid.y
    x = np.asarray(raw[grid.x].values, dtype="float64")
    y = np.asarray(raw[grid.y].values, dtype="float64")
    _check_monotonic(x, grid.x, file)
    _check_monotonic(y, grid.y, file)
    crs = grid_crs(raw, grid, file)
    ds = ds.assign_coords(x=("x", x), y=("y", y)).sortby(["y", "x"])
    xs, ys = ds["x"].values, ds["y"].values
    to_lonlat = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
    xx, yy = np.meshgrid(xs, ys)
    lon2d, lat2d = to_lonlat.transform(xx, yy)
    bad = ~np.isfinite(lon2d) | ~np.isfinite(lat2d) | (np.abs(lat2d) > 90)
    lon2d = np.where(bad, np.nan, lon2d).astype("float32")
    lat2d = np.where(bad, np.nan, lat2d).astype("float32")
    cf: dict[str, Any] = crs.to_cf()
    cf = {k: v for k, v in cf.items() if v is not None}
    cf["crs_wkt"] = crs.to_wkt()
    ds = ds.assign_coords(
        x_bnds=(("x", "bnds"), cell_bounds(xs)),
        y_bnds=(("y", "bnds"), cell_bounds(ys)),
        lat=(("y", "x"), lat2d),
        lon=(("y", "x"), lon2d),
        crs=((), np.int32(0), cf),
    )
    ds["x"].attrs = {
        "standard_name": "projection_x_coordinate",
        "long_name": "x coordinate of projection",
        "units": "m",
        "axis": "X",
        "bounds": "x_bnds",
    }
    ds["y"].attrs = {
        "standard_name": "projection_y_coordinate",
        "long_name": "y coordinate of projection",
        "units": "m",
        "axis": "Y",
        "bounds": "y_bnds",
    }
    ds["lat"].attrs = {"standard_name": "latitude", "units": "degrees_north"}
    ds["lon"].attrs = {"standard_name": "longitude", "units": "degrees_east"}
    for name in ds.data_vars:
        ds[name].attrs["grid_mapping"] = "crs"
        ds[name].attrs["coordinates"] = "lat lon"
    return ds


def lonlat_bbox(ds: xr.Dataset, grid: GridSpec) -> tuple[float, float, float, float]:
    """Return the lon/lat bounding box of a harmonised dataset."""
    if grid.type == "none":
        assert grid.bbox is not None
        return grid.bbox
    if grid.type == "latlon":
        lon_b, lat_b = ds["lon_bnds"].values, ds["lat_bnds"].values
        return (
            float(max(lon_b.min(), -180.0)),
            float(lat_b.min()),
            float(min(lon_b.max(), 180.0)),
            float(lat_b.max()),
        )
    lon, lat = ds["lon"].values, ds["lat"].values
    return (
        float(np.nanmin(lon)),
        float(np.nanmin(lat)),
        float(np.nanmax(lon)),
        float(np.nanmax(lat)),
    )
