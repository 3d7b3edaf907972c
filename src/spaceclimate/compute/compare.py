"""Intercomparison of two products: bias, RMSD and correlation maps and an area-weighted summary.

Product *a* (usually the finer, e.g. a satellite analysis) is brought onto the grid of product
*b* (the reference, e.g. an in situ reconstruction) with :func:`~spaceclimate.compute.regrid.regrid`
when their grids differ, converted to *b*'s units, and matched in time: by calendar month for
monthly data (mid-month and start-of-month stamps of one month match), by day for daily data,
exactly otherwise. Only cells and times where both have data count.

Maps (over time, per cell): ``bias`` = mean(a − b), ``rmsd`` = √mean((a − b)²),
``correlation`` (Pearson over time, cells with at least 3 common times) and ``n``.
Summary (scalars, weighted by true cell area over all common cells and times):
``bias_mean``, ``rmsd_total``, ``pattern_correlation`` (area-weighted Pearson over all
cell-times) and ``mean_temporal_correlation`` (area-weighted mean of the correlation map).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate.compute.areas import cell_area, grid_kind
from spaceclimate.compute.cfmeta import (
    as_dataarray,
    convert_units,
    median_step_days,
    stamp,
    units_of,
)
from spaceclimate.compute.regrid import Method, regrid
from spaceclimate.errors import InputError

TimeMatch = Literal["auto", "month", "day", "exact"]


def _same_grid(a: xr.DataArray, b: xr.DataArray) -> bool:
    for dim in ("lat", "lon", "y", "x"):
        if (dim in a.dims) != (dim in b.dims):
            return False
        if dim in a.dims:
            va, vb = a[dim].values, b[dim].values
            if va.shape != vb.shape or not np.allclose(va, vb, rtol=0, atol=1e-6):
                return False
    return True


def _time_keys(da: xr.DataArray, match: str) -> np.ndarray:
    index = pd.DatetimeIndex(da["time"].values)
    if match == "month":
        return index.to_period("M").to_timestamp().values
    if match == "day":
        return index.floor("D").values
    return index.values


def _match_times(a: xr.DataArray, b: xr.DataArray, match: str) -> tuple[xr.DataArray, xr.DataArray]:
    if "time" not in a.dims and "time" not in b.dims:
        return a, b
    if ("time" in a.dims) != ("time" in b.dims):
        raise InputError("b: both products need a time dimension, or neither")
    if match == "auto":
        step = median_step_days(pd.DatetimeIndex(b["time"].values))
        match = "month" if 27 <= step <= 32 else ("day" if 0.9 <= step <= 1.1 else "exact")
    if match not in ("month", "day", "exact"):
        raise InputError(f"time_match: must be auto, month, day or exact, not {match!r}")
    a = a.assign_coords(time=_time_keys(a, match))
    b = b.assign_coords(time=_time_keys(b, match))
    for name, da in (("a", a), ("b", b)):
        if pd.Index(da["time"].values).has_duplicates:
            raise InputError(f"{name}: several time steps share one {match}; resample first")
    common = np.intersect1d(a["time"].values, b["time"].values)
    if common.size == 0:
        raise InputError("b: the two products have no time step in common")
    return a.sel(time=common), b.sel(time=common)


def _weighted_corr(x: xr.DataArray, y: xr.DataArray, w: xr.DataArray) -> float:
    both = x.notnull() & y.notnull()
    w = w.where(both, 0.0)
    total = float(w.sum())
    if total <= 0:
        return float("nan")
    mx, my = float((w * x.fillna(0)).sum()) / total, float((w * y.fillna(0)).sum()) / total
    dx, dy = (x - mx).where(both, 0.0), (y - my).where(both, 0.0)
    cov = float((w * dx * dy).sum())
    var = float((w * dx * dx).sum()) * float((w * dy * dy).sum())
    return cov / np.sqrt(var) if var > 0 else float("nan")


def compare(
    a: xr.Dataset | xr.DataArray,
    b: xr.Dataset | xr.DataArray,
    *,
    variable_a: str | None = None,
    variable_b: str | None = None,
    method: Method = "conservative",
    min_coverage: float = 0.5,
    time_match: TimeMatch = "auto",
) -> xr.Dataset:
    """Return bias, RMSD and correlation maps of *a* against *b* on *b*'s grid, plus a summary.

    Parameters
    ----------
    a, b
        Harmonised gridded variables (or datasets plus *variable_a*/*variable_b*) of the same
        quantity; *b*'s grid must be regular lat/lon when the grids differ.
    method, min_coverage
        How *a* is regridded onto *b* (see :func:`~spaceclimate.compute.regrid.regrid`).
    time_match
        ``auto`` (by month for monthly *b*, by day for daily *b*), ``month``, ``day`` or ``exact``.
    """
    da_a, da_b = as_dataarray(a, variable_a), as_dataarray(b, variable_b)
    if grid_kind(da_b) == "none" or grid_kind(da_a) == "none":
        raise InputError("b: both products must be gridded")
    da_a = convert_units(da_a, units_of(da_b, "b")) if "units" in da_a.attrs else da_a
    if not _same_grid(da_a, da_b):
        regridded = regrid(da_a, da_b, method=method, min_coverage=min_coverage)
        assert isinstance(regridded, xr.DataArray)
        da_a = regridded
    da_a, da_b = _match_times(da_a, da_b, time_match)
    keep = [c for c in da_b.coords if c in da_b.dims]
    da_a = da_a.drop_vars([c for c in da_a.coords if c not in keep])
    da_b = da_b.drop_vars([c for c in da_b.coords if c not in keep])
    both = da_a.notnull() & da_b.notnull()
    xa, xb = da_a.where(both), da_b.where(both)
    diff = xa - xb
    has_time = "time" in diff.dims
    over = "time" if has_time else []
    units = units_of(da_b, "b")
    n = both.sum(over) if has_time else both.astype("int64")
    out = xr.Dataset(
        {
            "bias": diff.mean(over, skipna=True),
            "rmsd": np.sqrt((diff**2).mean(over, skipna=True)),
            "n": n,
        }
    )
    if has_time:
        out["correlation"] = xr.corr(xa, xb, dim="time").where(n >= 3)
    weights = cell_area(da_b).fillna(0.0)
    w_all = weights.broadcast_like(diff).where(both, 0.0)
    total = float(w_all.sum())
    if total <= 0:
        raise InputError("b: the two products have no valid cell in common")
    out["bias_mean"] = float((w_all * diff.fillna(0)).sum()) / total
    out["rmsd_total"] = np.sqrt(float((w_all * (diff**2).fillna(0)).sum()) / total)
    out["pattern_correlation"] = _weighted_corr(xa, xb, w_all)
    if has_time:
        corr_w = weights.where(out["correlation"].notnull(), 0.0)
        out["mean_temporal_correlation"] = (
            float((corr_w * out["correlation"].fillna(0)).sum()) / float(corr_w.sum())
            if float(corr_w.sum()) > 0
            else float("nan")
        )
    label_a = da_a.attrs.get("long_name", da_a.name)
    meta: dict[str, tuple[str, str, str | None]] = {
        "bias": ("mean difference a - b", units, "time: mean"),
        "rmsd": ("root-mean-square difference of a and b", units, "time: root_mean_square"),
        "n": ("number of common valid time steps", "1", None),
        "correlation": ("Pearson correlation of a and b over time", "1", None),
        "bias_mean": ("area-weighted mean difference a - b", units, "area: time: mean"),
        "rmsd_total": ("area-weighted root-mean-square difference", units, None),
        "pattern_correlation": (
            "area-weighted Pearson correlation over all cells and times",
            "1",
            None,
        ),
        "mean_temporal_correlation": ("area-weighted mean of the correlation map", "1", None),
    }
    for name, (long_name, var_units, methods) in meta.items():
        if name in out:
            out[name].attrs = {"long_name": f"{label_a}: {long_name}", "units": var_units}
            if methods:
                out[name].attrs["cell_methods"] = methods
    out.attrs["sco_common_times"] = int(diff.sizes["time"]) if has_time else 1
    params = {"method": method, "min_coverage": min_coverage, "time_match": time_match}
    return stamp(out, "compare", params, da_a)


def summary(result: xr.Dataset) -> dict[str, Any]:
    """Return the scalar summary of a :func:`compare` result as a plain dict with units."""
    names = ("bias_mean", "rmsd_total", "pattern_correlation", "mean_temporal_correlation")
    out: dict[str, Any] = {k: float(result[k]) for k in names if k in result}
    out["units"] = str(result["bias"].attrs.get("units", ""))
    out["common_cells"] = int((result["n"] > 0).sum())
    out["common_times"] = int(result.attrs.get("sco_common_times", 1))
    return out
