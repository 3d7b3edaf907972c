"""The footprint of a level-2 granule: the outline of its valid pixels, as GeoJSON.

A swath's outline is the union of the convex hulls of its pieces (a few rows each, their
longitudes unwrapped so that a piece across the antimeridian stays whole, then cut back into
-180..180). Scattered points (fire detections, soundings) have no swath: their hulls would
cover far more than they saw, and the footprint is then the coarse cells they fall in.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely
from shapely.geometry import box, mapping

#: Rows of a swath per footprint piece (its outline is the union of the pieces' hulls).
FOOTPRINT_ROWS = 64
#: Hulls covering more than this many times the cells of SCATTERED_CELL degrees the pixels
#: fall in are not a swath's outline: the footprint is then those cells.
SCATTERED = 4.0
SCATTERED_CELL = 2.0


def footprint(lat: np.ndarray, lon: np.ndarray, tolerance: float) -> dict[str, Any] | None:
    """The outline of a granule's valid pixels as a GeoJSON (Multi)Polygon, or None.

    The swath is cut along its first axis into pieces of :data:`FOOTPRINT_ROWS` rows; each
    piece's convex hull (longitudes unwrapped around the piece's middle, so a piece crossing
    the antimeridian stays whole) is cut back into -180..180, and the pieces' union is
    simplified to *tolerance* degrees. Scattered points get the 2-degree cells they fall in.
    """
    lat2 = np.atleast_2d(lat.T).T if lat.ndim == 1 else lat.reshape(lat.shape[0], -1)
    lon2 = np.atleast_2d(lon.T).T if lon.ndim == 1 else lon.reshape(lon.shape[0], -1)
    world = box(-180.0, -90.0, 180.0, 90.0)
    pieces = []
    for start in range(0, lat2.shape[0], FOOTPRINT_ROWS):
        la = lat2[start : start + FOOTPRINT_ROWS + 1].ravel()
        lo = lon2[start : start + FOOTPRINT_ROWS + 1].ravel()
        ok = np.isfinite(la) & np.isfinite(lo)
        if not ok.any():
            continue
        la, lo = la[ok], lo[ok]
        middle = float(np.median(lo))
        lo = middle + ((lo - middle + 180.0) % 360.0) - 180.0
        hull = shapely.MultiPoint(np.column_stack([lo, la])).convex_hull.buffer(tolerance / 2)
        for shift in (-360.0, 0.0, 360.0):
            part = shapely.affinity.translate(hull, xoff=shift).intersection(world)
            if not part.is_empty and part.area > 0:
                pieces.append(part)
    if not pieces:
        return None
    outline = shapely.union_all(pieces)
    # scattered points (fire detections, soundings) have no swath: their hulls would cover
    # far more than they saw, and the cells of SCATTERED_CELL degrees they fall in say it better
    ok = np.isfinite(lat) & np.isfinite(lon)
    size = SCATTERED_CELL
    cells = np.unique(np.column_stack([lon[ok] // size, lat[ok] // size]), axis=0) * size
    if outline.area > SCATTERED * size**2 * len(cells):
        squares = shapely.box(cells[:, 0], cells[:, 1], cells[:, 0] + size, cells[:, 1] + size)
        outline = shapely.union_all(squares).intersection(world)
    outline = outline.simplify(tolerance, preserve_topology=True)
    outline = shapely.set_precision(outline, 1e-4)
    return dict(json.loads(json.dumps(mapping(outline))))
