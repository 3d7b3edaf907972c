"""Overviews: coarsened copies of a cube's gridded variables, for maps at low zoom.

A map tile at zoom 0 shows the whole globe in 256 pixels; reading a 0.25 degree grid for it
would decode sixteen times more cells than the tile has pixels. At publish time the store
therefore writes a pyramid of coarsened copies inside the cube itself, as child groups::

    <cube>/overviews/zarr.json           group; attribute "sco_overview_levels" lists the levels
    <cube>/overviews/1/                  every gridded variable coarsened 2 x 2
    <cube>/overviews/2/                  ... 4 x 4, and so on

Level *k* coarsens by ``2**k`` in both spatial dimensions, until the grid is at most
:data:`MAX_OVERVIEW_PIXELS` wide and high; grids already that small get no overviews. A coarse
cell is the mean of the valid (non-NaN) fine cells it covers (a NaN only where all are
missing), except for categorical variables (those declaring ``flag_values``), whose coarse
cell takes the class of the fine cell nearest the block's centre. Blocks at the far edge of
a grid whose size is not a multiple of the factor cover only the cells that remain.

Each level holds the variable, its 1-D spatial coordinates (block-mean centres) with their
bounds, time, and the ``crs`` variable of projected grids, so it opens on its own with
``xr.open_zarr(cube / "overviews" / "1")``. Overviews live inside the staged cube, so the
cube's checksums cover them and they are published atomically with it; the root group's
variables are unchanged (``xr.open_zarr(cube)`` shows only them).

Overview chunks are map-shaped (one time step, up to 512 x 512 cells): they serve tiles only.
The block writer of cubes with a time axis (:mod:`spaceclimate.store.writer`) stores them in
shards (Zarr v3 ``sharding_indexed``) of one block of time steps and up to 4 x 4 chunks, so a
year of daily maps is a few files rather than thousands; zarr and xarray read them as usual.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from spaceclimate.store.remote import CubeLocation

OVERVIEWS_GROUP = "overviews"
LEVELS_ATTR = "sco_overview_levels"
MAX_OVERVIEW_PIXELS = 512
OVERVIEW_SPATIAL_CHUNK = 512
GRID_DIMS = (("lat", "lon"), ("y", "x"))


@dataclass(frozen=True)
class OverviewLevel:
    """One level of a cube's overview pyramid.

    Parameters
    ----------
    level
        Level number (1 is the finest overview; 0 would be the cube itself).
    factor
        Coarsening factor in each spatial dimension (``2**level``).
    shape
        Size of each spatial dimension at this level, ``{dim: cells}``.
    """

    level: int
    factor: int
    shape: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        """Return the level as the JSON object stored in the group's attributes."""
        return {"level": self.level, "factor": self.factor, "shape": dict(self.shape)}


def grid_dims(ds: xr.Dataset) -> tuple[str, str] | None:
    """Return the (row, column) spatial dimensions of a cube, or None for gridless cubes."""
    for rows, cols in GRID_DIMS:
        if rows in ds.dims and cols in ds.dims:
            return rows, cols
    return None


