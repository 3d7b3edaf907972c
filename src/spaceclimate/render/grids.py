"""The geometry of a cube for tiling: its grid at every overview level, and pixel lookups.

For each output pixel of a Web Mercator tile the renderer needs the grid cell it falls in
(nearest-cell sampling). On a regular lon/lat grid that lookup is separable: one column index
per pixel column and one row index per pixel row. On a projected grid (the polar
stereographic sea-ice grids, MODIS sinusoidal tiles) every pixel's lon/lat is projected with
pyproj into the grid's x/y and looked up in the grid's cell edges; those 256 x 256 index maps
are cached per tile.

A level is picked per tile: the coarsest overview whose cells are no larger than the tile's
pixels (see :meth:`TileGrid.choose_level`), so zoom 0 reads a grid of at most 512 cells a side.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from pyproj import CRS, Transformer

from spaceclimate.errors import InputError
from spaceclimate.render.cache import LRUCache
from spaceclimate.render.mercator import (
    METRES_PER_DEGREE,
    pixel_axes,
    pixel_size_m,
    tile_centre_lat,
)
from spaceclimate.store.overviews import (
    GRID_DIMS,
    grid_dims,
    overview_path,
    read_overview_levels,
)
from spaceclimate.store.remote import CubeLocation

#: How many per-tile index maps of projected grids are kept (about 0.6 MB each).
INDEX_MAP_CACHE_SIZE = 256


def open_level(path: CubeLocation) -> xr.Dataset:
    """Open one level of a cube without Dask (lazy, indexed reads straight from Zarr)."""
    return xr.open_dataset(path, engine="zarr", chunks=None, consolidated=True, zarr_format=3)


def cell_edges(ds: xr.Dataset, dim: str) -> np.ndarray:
    """Return the ``n + 1`` cell edges along *dim* (from its bounds, else centre midpoints)."""
    bnds = f"{dim}_bnds"
    if bnds in ds.variables:
        values = np.asarray(ds[bnds].values, dtype="float64")
        lower, upper = values.min(axis=1), values.max(axis=1)
        if lower.size > 1 and lower[-1] < lower[0]:  # descending axis
            return np.append(upper, lower[-1])
        return np.append(lower, upper[-1])
    centres = np.asarray(ds[dim].values, dtype="float64")
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mids = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])


def lookup(edges: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(index, valid)``: the cell of each value along an axis with *edges*."""
    n = edges.size - 1
    if edges[-1] < edges[0]:
        idx, ok = lookup(edges[::-1], values)
        return np.where(ok, n - 1 - idx, 0), ok
    idx = np.searchsorted(edges, values, side="right") - 1
    ok = (idx >= 0) & (idx < n) & np.isfinite(values)
    return np.where(ok, idx, 0), ok


@dataclass
class IndexMap:
    """Cells of one tile's pixels at one level: rows/cols broadcast to the tile shape."""

    rows: np.ndarray
    cols: np.ndarray
    valid: np.ndarray  # (H, W) bool: the pixel falls inside the grid
    window: tuple[int, int, int, int] | None  # (row0, row1, col0, col1) to read, None if empty


@dataclass
class GridLevel:
    """One level of a cube: the cube itself (level 0) or one of its overviews."""

    level: int
    factor: int
    path: CubeLocation
    row_edges: np.ndarray
    col_edges: np.ndarray
    cell_m: float
    _dataset: xr.Dataset | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """Cells along (rows, columns)."""
        return self.row_edges.size - 1, self.col_edges.size - 1

    @property
    def dataset(self) -> xr.Dataset:
        """The level's dataset, opened at first use."""
        if self._dataset is None:
            self._dataset = open_level(self.path)
        return self._dataset


