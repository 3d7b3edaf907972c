"""Level 2 to level 3: bin a granule's geolocated pixels onto the recipe's regular grid.

A level-2 granule (a swath, an along-track pass, a set of soundings) has a latitude and a
longitude for every pixel. Binning decodes each variable as every other path does (fills,
packing, units, flags), keeps the pixels the product's own quality test accepts (the
variable's ``valid_if_quality``), and puts each accepted pixel in the cell of the grid its
centre falls in (cells are half-open, ``[west, east) x [south, north)``; a pixel on the
grid's north or east edge goes to the last cell). Per cell and granule it returns the mean
``v``, the number ``v_count`` and the population standard deviation ``v_std`` of the
pixels; granules of one period merge exactly (:func:`merge_steps`), since count, mean and
spread together are the pixels' sum and sum of squares.

The granule's own footprint (the outline of its valid pixels) and time coverage travel in
the dataset's attributes, for its catalog item.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate.ecv import get_variable
from spaceclimate.ecv.models import BinningSpec, LevelSpec, QualitySpec, Recipe
from spaceclimate.errors import GridError, InputError
from spaceclimate.harmonise.attrs import SOURCE_ATTR, TIME_ATTRS
from spaceclimate.harmonise.footprint import footprint
from spaceclimate.harmonise.grid import LAT_ATTRS, LON_ATTRS
from spaceclimate.harmonise.sourceattrs import SOURCE_ATTRS_KEY, pick
from spaceclimate.harmonise.timeaxis import decode_time_variable, decode_times, period_cells
from spaceclimate.harmonise.variables import FlagTests, decode_variable, outliers_masked

#: Global attributes of a binned granule's dataset, read by its catalog item.
FOOTPRINT_ATTR = "sco_footprint"
COVERAGE_ATTR = "sco_granule_coverage"
QUALITY_ATTR = "sco_quality_filter"
#: Global attribute of a binned cube: ``{step time: [granule item ids]}`` as JSON.
STEP_GRANULES_ATTR = "sco_step_granules"


def grid_axes(spec: BinningSpec) -> tuple[np.ndarray, np.ndarray]:
    """Return the cell edges ``(lat_edges, lon_edges)`` of a binning grid (ascending)."""
    west, south, east, north = spec.bbox
    nx = round((east - west) / spec.resolution)
    ny = round((north - south) / spec.resolution)
    return (
        south + spec.resolution * np.arange(ny + 1, dtype="float64"),
        west + spec.resolution * np.arange(nx + 1, dtype="float64"),
    )


def _decoded(var: xr.DataArray) -> np.ndarray:
    """CF decoding of a geolocation or quality variable: fills and valid range missing,
    packing applied, as float64."""
    values = np.asarray(var.values).astype("float64")
    attrs = var.attrs
    bad = np.zeros(values.shape, dtype=bool)
    for key in ("_FillValue", "missing_value"):
        if key in attrs:
            bad |= np.isin(values, np.atleast_1d(np.asarray(attrs[key], dtype="float64")))
    if "valid_min" in attrs:
        bad |= values < float(np.asarray(attrs["valid_min"]))
    if "valid_max" in attrs:
        bad |= values > float(np.asarray(attrs["valid_max"]))
    values = values * float(np.asarray(attrs.get("scale_factor", 1.0)))
    values = values + float(np.asarray(attrs.get("add_offset", 0.0)))
    values[bad] = np.nan
    return values


def _squeezed(var: xr.DataArray) -> xr.DataArray:
    return var.squeeze([d for d in var.dims if var.sizes[d] == 1], drop=True)


def _on_pixels(var: xr.DataArray, pixels: xr.DataArray, what: str, file: str) -> np.ndarray:
    """*var* (squeezed) laid out as the pixels' array, or GridError."""
    var = _squeezed(var)
    if set(var.dims) != set(pixels.dims):
        raise GridError(
            f"{file}: {what} has dimensions {tuple(map(str, var.dims))}, its geolocation "
            f"{tuple(map(str, pixels.dims))}"
        )
    return np.asarray(var.transpose(*pixels.dims).values)


