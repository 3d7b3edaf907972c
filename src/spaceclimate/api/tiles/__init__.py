"""XYZ map tiles of the hub's gridded collections, with TileJSON and legends.

Endpoints (under ``/tiles``):

* ``/{cid}/{variable}/{z}/{x}/{y}.png`` -- a 256 x 256 RGBA PNG in Web Mercator (XYZ scheme);
  query ``datetime`` (nearest time step, default the latest), ``colormap`` (any matplotlib
  colour map name), ``rescale=min,max``. No-data pixels (land, outside the grid) are
  transparent; tiles outside the data are fully transparent (200).
* ``/{cid}/{variable}/tilejson.json`` -- TileJSON 3.0.0 carrying the same query.
* ``/{cid}/{variable}/legend.png`` and ``legend.json`` -- the colour bar and its stops.
* ``/colormaps`` -- the accepted colour map names.

Regular lon/lat grids and projected grids (polar stereographic sea ice, sinusoidal MODIS) are
drawn by nearest-cell sampling; low zooms read the cube's overviews (see
:mod:`spaceclimate.store.overviews`). OGC API Tiles is not implemented (no conformance class
is declared): the layout is the de facto XYZ + TileJSON one that web maps consume.
"""

from __future__ import annotations

from spaceclimate.api.tiles.routes import build
from spaceclimate.services.routers import RouterPlugin

plugin = RouterPlugin(
    name="tiles",
    prefix="/tiles",
    build=build,
    conformance=(),
    description="XYZ map tiles (PNG), TileJSON and legends of gridded collections",
    order=50,
)

__all__ = ["build", "plugin"]
