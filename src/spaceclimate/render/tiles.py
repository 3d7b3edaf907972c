"""Render PNG map tiles from cubes: choose a level, read a 2-D slice, sample, colour, encode.

Caches, all in memory and bounded:

* the geometry of each cube (:class:`~spaceclimate.render.grids.TileGrid`, by cube href),
  which also caches the per-tile index maps of projected grids;
* the last read 2-D slices per (cube, variable, time step, level), up to
  :data:`SLICE_CACHE_BYTES`; a slice larger than :data:`MAX_CACHED_SLICE_BYTES` is never read
  whole: only the window a tile needs is;
* the last encoded PNG tiles.

Cubes are immutable, so nothing cached can go stale: a new version has a new href.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from spaceclimate.errors import InputError
from spaceclimate.render.cache import ArrayCache, LRUCache
from spaceclimate.render.colormaps import apply_colormap
from spaceclimate.render.grids import GridLevel, TileGrid
from spaceclimate.render.mercator import TILE_SIZE, tile_bounds
from spaceclimate.store.remote import CubeLocation

SLICE_CACHE_BYTES = 256 * 1024 * 1024
MAX_CACHED_SLICE_BYTES = 64 * 1024 * 1024
PNG_CACHE_SIZE = 1024
GRID_CACHE_SIZE = 64
PNG_COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class TileRequest:
    """Everything that determines one tile's pixels."""

    href: str
    variable: str
    time_index: int | None
    colormap: str
    vmin: float
    vmax: float
    z: int
    x: int
    y: int
    level: int | None = None  # the index of a vertical level, for profile products


def encode_png(rgba: np.ndarray) -> bytes:
    """Encode an ``(H, W, 4)`` uint8 array as PNG (fast, low compression)."""
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


@cache
def empty_tile() -> bytes:
    """A fully transparent 256 x 256 PNG."""
    return encode_png(np.zeros((TILE_SIZE, TILE_SIZE, 4), dtype=np.uint8))


def bbox_overlaps(bbox: tuple[float, float, float, float] | None, z: int, x: int, y: int) -> bool:
    """Whether tile z/x/y can touch the lon/lat *bbox* (True when no bbox is known)."""
    if bbox is None:
        return True
    west, south, east, north = tile_bounds(z, x, y)
    w, s, e, n = bbox
    return not (east < w or west > e or north < s or south > n)


class TileRenderer:
    """Draws tiles of published cubes, with the caches described in the module docstring."""

    def __init__(self) -> None:
        self.grids: LRUCache[str, TileGrid] = LRUCache(GRID_CACHE_SIZE)
        self.slices: ArrayCache[tuple[str, str, int | None, int, int | None]] = ArrayCache(
            SLICE_CACHE_BYTES
        )
        self.pngs: LRUCache[TileRequest, bytes] = LRUCache(PNG_CACHE_SIZE)

    def grid(self, cube: CubeLocation, href: str) -> TileGrid:
        """Return the (cached) geometry of the cube at *cube*, published as *href*."""
        found = self.grids.get(href)
        if found is None:
            found = TileGrid(cube, href)
            self.grids.put(href, found)
        return found

    def read(
        self,
        grid: TileGrid,
        level: GridLevel,
        variable: str,
        time_index: int | None,
        window: tuple[int, int, int, int],
        vertical: int | None = None,
    ) -> tuple[np.ndarray, int, int]:
        """Return ``(values, row0, col0)``: a 2-D float array covering *window* at *level*.

        Whole slices are read once and cached when small enough; otherwise only the window.
        """
        key = (grid.key, variable, time_index, level.level, vertical)
        whole = self.slices.get(key)
        if whole is not None:
            return whole, 0, 0
        da = level.dataset[variable]
        if time_index is not None:
            da = da.isel(time=time_index)
        if vertical is not None and grid.vertical is not None:
            da = da.isel({grid.vertical[0]: vertical})
        rows, cols = level.shape
        if rows * cols * da.dtype.itemsize <= MAX_CACHED_SLICE_BYTES:
            whole = np.asarray(da.values, dtype=np.float32)
            self.slices.put(key, whole)
            return whole, 0, 0
        r0, r1, c0, c1 = window
        part = da.isel({grid.row_dim: slice(r0, r1), grid.col_dim: slice(c0, c1)}).values
        return np.asarray(part, dtype=np.float32), r0, c0

    def sample(self, grid: TileGrid, request: TileRequest) -> tuple[np.ndarray, GridLevel] | None:
        """Return the tile's values (NaN outside the data) and the level read, or None."""
        dims = grid.variable_dims(request.variable)
        extra = [d for d in dims if d not in ("time", grid.row_dim, grid.col_dim)]
        vertical = None
        if grid.vertical is not None and extra == [grid.vertical[0]]:
            extra, vertical = [], request.level or 0  # a map per level (the first by default)
        if extra or grid.row_dim not in dims or grid.col_dim not in dims:
            raise InputError(
                f"parameter 'variable': {request.variable!r} has dimensions {list(dims)}; "
                "tiles need a map per time step"
            )
        level = grid.choose_level(request.z, request.y)
        imap = grid.index_map(level, request.z, request.x, request.y)
        if imap.window is None:
            return None
        time_index = request.time_index if "time" in dims else None
        data, r0, c0 = self.read(grid, level, request.variable, time_index, imap.window, vertical)
        rows = np.clip(imap.rows - r0, 0, data.shape[0] - 1)
        cols = np.clip(imap.cols - c0, 0, data.shape[1] - 1)
        values = data[rows, cols]
        values = np.where(imap.valid, values, np.float32(np.nan))
        return values, level

    def render(
        self,
        cube: CubeLocation,
        request: TileRequest,
        lut: np.ndarray,
        bbox: tuple[float, float, float, float] | None = None,
        use_cache: bool = True,
    ) -> bytes:
        """Return the PNG of one tile (transparent where there is no data)."""
        if use_cache:
            cached = self.pngs.get(request)
            if cached is not None:
                return cached
        if not bbox_overlaps(bbox, request.z, request.x, request.y):
            return empty_tile()
        grid = self.grid(cube, request.href)
        sampled = self.sample(grid, request)
        if sampled is None or np.isnan(sampled[0]).all():
            png = empty_tile()
        else:
            png = encode_png(apply_colormap(sampled[0], lut, request.vmin, request.vmax))
        if use_cache:
            self.pngs.put(request, png)
        return png