def _levels(
    raw: xr.Dataset, recipe: Recipe, file: str
) -> tuple[LevelSpec | None, np.ndarray, np.ndarray]:
    """The recipe's vertical levels kept (indices into the source's) and their values."""
    assert recipe.binning is not None
    spec = recipe.binning.levels
    if spec is None:
        return None, np.zeros(1, dtype="int64"), np.zeros(0)
    if spec.coordinate not in raw.variables:
        raise InputError(f"{file}: level variable {spec.coordinate!r} not found")
    values = _decoded(raw[spec.coordinate])
    if values.ndim != 1 or raw[spec.coordinate].dims != (spec.dim,):
        raise GridError(f"{file}: levels {spec.coordinate!r} are not a 1-D axis of {spec.dim!r}")
    keep = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        if spec.min is not None:
            keep &= values >= spec.min
        if spec.max is not None:
            keep &= values <= spec.max
    kept = np.flatnonzero(keep)
    if not len(kept):
        raise InputError(f"{file}: no level of {spec.coordinate!r} lies in the recipe's range")
    return spec, kept, values[kept]


def _on_values(
    var: xr.DataArray,
    pixels: xr.DataArray,
    levels: LevelSpec | None,
    kept: np.ndarray,
    what: str,
    file: str,
) -> np.ndarray:
    """*var* laid out as the values binned: the pixels' shape and a last axis of levels (one
    level when the product has none); a variable without the level axis is repeated."""
    if levels is None or levels.dim not in var.dims:
        return _on_pixels(var, pixels, what, file)[..., None]
    var = _squeezed(var)
    if set(var.dims) != {*pixels.dims, levels.dim}:
        raise GridError(f"{file}: {what} has dimensions {tuple(map(str, var.dims))}")
    return np.asarray(var.transpose(*pixels.dims, levels.dim).values)[..., kept]


def quality_accepts(
    raw: xr.Dataset,
    test: QualitySpec,
    pixels: xr.DataArray,
    file: str,
    levels: LevelSpec | None = None,
    kept: np.ndarray | None = None,
) -> Any | None:
    """Where the product's quality test accepts a value: a boolean array of the pixels' shape
    and a last axis of levels (one when the product has none).

    None when the file lacks the quality variable and the recipe keeps such files.
    """
    if test.variable not in raw.variables:
        if test.if_missing == "keep":
            return None
        raise InputError(
            f"{file}: quality variable {test.variable!r} not found, so the product's quality "
            f"filter ({test.describe()}) cannot be applied"
        )
    source = raw[test.variable]
    kept = np.zeros(1, dtype="int64") if kept is None else kept
    quality = _on_values(
        source.copy(data=_decoded(source)), pixels, levels, kept, test.variable, file
    )
    with np.errstate(invalid="ignore"):
        if test.min is not None:
            return quality >= test.min
        if test.above is not None:
            return quality > test.above
        if test.below is not None:
            return quality < test.below
        return quality <= test.max


