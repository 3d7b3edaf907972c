"""The ingest's fast path: packed NetCDF variables read straight into harmonised arrays.

Most gridded products (OSTIA and the like) are a few packed variables on a regular lat/lon
grid with one time step per file. For them :func:`harmonise_packed` reads the variables
with the netCDF library (no xarray dataset, no lazy indexing, no alignment) and runs the
same decoding, grid and time steps as the general path in :mod:`spaceclimate.harmonise.core`
on numpy arrays, building the harmonised dataset once at the end. The result is identical
(values to the last bit, attributes, coordinates; ``tests/test_harmonise.py`` compares both).

It applies only where its assumptions hold (:func:`applies` for the recipe, then the file's
own layout); otherwise :func:`harmonise_packed` returns None and the general path is taken,
which also reports every problem with a file in its usual words.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from spaceclimate.ecv import get_variable
from spaceclimate.ecv.models import Recipe
from spaceclimate.harmonise import grid as gridmod
from spaceclimate.harmonise.attrs import SOURCE_ATTR, TIME_ATTRS
from spaceclimate.harmonise.sourceattrs import SOURCE_ATTRS_KEY, pick
from spaceclimate.harmonise.timeaxis import (
    bounds_variable,
    decode_times,
    source_bounds,
    time_cells,
)
from spaceclimate.harmonise.variables import (
    canonical_attrs,
    decode_packed,
    outliers_masked,
    unit_conversion,
)
from spaceclimate.readers.netcdf import RawVariable, read_raw_variables


def applies(recipe: Recipe) -> bool:
    """Return True when the recipe uses only what the fast path implements.

    The NetCDF reader without options, a lat/lon grid, a time axis from a variable or the
    file name (no renamed time dimension), and variables that are one packed source each
    (no stacking, class recoding or quality-flag masks).
    """
    time = recipe.time
    return (
        recipe.binning is None  # level-2 granules are binned, not read as a grid
        and recipe.reader == "netcdf"
        and not recipe.reader_options
        and recipe.grid.type == "latlon"
        and time is not None
        and time.dim is None
        and bool(time.from_filename or time.variable)
        and all(
            isinstance(spec.source, str)
            and spec.stack_dim is None
            and spec.recode is None
            and spec.valid_if_flag is None
            for spec in recipe.variables.values()
        )
    )


def _time_source(recipe: Recipe) -> str | None:
    """The time variable read from the file (None when times come from its name)."""
    assert recipe.time is not None
    return None if recipe.time.from_filename else recipe.time.variable


def _raw_times(raw: dict[str, RawVariable], names: list[str]) -> xr.Dataset:
    """The time variable (and its bounds) as the raw dataset :func:`decode_times` reads."""
    return xr.Dataset(
        {name: xr.Variable(raw[name].dims, raw[name].values, raw[name].attrs) for name in names}
    )


def _canonical_dims(
    var: RawVariable, lat_dim: str, lon_dim: str, steps: int
) -> tuple[str, ...] | None:
    """The variable's dims as the general path names them, or None for other layouts.

    Supported: ``(time, lat, lon)`` with the time axis named ``time``, or ``(lat, lon)``
    in a file of one time step (the general path then adds the time axis in front).
    """
    renamed = tuple({lat_dim: "lat", lon_dim: "lon"}.get(d, d) for d in var.dims)
    if renamed == ("time", "lat", "lon") and var.values.shape[0] == steps:
        return renamed
    if renamed == ("lat", "lon") and steps == 1:
        return renamed
    return None


def harmonise_packed(path: Path, recipe: Recipe) -> xr.Dataset | None:
    """Harmonise *path* as :func:`~spaceclimate.harmonise.core.harmonise_file` does, fast.

    Returns None when the file does not have the layout the fast path handles (the caller
    then takes the general path). Raises the general path's errors for bad values.
    """
    assert recipe.time is not None and recipe.grid.lat and recipe.grid.lon
    file = path.name
    sources = {name: str(spec.source) for name, spec in recipe.variables.items()}
    time_name = _time_source(recipe)
    wanted = [recipe.grid.lat, recipe.grid.lon, *sources.values()]
    if time_name is not None:
        wanted.append(time_name)
    global_attrs: dict[str, object] = {}
    raw = read_raw_variables(path, list(dict.fromkeys(wanted)), global_attrs)
    if raw is None:
        return None
    lat_var, lon_var = raw[recipe.grid.lat], raw[recipe.grid.lon]
    if lat_var.values.ndim != 1 or lon_var.values.ndim != 1 or lat_var.dims == lon_var.dims:
        return None
    time_vars = [] if time_name is None else [time_name]
    bounds_name = bounds_variable(_raw_times(raw, time_vars), recipe.time)
    if bounds_name is not None:  # the source's own time bounds (``bounds: source``)
        extra = read_raw_variables(path, [bounds_name])
        if extra is None:
            return None
        raw.update(extra)
        time_vars.append(bounds_name)
    raw_times = _raw_times(raw, time_vars)
    times = decode_times(raw_times, recipe.time, path)
    if times is None:
        return None
    own = source_bounds(raw_times, recipe.time, path)
    stamps, cells = time_cells(times, recipe.time, file, own)
    steps = len(stamps)

    lat, lon = gridmod.checked_latlon(lat_var.values, lon_var.values, recipe.grid, file)
    time_plan = gridmod.sort_plan(stamps)
    lat_plan, lon_plan = gridmod.sort_plan(lat), gridmod.sort_plan(lon)
    stamps = gridmod.apply_sort_plan(stamps, time_plan, 0)
    time_b = gridmod.apply_sort_plan(cells, time_plan, 0)
    lat = gridmod.apply_sort_plan(lat, lat_plan, 0)
    lon = gridmod.apply_sort_plan(lon, lon_plan, 0)
    lat_b, lon_b = gridmod.latlon_bounds(lat, lon, file)

    variables: dict[str, xr.Variable] = {}
    for name, source in sources.items():
        var = raw[source]
        dims = _canonical_dims(var, lat_var.dims[0], lon_var.dims[0], steps)
        if dims is None:
            return None
        spec, target = recipe.variables[name], get_variable(name)
        source_units, units = unit_conversion(source, var.attrs, spec, target, file)
        # every step is element-wise: reorder the stored values (half the bytes), then decode
        stored = var.values if dims[0] == "time" else var.values[np.newaxis]
        for axis, plan in ((0, time_plan), (1, lat_plan), (2, lon_plan)):
            stored = gridmod.apply_sort_plan(stored, plan, axis)
        values = decode_packed(stored, spec, var.attrs, file, units, source)
        masked = outliers_masked(values, target, file, name)
        variables[name] = xr.Variable(
            ("time", "lat", "lon"),
            values if masked is None else masked,
            canonical_attrs(spec, target, source_units),
        )
    coords = {
        "time": xr.Variable("time", stamps, dict(TIME_ATTRS)),
        "lat": xr.Variable("lat", lat, dict(gridmod.LAT_ATTRS)),
        "lon": xr.Variable("lon", lon, dict(gridmod.LON_ATTRS)),
        "lat_bnds": xr.Variable(("lat", "bnds"), lat_b),
        "lon_bnds": xr.Variable(("lon", "bnds"), lon_b),
        "time_bnds": xr.Variable(("time", "bnds"), time_b),
    }
    attrs = {SOURCE_ATTR: file, SOURCE_ATTRS_KEY: pick(global_attrs)}
    return xr.Dataset(variables, coords=coords, attrs=attrs)
