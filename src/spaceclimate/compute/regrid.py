"""Regridding one product onto another's grid.

``conservative`` (regular lat/lon → regular lat/lon)
    Each target cell gets the area-weighted mean of the source cells it overlaps, weighted by
    the exact area of each overlap on the sphere. Lat/lon cells are bounded by parallels and
    meridians, so an overlap's area factorises: ``R² · Δλ_overlap · Δ(sin φ)_overlap``. The
    weights are two small dense matrices (target × source rows, target × source columns; the
    longitude overlaps are taken modulo 360°) applied with two matrix products, so the whole
    regridding is exact, separable and dask-parallel over the non-spatial dims. Missing source
    values drop out of the weights; a target cell whose valid overlap covers less than
    ``min_coverage`` of its area is NaN. With ``min_coverage=0`` the area integral is conserved
    exactly: Σ target area × coverage × value = Σ source area × value over the target's domain.
``bilinear`` / ``nearest``
    Interpolation at the target cell centres (:meth:`xarray.DataArray.interp`, longitudes
    wrapped). Bilinear skips missing neighbours (renormalising the weights of the valid ones)
    while they carry at most half of the weight, so coasts do not erode. From a projected
    source (the polar stereographic sea-ice grids) the target centres are first transformed to
    the source's x/y.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr
from pyproj import Transformer

from spaceclimate.compute.areas import axis_bounds, grid_crs, grid_kind
from spaceclimate.compute.cfmeta import as_dataarray, stamp
from spaceclimate.errors import InputError

Method = Literal["conservative", "bilinear", "nearest"]
METHODS = ("conservative", "bilinear", "nearest")
#: Bilinear: least share of the interpolation weight that must fall on valid source points.
VALID_WEIGHT = 0.5
#: Largest weight matrix (target × source cells along one axis) built densely.
MAX_WEIGHTS = 25_000_000


def _overlap(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Return the overlap lengths ``(n_target, n_source)`` of ``(n, 2)`` intervals (lo, hi)."""
    lo = np.maximum(target[:, None, 0], source[None, :, 0])
    hi = np.minimum(target[:, None, 1], source[None, :, 1])
    return np.clip(hi - lo, 0.0, None)


def lat_weights(target_bounds: np.ndarray, source_bounds: np.ndarray) -> np.ndarray:
    """Return overlaps in sin(latitude) between target and source latitude bands."""
    t = np.sin(np.deg2rad(np.clip(target_bounds, -90.0, 90.0)))
    s = np.sin(np.deg2rad(np.clip(source_bounds, -90.0, 90.0)))
    return _overlap(t, s)


def lon_weights(target_bounds: np.ndarray, source_bounds: np.ndarray) -> np.ndarray:
    """Return overlaps in degrees of longitude, counting the source shifted by −360, 0, +360."""
    total = np.zeros((target_bounds.shape[0], source_bounds.shape[0]))
    for shift in (-360.0, 0.0, 360.0):
        total += _overlap(target_bounds, source_bounds + shift)
    return total


def _check_weights_size(n_target: int, n_source: int, axis: str) -> None:
    if n_target * n_source > MAX_WEIGHTS:
        raise InputError(
            f"target: {axis} weights of {n_target} x {n_source} cells are too large to build"
        )


def _conservative(
    source: xr.DataArray, target: xr.Dataset | xr.DataArray, min_coverage: float
) -> tuple[xr.DataArray, xr.DataArray]:
    src_lat, src_lon = axis_bounds(source, "lat"), axis_bounds(source, "lon")
    tgt_lat, tgt_lon = axis_bounds(target, "lat"), axis_bounds(target, "lon")
    _check_weights_size(len(tgt_lat), len(src_lat), "latitude")
    _check_weights_size(len(tgt_lon), len(src_lon), "longitude")
    w_lat = lat_weights(tgt_lat, src_lat)
    w_lon = lon_weights(tgt_lon, src_lon)
    cell = np.outer(
        np.sin(np.deg2rad(tgt_lat[:, 1])) - np.sin(np.deg2rad(tgt_lat[:, 0])),
        tgt_lon[:, 1] - tgt_lon[:, 0],
    )

    def kernel(values: np.ndarray) -> np.ndarray:
        valid = np.isfinite(values)
        filled = np.where(valid, values, 0.0)
        num = w_lat @ filled @ w_lon.T
        den = w_lat @ valid.astype("float64") @ w_lon.T
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = num / den
            cover = den / cell
        mean = np.where(cover >= max(min_coverage, 1e-12), mean, np.nan)
        return np.stack([mean, cover], axis=-3)

    src = source.transpose(..., "lat", "lon")
    if src.chunks is not None:
        src = src.chunk({"lat": -1, "lon": -1})
    both = xr.apply_ufunc(
        kernel,
        src.rename({"lat": "lat_in", "lon": "lon_in"}),
        input_core_dims=[["lat_in", "lon_in"]],
        output_core_dims=[["part", "lat", "lon"]],
        dask="parallelized",
        output_dtypes=["float64"],
        dask_gufunc_kwargs={"output_sizes": {"part": 2, "lat": len(tgt_lat), "lon": len(tgt_lon)}},
    )
    both = both.drop_vars([c for c in both.coords if set(both[c].dims) & {"lat_in", "lon_in"}])
    both = both.assign_coords(lat=target["lat"].values, lon=target["lon"].values)
    return both.isel(part=0, drop=True), both.isel(part=1, drop=True)