def overview_factors(rows: int, cols: int, max_pixels: int = MAX_OVERVIEW_PIXELS) -> list[int]:
    """Return the coarsening factors 2, 4, 8, ... until the grid fits in *max_pixels*."""
    factors: list[int] = []
    factor = 1
    while max(-(-rows // factor), -(-cols // factor)) > max_pixels:
        factor *= 2
        factors.append(factor)
    return factors


def _is_categorical(da: xr.DataArray) -> bool:
    return "flag_values" in da.attrs


def _block_centres(size: int, factor: int) -> np.ndarray:
    """Index of the fine cell nearest the centre of each block (the last block may be short)."""
    starts = np.arange(0, size, factor)
    ends = np.minimum(starts + factor, size)
    return ((starts + ends - 1) // 2).astype("int64")


def coarsen_dataset(ds: xr.Dataset, dims: tuple[str, str], factor: int) -> xr.Dataset:
    """Return the overview of the gridded data variables of *ds* coarsened by *factor*.

    Continuous variables: mean over valid cells of each ``factor x factor`` block.
    Categorical variables (``flag_values``): the class of each block's centre cell.
    """
    rows, cols = dims
    window = {rows: factor, cols: factor}
    out: dict[str, xr.DataArray] = {}
    for name, da in ds.data_vars.items():
        if rows not in da.dims or cols not in da.dims or da.dtype.kind != "f":
            continue
        if _is_categorical(da):
            picked = da.isel(
                {
                    rows: _block_centres(ds.sizes[rows], factor),
                    cols: _block_centres(ds.sizes[cols], factor),
                }
            )
            coarse = picked.drop_vars([c for c in picked.coords if c != "time"])
        else:
            coarse = da.coarsen(window, boundary="pad").mean()
            coarse = coarse.drop_vars([c for c in coarse.coords if c != "time"])
        coarse.attrs = dict(da.attrs)
        out[str(name)] = coarse.astype(da.dtype)
    coords: dict[str, Any] = {}
    for dim in dims:
        centre = ds[dim].coarsen({dim: factor}, boundary="pad").mean()
        coords[dim] = (dim, centre.values, dict(ds[dim].attrs))
        bnds = f"{dim}_bnds"
        if bnds in ds.variables:
            values = ds[bnds].values
            lower = np.minimum(values[:, 0], values[:, 1])
            upper = np.maximum(values[:, 0], values[:, 1])
            starts = np.arange(0, values.shape[0], factor)
            coarse_bnds = np.stack(
                [np.minimum.reduceat(lower, starts), np.maximum.reduceat(upper, starts)], axis=1
            )
            coords[bnds] = ((dim, "bnds"), coarse_bnds)
    if "time" in ds.dims:
        coords["time"] = ds["time"]
    result = xr.Dataset(out)
    result = result.assign_coords({k: v for k, v in coords.items() if k in dims or k == "time"})
    for key, value in coords.items():
        if key.endswith("_bnds"):
            result[key] = value
            result = result.set_coords(key)
    if "crs" in ds.variables:
        result["crs"] = ds["crs"].load()
        result = result.set_coords("crs")
    result.attrs = {
        "sco_overview_factor": factor,
        "sco_overview_method": "mean of valid cells (categorical: block-centre class)",
    }
    return result


def _encoding(ds: xr.Dataset, dims: tuple[str, str]) -> dict[str, dict[str, Any]]:
    encoding: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        enc: dict[str, Any] = {}
        if name in ds.data_vars:
            enc["chunks"] = tuple(
                1
                if d == "time"
                else min(OVERVIEW_SPATIAL_CHUNK, ds.sizes[d])
                if d in dims
                else ds.sizes[d]
                for d in var.dims
            )
        if var.dtype.kind == "f":
            enc["_FillValue"] = np.float32(np.nan) if var.dtype == np.float32 else np.nan
        if name == "time":
            enc["units"] = "seconds since 1970-01-01 00:00:00"
            enc["calendar"] = "proleptic_gregorian"
            enc["dtype"] = "float64"
        if enc:
            encoding[str(name)] = enc
    return encoding


def write_overviews(cube: Path, max_pixels: int = MAX_OVERVIEW_PIXELS) -> list[OverviewLevel]:
    """Write the overview pyramid of the cube at *cube* (just written); return its levels.

    Reads the cube's stored values lazily, so every level is coarsened from exactly what the
    cube holds. Cubes without a spatial grid, or with a grid already at most *max_pixels*
    wide and high, get no overviews (and no ``overviews`` group).
    """
    ds = xr.open_zarr(cube, consolidated=True, zarr_format=3)
    dims = grid_dims(ds)
    if dims is None or not any(
        dims[0] in v.dims and dims[1] in v.dims and v.dtype.kind == "f"
        for v in ds.data_vars.values()
    ):
        return []
    factors = overview_factors(ds.sizes[dims[0]], ds.sizes[dims[1]], max_pixels)
    if not factors:
        return []
    levels: list[OverviewLevel] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)
        for level, factor in enumerate(factors, start=1):
            coarse = coarsen_dataset(ds, dims, factor)
            for var in coarse.variables.values():
                var.encoding = {}
            enc = _encoding(coarse, dims)
            coarse.chunk(_dim_chunks(coarse, enc)).to_zarr(
                cube,
                group=f"{OVERVIEWS_GROUP}/{level}",
                mode="w-",
                zarr_format=3,
                consolidated=False,
                encoding=enc,
            )
            zarr.consolidate_metadata(str(cube), path=f"{OVERVIEWS_GROUP}/{level}")
            shape = {d: int(coarse.sizes[d]) for d in dims}
            levels.append(OverviewLevel(level, factor, shape))
        group = zarr.open_group(str(cube), path=OVERVIEWS_GROUP, mode="r+", zarr_format=3)
        group.attrs.update(
            {
                LEVELS_ATTR: [lv.to_json() for lv in levels],
                "sco_overview_dims": list(dims),
            }
        )
        zarr.consolidate_metadata(str(cube))
    return levels


def _dim_chunks(ds: xr.Dataset, encoding: dict[str, dict[str, Any]]) -> dict[str, int]:
    chunks: dict[str, int] = {}
    for name, enc in encoding.items():
        if "chunks" in enc:
            chunks.update(
                {str(d): int(c) for d, c in zip(ds[name].dims, enc["chunks"], strict=True)}
            )
    return chunks


def read_overview_levels(cube: CubeLocation) -> list[OverviewLevel]:
    """Return the overview levels of a published cube, finest first (empty when none)."""
    meta = cube / OVERVIEWS_GROUP / "zarr.json"
    if not meta.is_file():
        return []
    try:
        attrs = json.loads(meta.read_text(encoding="utf-8")).get("attributes", {})
    except (OSError, ValueError):
        return []
    levels = [
        OverviewLevel(
            int(lv["level"]), int(lv["factor"]), {k: int(v) for k, v in lv["shape"].items()}
        )
        for lv in attrs.get(LEVELS_ATTR, [])
    ]
    return sorted(levels, key=lambda lv: lv.level)


def overview_path(cube: CubeLocation, level: int) -> CubeLocation:
    """Return the folder of overview *level* of a cube (level 0 is the cube itself)."""
    return cube if level == 0 else cube / OVERVIEWS_GROUP / str(level)
