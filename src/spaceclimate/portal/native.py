"""Polar stereographic layers drawn in their own projection, for the portal's polar maps.

Web Mercator cannot show the poles (it stops at 85 degrees and stretches the Arctic without
limit), so the portal shows polar stereographic collections -- the sea-ice grids -- on a map
in the grid's own projection: the basemap is projected in the browser and the data is one
image of the native grid, coloured like a tile. Two endpoints serve it:

* ``/portal/native/{cid}/{variable}.json`` -- the projection's parameters (PROJ ``stere``:
  ``lat_0``, ``lat_ts`` or ``k_0``, ``lon_0``, false easting/northing, ellipsoid axes), the
  grid's bounds in metres (cell edges), its size, time steps, units and default style;
* ``/portal/native/{cid}/{variable}.png`` -- the grid at one time step (``datetime``,
  nearest; default the latest), coloured (``colormap``, ``rescale``), north at the top.

Other grids (lon/lat, sinusoidal) answer 400: the portal maps them with the XYZ tiles.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.portal.thumbnails import display_style
from spaceclimate.render.colormaps import apply_colormap, check_colormap, get_lut, parse_rescale
from spaceclimate.render.grids import GridLevel, TileGrid
from spaceclimate.render.layers import iso, pick_time
from spaceclimate.render.tiles import TileRenderer, encode_png
from spaceclimate.services.context import HubContext

#: A native image is at most this many pixels a side (a coarser overview is used beyond).
MAX_IMAGE_SIDE = 2048
PROJECTION_KEYS = ("lat_0", "lat_ts", "lon_0", "k", "k_0", "x_0", "y_0")


@dataclass(frozen=True)
class NativeLayer:
    """A variable of a polar stereographic collection and its grid."""

    collection_id: str
    variable: str
    doc: dict[str, Any]
    href: str
    grid: TileGrid

    @property
    def units(self) -> str | None:
        """The variable's units from the collection document."""
        unit = self.doc.get("cube:variables", {}).get(self.variable, {}).get("unit")
        return None if unit is None else str(unit)


def projection_params(grid: TileGrid) -> dict[str, float | str]:
    """Return the PROJ parameters of a polar stereographic grid (InputError for others)."""
    if grid.crs is None:
        raise InputError("this collection is on a lon/lat grid: map it with /tiles")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        proj = grid.crs.to_dict()
    if proj.get("proj") != "stere" or abs(float(proj.get("lat_0", 0.0))) != 90.0:
        raise InputError(
            f"this collection's grid is not polar stereographic ({proj.get('proj')!r}): "
            "map it with /tiles"
        )
    params: dict[str, float | str] = {"proj": "stere"}
    for key in PROJECTION_KEYS:
        if key in proj:
            params["k_0" if key == "k" else key] = float(proj[key])
    ellipsoid = grid.crs.ellipsoid
    if ellipsoid is None:
        raise InputError("this collection's grid has no ellipsoid to project with")
    params["a"] = float(ellipsoid.semi_major_metre)
    params["b"] = float(ellipsoid.semi_minor_metre)
    return params


def pick_level(grid: TileGrid) -> GridLevel:
    """Return the finest level no larger than :data:`MAX_IMAGE_SIDE` a side."""
    for level in grid.levels:
        if max(level.shape) <= MAX_IMAGE_SIDE:
            return level
    return grid.levels[-1]


class NativeRenderer:
    """Describes and draws polar stereographic layers (with the tiles package's caches)."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.renderer = TileRenderer()

    def layer(self, cid: str, variable: str) -> NativeLayer:
        """Resolve a collection's variable to a polar stereographic layer (400/404 else)."""
        doc = self.ctx.collection(cid)
        dims = set(doc.get("cube:dimensions", {}))
        if not {"x", "y"} <= dims:
            raise InputError(f"collection {cid!r} has no projected grid: map it with /tiles")
        known = [k for k, v in doc.get("cube:variables", {}).items() if v.get("type") == "data"]
        if variable not in known:
            raise NotFoundError(
                f"collection {cid!r} has no variable {variable!r}; known: {', '.join(known)}",
                known=known,
            )
        href = str(doc["assets"]["zarr"]["href"])
        grid = self.renderer.grid(self.ctx.store.path(href), href)
        projection_params(grid)
        return NativeLayer(cid, variable, doc, href, grid)

    def index(self) -> list[dict[str, Any]]:
        """List the collections on polar stereographic grids with their data variables."""
        found = []
        for doc in self.ctx.catalog.list_collections():
            if not {"x", "y"} <= set(doc.get("cube:dimensions", {})):
                continue
            href = str(doc["assets"]["zarr"]["href"])
            try:
                projection_params(self.renderer.grid(self.ctx.store.path(href), href))
            except InputError:
                continue
            variables = [
                k for k, v in doc.get("cube:variables", {}).items() if v.get("type") == "data"
            ]
            found.append({"collection": doc["id"], "variables": variables})
        return found

    def describe(self, cid: str, variable: str) -> dict[str, Any]:
        """The projection, bounds, size, times and style of a layer."""
        lay = self.layer(cid, variable)
        level = pick_level(lay.grid)
        cols, rows = level.col_edges, level.row_edges
        colormap, low, high = display_style(lay.doc, variable)
        times = [] if lay.grid.times is None else [iso(t) for t in lay.grid.times]
        return {
            "collection": cid,
            "variable": variable,
            "projection": projection_params(lay.grid),
            "bounds": [
                float(cols.min()),
                float(rows.min()),
                float(cols.max()),
                float(rows.max()),
            ],
            "size": [int(level.shape[1]), int(level.shape[0])],
            "times": times,
            "units": lay.units,
            "colormap": colormap,
            "range": [low, high],
        }

    def png(
        self,
        cid: str,
        variable: str,
        datetime: str | None,
        colormap: str | None,
        rescale: str | None,
    ) -> bytes:
        """The coloured grid at one time step, north (largest y) at the top."""
        lay = self.layer(cid, variable)
        default_map, low, high = display_style(lay.doc, variable)
        name = check_colormap(colormap) if colormap else default_map
        vmin, vmax = parse_rescale(rescale) or (low, high)
        time_index = pick_time(lay.grid, datetime)
        dims = lay.grid.variable_dims(variable)
        extra = [d for d in dims if d not in ("time", lay.grid.row_dim, lay.grid.col_dim)]
        if extra:
            raise InputError(
                f"parameter 'variable': {variable!r} has dimensions {list(dims)}; "
                "a map needs one value per cell and time step"
            )
        level = pick_level(lay.grid)
        window = (0, level.shape[0], 0, level.shape[1])
        t = time_index if "time" in dims else None
        values, _r0, _c0 = self.renderer.read(lay.grid, level, variable, t, window)
        if level.row_edges[-1] > level.row_edges[0]:  # rows run south to north: flip
            values = values[::-1, :]
        if level.col_edges[-1] < level.col_edges[0]:  # columns run east to west: flip
            values = values[:, ::-1]
        return encode_png(apply_colormap(np.asarray(values), get_lut(name), vmin, vmax))