def _wrapped(source: xr.DataArray) -> xr.DataArray:
    """Return *source* with one column copied past each end of the longitude axis (periodic)."""
    lon = source["lon"].values
    span = axis_bounds(source, "lon")
    if span[-1, 1] - span[0, 0] < 359.0:
        return source
    left = source.isel(lon=[-1]).assign_coords(lon=[lon[-1] - 360.0])
    right = source.isel(lon=[0]).assign_coords(lon=[lon[0] + 360.0])
    return xr.concat([left, source, right], dim="lon")


def _interp_valid(source: xr.DataArray, how: str, **where: object) -> xr.DataArray:
    """Interpolate ignoring missing neighbours: kept where they carry at most half the weight."""
    method: Literal["linear", "nearest"] = "linear" if how == "linear" else "nearest"
    if method == "nearest":
        return source.interp(method=method, **where)  # type: ignore[arg-type]
    valid = source.notnull().astype("float64")
    num = source.fillna(0.0).interp(method=method, **where)  # type: ignore[arg-type]
    den = valid.interp(method=method, **where)  # type: ignore[arg-type]
    return (num / den).where(den >= VALID_WEIGHT)


def _interpolate(
    source: xr.DataArray, target: xr.Dataset | xr.DataArray, method: str
) -> xr.DataArray:
    how = "linear" if method == "bilinear" else "nearest"
    lat, lon = target["lat"], target["lon"]
    kind = grid_kind(source)
    if kind == "latlon":
        return _interp_valid(_wrapped(source), how, lat=lat.values, lon=lon.values)
    if kind == "projected":
        crs = grid_crs(source)
        to_grid = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
        lon2d, lat2d = np.meshgrid(lon.values, lat.values)
        with np.errstate(all="ignore"):
            xx, yy = to_grid.transform(lon2d, lat2d)
        xs = xr.DataArray(xx, dims=("lat", "lon"), coords={"lat": lat.values, "lon": lon.values})
        ys = xr.DataArray(yy, dims=("lat", "lon"), coords={"lat": lat.values, "lon": lon.values})
        src = source.drop_vars([c for c in source.coords if c not in source.dims])
        return _interp_valid(src, how, x=xs, y=ys).drop_vars(["x", "y"], errors="ignore")
    raise InputError("data: no spatial grid to regrid")


def regrid(
    data: xr.Dataset | xr.DataArray,
    target: xr.Dataset | xr.DataArray,
    *,
    method: Method = "conservative",
    min_coverage: float = 0.5,
    variable: str | None = None,
    keep_coverage: bool = False,
) -> xr.DataArray | xr.Dataset:
    """Return *data* on the lat/lon grid of *target*.

    Parameters
    ----------
    data
        A harmonised gridded variable (or dataset plus *variable*).
    target
        Any dataset or variable on the wanted regular lat/lon grid (its ``lat``/``lon`` and
        bounds are used, nothing else).
    method
        ``conservative`` (regular source grids), ``bilinear`` or ``nearest``.
    min_coverage
        Conservative only: the share (0–1) of a target cell that valid source data must cover.
    keep_coverage
        Conservative only: return a Dataset with the regridded variable and ``coverage``.
    """
    da = as_dataarray(data, variable)
    if method not in METHODS:
        raise InputError(f"method: must be one of {', '.join(METHODS)}, not {method!r}")
    if grid_kind(target) != "latlon":
        raise InputError("target: the target grid must be a regular lat/lon grid")
    if not 0.0 <= float(min_coverage) <= 1.0:
        raise InputError(f"min_coverage: must be between 0 and 1, not {min_coverage}")
    coverage = None
    if method == "conservative":
        if grid_kind(da) != "latlon":
            raise InputError(
                "method: conservative regridding needs a regular lat/lon source; use bilinear"
            )
        out, coverage = _conservative(da, target, float(min_coverage))
    else:
        out = _interpolate(da, target, method)
    out = out.transpose(*[d for d in da.dims if d not in ("lat", "lon", "y", "x")], "lat", "lon")
    out.attrs = {k: v for k, v in da.attrs.items() if k not in ("grid_mapping", "coordinates")}
    out.attrs["cell_methods"] = (
        f"{da.attrs.get('cell_methods', '')} area: mean (conservative regridding)".strip()
        if method == "conservative"
        else str(da.attrs.get("cell_methods", ""))
    )
    if not out.attrs["cell_methods"]:
        del out.attrs["cell_methods"]
    out.attrs["sco_regrid_method"] = method
    for name in ("lat", "lon"):
        out[name].attrs = dict(target[name].attrs)
    out.name = da.name
    params = {"method": method, "min_coverage": min_coverage if method == "conservative" else None}
    out = stamp(out, "regrid", params, da)
    if keep_coverage and coverage is not None:
        coverage.attrs = {
            "long_name": "fraction of the cell covered by valid source data",
            "units": "1",
        }
        return xr.Dataset({str(da.name or "data"): out, "coverage": coverage}, attrs=out.attrs)
    return out
