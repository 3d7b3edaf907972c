"""Preview images of collections for the portal's catalog: a small map or a line plot.

A gridded collection is previewed by its first data variable at its latest time step (the
latest one with any data), read from the cube's coarsest overview and coloured with the
variable's own colour map and display range; its native grid is kept (a polar stereographic
cube previews as seen from above the pole). A gridless series is previewed as a line plot
of its first variable (the first region when it has several). Cubes are immutable, so a
preview is cached for as long as the process runs (keyed by the cube's href).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import xarray as xr

from spaceclimate.catalog.records import cube_href
from spaceclimate.ecv import get_variable
from spaceclimate.errors import InputError, RecipeError
from spaceclimate.render.cache import LRUCache
from spaceclimate.render.colormaps import apply_colormap, get_lut
from spaceclimate.render.grids import open_level
from spaceclimate.render.tiles import encode_png
from spaceclimate.services.context import HubContext
from spaceclimate.store.overviews import grid_dims, overview_path, read_overview_levels

#: Largest width and height of a preview, in pixels.
WIDTH, HEIGHT = 192, 108
#: A map preview is never thinner than this (very wide grids are stretched a little).
MIN_SIDE = 32
#: How many time steps back from the latest one to look for a step with data.
LOOK_BACK = 6
CACHE_SIZE = 256
LINE_COLOUR = "#0b5394"


def first_data_variable(doc: dict[str, Any]) -> str:
    """Return the first data variable of a collection document (InputError when none)."""
    for name, info in doc.get("cube:variables", {}).items():
        if info.get("type") == "data":
            return str(name)
    raise InputError(f"collection {doc.get('id')!r} has no data variable to preview")


def display_style(doc: dict[str, Any], variable: str) -> tuple[str, float, float]:
    """Return the colour map and display range of *variable* (collection's, else the ECV's)."""
    style = doc.get("sco:colormaps", {}).get(variable)
    if style and "colormap" in style and "range" in style:
        low, high = style["range"]
        return str(style["colormap"]), float(low), float(high)
    try:
        var = get_variable(variable)
        return var.colormap, float(var.display_range[0]), float(var.display_range[1])
    except RecipeError:
        return "viridis", 0.0, 1.0


def preview_shape(rows: int, cols: int) -> tuple[int, int]:
    """Return the (height, width) of a map preview of a ``rows x cols`` grid."""
    scale = min(WIDTH / cols, HEIGHT / rows)
    height = int(np.clip(round(rows * scale), MIN_SIDE, HEIGHT))
    width = int(np.clip(round(cols * scale), MIN_SIDE, WIDTH))
    return height, width


def latest_map(da: xr.DataArray) -> np.ndarray:
    """Return the 2-D values of the latest time step that has data (all NaN if none has)."""
    if "time" not in da.dims:
        return np.asarray(da.values, dtype=np.float32)
    steps = da.sizes["time"]
    values = np.full(da.isel(time=0).shape, np.nan, dtype=np.float32)
    for index in range(steps - 1, max(steps - 1 - LOOK_BACK, -1), -1):
        values = np.asarray(da.isel(time=index).values, dtype=np.float32)
        if np.isfinite(values).any():
            break
    return values


def map_preview(cube_dir: Any, variable: str, style: tuple[str, float, float]) -> bytes:
    """Colour the latest map of *variable*, north up, sampled to the preview size."""
    levels = read_overview_levels(cube_dir)
    path = overview_path(cube_dir, levels[-1].level) if levels else cube_dir
    ds = open_level(path)
    dims = grid_dims(ds)
    if dims is None or variable not in ds.data_vars:
        raise InputError(f"parameter 'variable': {variable!r} has no map to preview")
    rows_dim, cols_dim = dims
    da = ds[variable]
    extra = [d for d in da.dims if d not in ("time", rows_dim, cols_dim)]
    da = da.isel(dict.fromkeys(extra, 0)).transpose(..., rows_dim, cols_dim)
    values = latest_map(da)
    row_coord = np.asarray(ds[rows_dim].values, dtype="float64")
    if row_coord.size > 1 and row_coord[-1] > row_coord[0]:  # ascending: flip to north up
        values = values[::-1, :]
    height, width = preview_shape(*values.shape)
    rows = np.minimum((np.arange(height) + 0.5) * values.shape[0] / height, values.shape[0] - 1)
    cols = np.minimum((np.arange(width) + 0.5) * values.shape[1] / width, values.shape[1] - 1)
    sampled = values[rows.astype(int)[:, None], cols.astype(int)[None, :]]
    colormap, vmin, vmax = style
    return encode_png(apply_colormap(sampled, get_lut(colormap), vmin, vmax))


def series_preview(da: xr.DataArray) -> bytes:
    """Draw a small line plot of a series (the first entry of any extra dimension)."""
    from matplotlib.figure import Figure  # deferred: only previews of series need it

    extra = [d for d in da.dims if d != "time"]
    da = da.isel(dict.fromkeys(extra, 0))
    values = np.asarray(da.values, dtype="float64")
    fig = Figure(figsize=(WIDTH / 96, HEIGHT / 96), dpi=96)
    ax = fig.add_axes((0.02, 0.04, 0.96, 0.92))
    if "time" in da.dims:
        ax.plot(np.asarray(da["time"].values), values, color=LINE_COLOUR, linewidth=1.0)
    else:
        ax.plot(values, color=LINE_COLOUR, linewidth=1.0)
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", transparent=True)
    return buf.getvalue()


class ThumbnailMaker:
    """Makes and caches the previews of a hub's collections."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.cache: LRUCache[str, bytes] = LRUCache(CACHE_SIZE)

    def png(self, collection_id: str) -> bytes:
        """Return the preview PNG of a collection (404 for unknown ids)."""
        doc = self.ctx.collection(collection_id)
        href = cube_href(doc)
        cached = self.cache.get(href)
        if cached is not None:
            return cached
        variable = first_data_variable(doc)
        cube_dir = self.ctx.store.path(href)
        ds = self.ctx.cube(collection_id)
        if grid_dims(ds) is None:
            png = series_preview(ds[variable])
        else:
            png = map_preview(cube_dir, variable, display_style(doc, variable))
        self.cache.put(href, png)
        return png
