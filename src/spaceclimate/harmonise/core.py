"""Harmonise source files into one CF-conformant dataset per collection version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from spaceclimate.config import DEFAULT_MAX_VARIABLE_BYTES
from spaceclimate.ecv import get_variable
from spaceclimate.ecv.models import Recipe
from spaceclimate.errors import CorruptFileError, GridError, InputError, SCOError
from spaceclimate.harmonise import fast
from spaceclimate.harmonise import grid as gridmod
from spaceclimate.harmonise.attrs import SOURCE_ATTR, TIME_ATTRS
from spaceclimate.harmonise.binning import bin_granule, merge_steps
from spaceclimate.harmonise.sourceattrs import SOURCE_ATTRS_KEY, pick
from spaceclimate.harmonise.timeaxis import (
    check_disjoint,
    decode_times,
    source_bounds,
    time_cells,
)
from spaceclimate.harmonise.variables import FlagTests, check_valid_range, decode_variable
from spaceclimate.readers import check_decoded_size, open_dataset

__all__ = ["SOURCE_ATTR", "check_same_grid", "combine", "harmonise_file"]


def harmonise_file(
    path: Path, recipe: Recipe, max_variable_bytes: int = DEFAULT_MAX_VARIABLE_BYTES
) -> xr.Dataset:
    """Read *path* with the recipe's reader and return its harmonised dataset.

    The result has canonical variable names and units, masked fills and flags, lon in
    [-180, 180) and lat ascending (or the recipe's projected grid with 2-D lat/lon), a CF
    ``time`` axis with bounds where the product has time, and values fully validated
    (read errors and implausible values surface here, before anything is published).

    A file with a variable that would decode to more than *max_variable_bytes* is refused
    (:class:`~spaceclimate.errors.DecodedSizeError`) from its metadata, before any value is
    read (``SCO_MAX_VARIABLE_BYTES``).
    """
    file = path.name
    if fast.applies(recipe):
        check_decoded_size(path, recipe.reader, max_variable_bytes, **recipe.reader_options)
        try:
            done = fast.harmonise_packed(path, recipe)
        except Exception:  # noqa: BLE001 - the general path reports the problem its own way
            done = None
        if done is not None:
            return done
    raw = open_dataset(
        path, recipe.reader, max_variable_bytes=max_variable_bytes, **recipe.reader_options
    )
    try:
        if recipe.binning is not None:
            return bin_granule(raw, path, recipe)
        return _harmonise(raw, path, recipe)
    except SCOError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError, IndexError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorruptFileError(f"{file}: cannot read data ({first})") from exc
    finally:
        raw.close()


def _harmonise(raw: xr.Dataset, path: Path, recipe: Recipe) -> xr.Dataset:
    file = path.name
    times = decode_times(raw, recipe.time, path) if recipe.time else None
    cells = None
    if times is not None:
        assert recipe.time is not None
        cells = time_cells(times, recipe.time, file, source_bounds(raw, recipe.time, path))
    dim_map = gridmod.source_dims(raw, recipe.grid, file)
    if recipe.time and recipe.time.dim:
        dim_map[recipe.time.dim] = "time"

    variables: dict[str, xr.DataArray] = {}
    tested: FlagTests = {}  # variables sharing a quality flag read it once
    for name, spec in recipe.variables.items():
        target = get_variable(name)
        da = decode_variable(raw, name, spec, target, file, tested)
        da = da.drop_vars([c for c in da.coords if c not in da.dims or c in dim_map])
        da = da.rename({d: dim_map[d] for d in da.dims if d in dim_map})
        keep = set(dim_map.values()) | {"time"} | ({spec.stack_dim} if spec.stack_dim else set())
        extra = [d for d in da.dims if d not in keep]
        for d in extra:  # squeeze singleton dims the product does not use (e.g. bands)
            if da.sizes[d] != 1:
                raise GridError(f"{file}: {name} has an unexpected dimension {d!r}")
            da = da.isel({d: 0}, drop=True)
        if times is not None and "time" not in da.dims:
            da = da.expand_dims(time=len(times))
        da = da.drop_vars([c for c in da.coords if c not in da.dims])
        variables[name] = da

    ds = xr.Dataset(variables)
    if cells is not None:
        if ds.sizes.get("time") != len(cells[0]):
            raise GridError(f"{file}: {len(cells[0])} timestamps for {ds.sizes.get('time')} steps")
        ds = ds.assign_coords(time=("time", cells[0]))
    if recipe.grid.type == "latlon":
        ds = gridmod.normalise_latlon(ds, raw, recipe.grid, file)
    elif recipe.grid.type == "projected":
        ds = gridmod.normalise_projected(ds, raw, recipe.grid, file)
    if cells is not None:
        bnds = gridmod.apply_sort_plan(cells[1], gridmod.sort_plan(ds["time"].values), 0)
        ds = gridmod.sort_axis(ds, "time")
        ds = ds.assign_coords(time_bnds=(("time", "bnds"), bnds))
        ds["time"].attrs = dict(TIME_ATTRS)
    ds = ds.load()  # read everything once: corrupt chunks fail here, not mid-publish
    for name in recipe.variables:
        ds[name] = check_valid_range(ds[name], get_variable(name), file)
    ds.attrs[SOURCE_ATTR] = file
    ds.attrs[SOURCE_ATTRS_KEY] = pick(raw.attrs)
    return ds


def _same_grid(a: xr.Dataset, b: xr.Dataset) -> bool:
    for coord in ("lat", "lon", "x", "y"):
        if (coord in a.coords) != (coord in b.coords):
            return False
        if coord in a.dims and coord in a.coords:
            va, vb = a[coord].values, b[coord].values
            if va.shape != vb.shape or not np.allclose(va, vb, rtol=0, atol=1e-6):
                return False
    return True


def check_same_grid(first: xr.Dataset, other: xr.Dataset) -> None:
    """Raise GridError unless *other* has the grid and the variables of *first*."""
    if not _same_grid(first, other):
        name = other.attrs.get(SOURCE_ATTR, "a file")
        raise GridError(f"{name}: grid differs from the collection's grid")
    if set(other.data_vars) != set(first.data_vars):
        raise GridError(f"{other.attrs.get(SOURCE_ATTR, 'a file')}: variables differ")


def combine(datasets: list[xr.Dataset], binned: bool = False) -> xr.Dataset:
    """Merge harmonised datasets of one collection along time (later ones win on equal time).

    Binned level-2 steps of equal time (granules of one period) are merged instead, into
    the statistics of all their pixels (see :func:`~spaceclimate.harmonise.binning.merge_steps`).

    Raises
    ------
    GridError
        When the datasets are not on the same grid or carry different variables, or when
        steps of different files overlap in time.
    """
    if not datasets:
        raise InputError("nothing to combine")
    first = datasets[0]
    for other in datasets[1:]:
        check_same_grid(first, other)
    if "time" not in first.dims:
        return datasets[-1]
    merged = xr.concat(
        datasets,
        dim="time",
        data_vars="all",
        coords="minimal",
        compat="override",
        join="override",
        combine_attrs="drop_conflicts",
    )
    if binned:
        return merge_steps(merged)
    times = merged["time"].values
    # keep the last occurrence of each timestamp, then sort
    _, last_idx = np.unique(times[::-1], return_index=True)
    keep = np.sort(len(times) - 1 - last_idx)
    merged = merged.isel(time=keep).sortby("time")
    if "time_bnds" in merged.variables:  # steps of different files may not share a period
        check_disjoint(np.asarray(merged["time_bnds"].values), "the collection")
    return merged
