"""Reading a position query's values from the cube's series-shaped copy (EDR, dossiers).

A position query selects one grid cell and a range of time steps. From the cube's own
(map-shaped) arrays that reads every chunk holding the cell: 457 chunks of 16 x 256 x 256
values for a 20-year daily record. The series copy (:mod:`spaceclimate.store.series`) holds
the same values in chunks of up to 256 steps x 16 x 16 cells, so the same query reads 29
small chunks, straight from their shard files. The selection itself (cell, time range,
variables) is still made on the cube by :mod:`spaceclimate.compute.subset`, with every check
and error as before; this module only fills it with values.

The coordinates the answer carries (``time``, ``time_bnds``, the cell's bounds) are read
from the cube once per published version and kept in memory: cubes are immutable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import xarray as xr

from spaceclimate.store.remote import CubeLocation
from spaceclimate.store.series import SeriesReader, series_reader

#: Published versions whose coordinates are kept in memory.
COORD_CACHE_SIZE = 32
#: Coordinates larger than this many values are not kept (2-D coordinates of large grids).
MAX_CACHED_COORD = 1_000_000
_COORDS: OrderedDict[str, dict[str, tuple[tuple[str, ...], np.ndarray]]] = OrderedDict()
_LOCK = threading.Lock()


def _coords(cube: xr.Dataset, key: str) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Return every coordinate of the cube as ``(dims, values)`` (cached by *key*)."""
    with _LOCK:
        found = _COORDS.get(key)
        if found is not None:
            _COORDS.move_to_end(key)
            return found
    values = {
        str(name): (tuple(str(d) for d in cube[name].dims), np.asarray(cube[name].values))
        for name in cube.coords
        if cube[name].size <= MAX_CACHED_COORD
    }
    with _LOCK:
        _COORDS[key] = values
        while len(_COORDS) > COORD_CACHE_SIZE:
            _COORDS.popitem(last=False)
    return values


def _cell(cube: xr.Dataset, picked: xr.Dataset) -> dict[str, int] | None:
    """Return the picked cell's index along each spatial dim of *cube*, or None."""
    cell: dict[str, int] = {}
    for dim in ("lat", "lon"):
        if dim not in cube.dims or dim not in picked.coords or picked[dim].ndim != 0:
            return None
        axis = np.asarray(cube[dim].values)
        index = int(np.searchsorted(axis, picked[dim].values))
        if index >= axis.size or axis[index] != picked[dim].values:
            return None
        cell[dim] = index
    return cell


def _time_span(times: np.ndarray, picked: xr.Dataset) -> tuple[int, int] | None:
    """Return ``(start, stop)`` of the picked steps in the cube, None when not contiguous."""
    if "time" not in picked.dims:
        return None
    wanted = np.asarray(picked["time"].values)
    if wanted.size == 0:
        return None
    start = int(np.searchsorted(times, wanted[0]))
    stop = start + wanted.size
    if stop > times.size or not np.array_equal(times[start:stop], wanted):
        return None
    return start, stop


def load_position(
    cube: xr.Dataset, cube_path: CubeLocation, key: str, picked: xr.Dataset
) -> xr.Dataset:
    """Return the position selection *picked* (from *cube*) loaded into memory.

    Variables held by the cube's series copy are read from it; anything else (a cube without
    the copy, a projected grid, a non-contiguous time selection) is loaded from the cube.
    """
    reader: SeriesReader | None = series_reader(cube_path)
    cell = _cell(cube, picked) if reader is not None else None
    cached_coords = _coords(cube, key) if cell is not None else {}
    span = _time_span(cached_coords["time"][1], picked) if "time" in cached_coords else None
    if reader is None or cell is None or span is None:
        return picked.compute()
    start, stop = span
    where: dict[str, int | slice] = {"time": slice(start, stop), **cell}
    data: dict[str, xr.Variable] = {}
    for name in picked.data_vars:
        var = picked.variables[name]
        if (
            var.dims != ("time",)
            or cube.variables[name].dims != ("time", "lat", "lon")
            or not reader.readable(str(name))  # the copy holds float variables only
        ):
            data[str(name)] = var.compute()
            continue
        values = reader.read_point(str(name), cell, start, stop).astype(var.dtype, copy=False)
        data[str(name)] = xr.Variable(var.dims, values, var.attrs, encoding=var.encoding)
    coords: dict[str, xr.Variable] = {}
    for name in picked.coords:
        current = picked.variables[name]
        cached = cached_coords.get(str(name))
        if cached is not None and name not in picked.dims:
            dims, values = cached
            index = tuple(where.get(d, slice(None)) for d in dims)
            kept = tuple(d for d in dims if not isinstance(where.get(d), int))
            if kept == current.dims:
                current = xr.Variable(kept, values[index], current.attrs)
        coords[str(name)] = current.compute() if current.chunks is not None else current
    return xr.Dataset(data, coords=coords, attrs=picked.attrs)
