"""Difference tiles of two gridded layers, for the portal's comparison view.

``A - B`` is drawn on the pixels of a Web Mercator tile: each layer is sampled at the grid
cell nearest each pixel with the tiles package's own sampler (so B is resampled by nearest
neighbour onto A's tile pixels, whatever the two grids are), then the difference is coloured
with a diverging colour map over a symmetric range. Pixels where either layer has no data are
transparent. Both layers must carry the same units (two collections of one ECV do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.portal.thumbnails import display_style
from spaceclimate.render.colormaps import apply_colormap, check_colormap, get_lut, parse_rescale
from spaceclimate.render.grids import TileGrid
from spaceclimate.render.layers import is_gridded, pick_time
from spaceclimate.render.mercator import check_tile
from spaceclimate.render.tiles import TileRenderer, TileRequest, empty_tile, encode_png
from spaceclimate.services.context import HubContext

#: Default difference range: this fraction of A's display range, either side of zero.
DEFAULT_HALF_RANGE = 1 / 16


@dataclass(frozen=True)
class DiffLayer:
    """One side of a difference: a variable of a collection and its cube's geometry."""

    collection_id: str
    variable: str
    doc: dict[str, Any]
    href: str
    grid: TileGrid

    @property
    def units(self) -> str | None:
        """The variable's units from the collection document."""
        info = self.doc.get("cube:variables", {}).get(self.variable, {})
        unit = info.get("unit")
        return None if unit is None else str(unit)


def parse_layer(text: str, name: str) -> tuple[str, str]:
    """Split ``collection:variable`` (InputError naming the parameter)."""
    cid, sep, variable = text.partition(":")
    if not sep or not cid.strip() or not variable.strip():
        raise InputError(f"parameter {name!r}: expected collection:variable, got {text[:80]!r}")
    return cid.strip(), variable.strip()


class DiffRenderer:
    """Draws difference tiles with its own tile renderer (and caches)."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.renderer = TileRenderer()

    def layer(self, text: str, name: str) -> DiffLayer:
        """Resolve parameter *name* (``collection:variable``) to a drawable layer."""
        cid, variable = parse_layer(text, name)
        doc = self.ctx.collection(cid)
        if not is_gridded(doc):
            raise InputError(f"parameter {name!r}: collection {cid!r} has no spatial grid")
        known = [k for k, v in doc.get("cube:variables", {}).items() if v.get("type") == "data"]
        if variable not in known:
            raise NotFoundError(
                f"parameter {name!r}: collection {cid!r} has no variable {variable!r}; "
                f"known: {', '.join(known)}",
                known=known,
            )
        href = str(doc["assets"]["zarr"]["href"])
        grid = self.renderer.grid(self.ctx.store.path(href), href)
        return DiffLayer(cid, variable, doc, href, grid)

    def sample(
        self, lay: DiffLayer, time_index: int | None, z: int, x: int, y: int
    ) -> np.ndarray | None:
        """Return the layer's values on the tile's pixels (NaN without data), or None."""
        req = TileRequest(lay.href, lay.variable, time_index, "viridis", 0.0, 1.0, z, x, y)
        sampled = self.renderer.sample(lay.grid, req)
        return None if sampled is None else sampled[0]

    def render(
        self,
        z: int,
        x: int,
        y: int,
        a: str,
        b: str,
        datetime_a: str | None,
        datetime_b: str | None,
        rescale: str | None,
        colormap: str,
    ) -> bytes:
        """Return the PNG of tile z/x/y of A - B."""
        check_tile(z, x, y)
        lay_a, lay_b = self.layer(a, "a"), self.layer(b, "b")
        if lay_a.units != lay_b.units:
            raise InputError(
                f"parameter 'b': units {lay_b.units!r} differ from those of 'a' ({lay_a.units!r})"
            )
        name = check_colormap(colormap)
        given = parse_rescale(rescale)
        if given is None:
            _cmap, low, high = display_style(lay_a.doc, lay_a.variable)
            half = (high - low) * DEFAULT_HALF_RANGE
            given = (-half, half)
        time_a = pick_time(lay_a.grid, datetime_a)
        time_b = pick_time(lay_b.grid, datetime_b)
        values_a = self.sample(lay_a, time_a, z, x, y)
        values_b = self.sample(lay_b, time_b, z, x, y) if values_a is not None else None
        if values_a is None or values_b is None:
            return empty_tile()
        difference = values_a - values_b
        if np.isnan(difference).all():
            return empty_tile()
        return encode_png(apply_colormap(difference, get_lut(name), *given))