class TileGrid:
    """The grid of one published cube at all its levels, and its pixel lookups."""

    def __init__(self, cube: CubeLocation, key: str) -> None:
        self.cube = cube
        self.key = key
        root = open_level(cube)
        dims = grid_dims(root)
        if dims is None:
            raise InputError("this collection has no spatial grid to draw tiles from")
        self.row_dim, self.col_dim = dims
        self.projected = dims == GRID_DIMS[1]
        self.crs: CRS | None = None
        self._transformer: Transformer | None = None
        self._lock = threading.Lock()
        if self.projected:
            if "crs" not in root.variables or "crs_wkt" not in root["crs"].attrs:
                raise InputError("this collection's projected grid has no 'crs' to reproject")
            self.crs = CRS.from_wkt(root["crs"].attrs["crs_wkt"])
            self._transformer = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self.times: np.ndarray | None = (
            np.asarray(root["time"].values) if "time" in root.dims else None
        )
        self.data_vars = {str(k): tuple(str(d) for d in v.dims) for k, v in root.data_vars.items()}
        #: The vertical axis of profile products (pressure levels) and its values, if any.
        self.vertical: tuple[str, np.ndarray] | None = next(
            (
                (str(d), np.asarray(root[d].values, dtype="float64"))
                for d in root.dims
                if d in root.coords and root[d].attrs.get("axis") == "Z"
            ),
            None,
        )
        self.levels = [self._level(0, 1, cube, root)]
        for ov in read_overview_levels(cube):
            path = overview_path(cube, ov.level)
            self.levels.append(self._level(ov.level, ov.factor, path, open_level(path)))
        self.levels[0]._dataset = root
        self._maps: LRUCache[tuple[int, int, int, int], IndexMap] = LRUCache(INDEX_MAP_CACHE_SIZE)

    def _level(self, level: int, factor: int, path: CubeLocation, ds: xr.Dataset) -> GridLevel:
        rows = cell_edges(ds, self.row_dim)
        cols = cell_edges(ds, self.col_dim)
        col_step = float(np.median(np.abs(np.diff(cols))))
        row_step = float(np.median(np.abs(np.diff(rows))))
        if self.projected:
            cell_m = max(col_step, row_step)
        else:
            cell_m = max(col_step, row_step) * METRES_PER_DEGREE
        return GridLevel(level, factor, path, rows, cols, cell_m)

    @property
    def native_cell_m(self) -> float:
        """Cell size of the full-resolution grid (metres; equatorial for lon/lat grids)."""
        return self.levels[0].cell_m

    def variable_dims(self, name: str) -> tuple[str, ...]:
        """Return the dimensions of data variable *name* (KeyError when absent)."""
        return self.data_vars[name]

    def choose_level(self, z: int, y: int) -> GridLevel:
        """Return the coarsest level whose cells are no larger than the tile's pixels.

        Pixel size is the ground size at the tile's centre for projected grids, and the
        equatorial size for lon/lat grids (whose cells shrink with latitude as pixels do).
        """
        lat = tile_centre_lat(z, y) if self.projected else 0.0
        pixel = pixel_size_m(z, lat)
        for level in reversed(self.levels):
            if level.cell_m <= pixel:
                return level
        return self.levels[0]

    def index_map(self, level: GridLevel, z: int, x: int, y: int) -> IndexMap:
        """Return (cached) the grid cell of every pixel of tile z/x/y at *level*."""
        key = (level.level, z, x, y)
        found = self._maps.get(key)
        if found is not None:
            return found
        lon, lat = pixel_axes(z, x, y)
        if self.projected:
            lon2, lat2 = np.meshgrid(lon, lat)
            assert self._transformer is not None
            with self._lock:  # a Transformer is not safe to share between threads
                px, py = self._transformer.transform(lon2, lat2, errcheck=False)
            cols, col_ok = lookup(level.col_edges, np.asarray(px))
            rows, row_ok = lookup(level.row_edges, np.asarray(py))
            valid = col_ok & row_ok
        else:
            cols, col_ok = lookup(level.col_edges, lon)
            wrapped = ~col_ok  # a grid whose edges run past 180 (or start before -180)
            if wrapped.any():
                for shift in (360.0, -360.0):
                    alt, alt_ok = lookup(level.col_edges, lon + shift)
                    use = wrapped & alt_ok
                    cols = np.where(use, alt, cols)
                    col_ok = col_ok | use
            rows_1d, row_ok_1d = lookup(level.row_edges, lat)
            rows, cols = rows_1d[:, None], cols[None, :]
            valid = row_ok_1d[:, None] & col_ok[None, :]
        window = None
        if valid.any():
            r = np.broadcast_to(rows, valid.shape)[valid]
            c = np.broadcast_to(cols, valid.shape)[valid]
            window = (int(r.min()), int(r.max()) + 1, int(c.min()), int(c.max()) + 1)
        result = IndexMap(rows, cols, valid, window)
        self._maps.put(key, result)
        return result