def _granule_coverage(
    raw: xr.Dataset, first: np.datetime64, last: np.datetime64
) -> tuple[str, str]:
    """The granule's sensing start and end: its ACDD attributes, else its pixels' times."""
    out = []
    for key, fallback in (("time_coverage_start", first), ("time_coverage_end", last)):
        text = raw.attrs.get(key)
        try:
            stamp = pd.Timestamp(str(text)) if text else pd.Timestamp(fallback)
        except ValueError:
            stamp = pd.Timestamp(fallback)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        out.append(stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return out[0], out[1]


def pixel_steps(
    raw: xr.Dataset, recipe: Recipe, pixels: xr.DataArray, path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each pixel's time step: ``(index, stamps, bounds, times)``.

    *index* has the pixels' shape (-1 where the pixel has no time), *stamps* and *bounds*
    are the steps' middles and cells (time order), *times* the pixels' own stamps. Pixels
    carry their own time when the recipe's time variable has their dimensions (along-track
    passes, scatterometer rows); otherwise the granule's one reference time is every pixel's.
    """
    assert recipe.time is not None
    file = path.name
    name = recipe.time.variable
    if name and not recipe.time.from_filename and name in raw.variables:
        var = _squeezed(raw[name])
        if var.ndim and set(var.dims) == set(pixels.dims):
            if recipe.time.units:  # the file's are not CF (MLS: TAI seconds since 1993)
                var = var.copy()
                var.attrs = {**var.attrs, "units": recipe.time.units}
            times = decode_time_variable(var.transpose(*pixels.dims), file)
        else:
            times = None
    else:
        times = None
    if times is None:
        reference = decode_times(raw, recipe.time, path)
        if reference is None or len(reference) != 1:
            n = 0 if reference is None else len(reference)
            raise GridError(f"{file}: a level-2 granule needs one reference time (found {n})")
        times = np.full(pixels.shape, reference[0], dtype="datetime64[ns]")
    known = ~np.isnat(times)
    if not known.any():
        raise InputError(f"{file}: no pixel has a time")
    unique = np.unique(times[known])
    stamps_of_unique, bounds_of_unique = period_cells(unique, recipe.time)
    stamps, first = np.unique(stamps_of_unique, return_index=True)
    bounds = bounds_of_unique[first]
    index = np.full(pixels.shape, -1, dtype="int64")
    index[known] = np.searchsorted(stamps, stamps_of_unique[np.searchsorted(unique, times[known])])
    return index, stamps, bounds, times


def bin_granule(raw: xr.Dataset, path: Path, recipe: Recipe) -> xr.Dataset:
    """Bin one level-2 granule (opened raw) onto the recipe's grid, a step per period."""
    assert recipe.binning is not None and recipe.time is not None
    assert recipe.grid.lat and recipe.grid.lon
    file = path.name
    for name in (recipe.grid.lat, recipe.grid.lon):
        if name not in raw.variables:
            raise InputError(f"{file}: geolocation variable {name!r} not found")
    pixels = _squeezed(raw[recipe.grid.lat])
    lat = _decoded(pixels)
    lon = _on_pixels(
        raw[recipe.grid.lon].copy(data=_decoded(raw[recipe.grid.lon])), pixels, "longitude", file
    )
    if np.nanmax(np.abs(lat), initial=0.0) > 90:
        raise GridError(f"{file}: latitude outside -90..90")
    lon = ((lon + 180.0) % 360.0) - 180.0
    step, stamps, bounds, times = pixel_steps(raw, recipe, pixels, path)
    lat_edges, lon_edges = grid_axes(recipe.binning)
    ny, nx = len(lat_edges) - 1, len(lon_edges) - 1
    nt = len(stamps)
    res = recipe.binning.resolution
    with np.errstate(invalid="ignore"):
        iy = np.floor((lat - lat_edges[0]) / res)
        ix = np.floor((lon - lon_edges[0]) / res)
        iy[lat == lat_edges[-1]] = ny - 1
        ix[lon == lon_edges[-1]] = nx - 1
        inside = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx) & (step >= 0)  # False where NaN
    levels, kept, level_values = _levels(raw, recipe, file)
    nz = len(kept)
    depth = np.arange(nz, dtype="int64")  # the level of each value (last axis)
    with np.errstate(invalid="ignore"):
        flat = (step[..., None] * nz + depth) * ny + iy[..., None]
        cell = np.where(inside[..., None], flat * nx + ix[..., None], 0).astype("int64")
    inside = np.broadcast_to(inside[..., None], cell.shape)
    size = nt * nz * ny * nx

    out: dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, Any]]] = {}
    tested: FlagTests = {}
    filters: list[str] = []
    for name, spec in recipe.variables.items():
        target = get_variable(name)
        da = decode_variable(raw, name, spec, target, file, tested)
        values = _on_values(da, pixels, levels, kept, name, file).astype("float64")
        masked = outliers_masked(values, target, file, name)  # wrong units are refused here
        if masked is not None:
            values = masked
        keep = inside & np.isfinite(values)
        for test in spec.valid_if_quality:
            accepted = quality_accepts(raw, test, pixels, file, levels, kept)
            if accepted is None:
                filters.append(f"{name}: not applied ({test.variable} absent from the file)")
            else:
                keep &= accepted
                filters.append(f"{name}: {test.describe()}")
        where, v = cell[keep], values[keep]
        count = np.bincount(where, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(where, weights=v, minlength=size) / count
            spread = np.bincount(where, weights=(v - mean[where]) ** 2, minlength=size)
            std = np.sqrt(spread / count)
        attrs = dict(da.attrs)
        attrs["cell_methods"] = f"area: {spec.statistic}"
        attrs["ancillary_variables"] = f"{name}_count {name}_std"
        grid: tuple[int, ...] = (nt, ny, nx)
        dims: tuple[str, ...] = ("time", "lat", "lon")
        if levels is not None:
            grid, dims = (nt, nz, ny, nx), ("time", levels.name, "lat", "lon")
        held = mean if spec.statistic == "mean" else np.where(count > 0, mean * count, np.nan)
        out[name] = (dims, held.astype("float32").reshape(grid), attrs)
        count_def, std_def = get_variable(f"{name}_count"), get_variable(f"{name}_std")
        out[f"{name}_count"] = (
            dims,
            count.astype("int32").reshape(grid),
            {
                "long_name": count_def.long_name,
                "standard_name": count_def.standard_name,
                "units": "1",
                "valid_min": 0,
            },
        )
        std_attrs = {
            "long_name": std_def.long_name,
            "units": std_def.units,
            "cell_methods": "area: standard_deviation",
        }
        if std_def.standard_name:
            std_attrs["standard_name"] = std_def.standard_name
        out[f"{name}_std"] = (dims, std.astype("float32").reshape(grid), std_attrs)

    lat_c = (lat_edges[:-1] + lat_edges[1:]) / 2
    lon_c = (lon_edges[:-1] + lon_edges[1:]) / 2
    coords: dict[str, Any] = {}
    if levels is not None:
        coords[levels.name] = (
            levels.name,
            level_values,
            {
                "standard_name": levels.standard_name,
                "units": levels.units,
                "positive": levels.positive,
                "axis": "Z",
            },
        )
    ds = xr.Dataset(
        out,
        coords={
            **coords,
            "time": ("time", stamps, dict(TIME_ATTRS)),
            "lat": ("lat", lat_c, dict(LAT_ATTRS)),
            "lon": ("lon", lon_c, dict(LON_ATTRS)),
            "time_bnds": (("time", "bnds"), bounds),
            "lat_bnds": (("lat", "bnds"), np.column_stack([lat_edges[:-1], lat_edges[1:]])),
            "lon_bnds": (("lon", "bnds"), np.column_stack([lon_edges[:-1], lon_edges[1:]])),
        },
    )
    shape = footprint(lat, lon, res / 2)
    if shape is not None:
        ds.attrs[FOOTPRINT_ATTR] = json.dumps(shape)
    known = times[~np.isnat(times)]
    ds.attrs[COVERAGE_ATTR] = "/".join(_granule_coverage(raw, known.min(), known.max()))
    if filters:
        ds.attrs[QUALITY_ATTR] = "; ".join(filters)
    ds.attrs[SOURCE_ATTR] = file
    ds.attrs[SOURCE_ATTRS_KEY] = pick(raw.attrs)
    return ds


def merge_steps(ds: xr.Dataset) -> xr.Dataset:
    """Merge the binned steps of equal time (granules of one period) into one step each.

    With ``n``, ``m`` and ``s`` each part's count, mean and standard deviation, the merged
    step has ``N = sum(n)``, ``M = sum(n m) / N`` and ``S**2 = sum(n (s**2 + (m - M)**2)) / N``:
    the statistics of all the parts' pixels together (a summed variable holds ``N M``).
    """
    times = ds["time"].values
    unique = np.unique(times)
    if len(unique) == len(times):
        return ds.sortby("time")
    binned = [str(n) for n in ds.data_vars if f"{n}_count" in ds and f"{n}_std" in ds]
    steps = []
    for t in unique:
        part = ds.isel(time=np.flatnonzero(times == t))
        if part.sizes["time"] == 1:
            steps.append(part)
            continue
        merged = part.isel(time=[0]).copy(deep=True)
        for name in binned:
            summed = part[name].attrs.get("cell_methods") == "area: sum"
            n = np.asarray(part[f"{name}_count"].values, dtype="float64")
            m = np.nan_to_num(np.asarray(part[name].values, dtype="float64"))
            s = np.nan_to_num(np.asarray(part[f"{name}_std"].values, dtype="float64"))
            total = n.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                if summed:  # the parts' sums: their means are sum / count
                    m = np.where(n > 0, m / np.where(n > 0, n, 1), 0.0)
                mean = (n * m).sum(axis=0) / total
                var = (n * (s**2 + (m - mean) ** 2)).sum(axis=0) / total
            held = np.where(total > 0, mean * total, np.nan) if summed else mean
            merged[name].values[0] = held.astype("float32")
            merged[f"{name}_count"].values[0] = total.astype("int32")
            merged[f"{name}_std"].values[0] = np.sqrt(var).astype("float32")
        steps.append(merged)
    return xr.concat(steps, dim="time", data_vars="all", coords="minimal", compat="override")
