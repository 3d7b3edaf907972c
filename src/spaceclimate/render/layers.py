"""What a tile or map is drawn from: which collections have a grid, which time step to draw.

Shared by the tiles API and the portal's own renderers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spaceclimate.errors import InputError
from spaceclimate.params import parse_instant
from spaceclimate.render.grids import TileGrid

SPATIAL_DIMS = ({"lat", "lon"}, {"x", "y"})


def is_gridded(doc: dict[str, Any]) -> bool:
    """Whether a collection's cube has a spatial grid (from ``cube:dimensions``)."""
    dims = set(doc.get("cube:dimensions", {}))
    return any(spatial <= dims for spatial in SPATIAL_DIMS)


def iso(stamp: np.datetime64) -> str:
    """Format a datetime64 as RFC 3339 UTC."""
    return str(np.datetime_as_string(stamp, unit="s")) + "Z"


def pick_time(grid: TileGrid, text: str | None) -> int | None:
    """Return the index of the time step nearest *text* (latest when None; None if static)."""
    if grid.times is None or grid.times.size == 0:
        return None
    if text is None or text.strip() == "":
        return int(grid.times.size - 1)
    if "/" in text:
        raise InputError("parameter 'datetime': give one instant (the nearest step is drawn)")
    stamp = parse_instant(text)
    if stamp is None:
        raise InputError("parameter 'datetime': '..' is not an instant")
    target = np.datetime64(stamp.replace(tzinfo=None), "ns")
    if len(text.strip()) == 10:  # a bare date stands for its whole day: aim at its middle
        target = target + np.timedelta64(12, "h")
    diffs = np.abs(grid.times.astype("datetime64[ns]") - target)
    return int(np.argmin(diffs))


def pick_level(grid: TileGrid, value: float | None) -> int | None:
    """The index of the level nearest *value* on the grid's vertical axis (None: no axis)."""
    if grid.vertical is None:
        if value is not None:
            raise InputError("parameter 'level': this collection has no vertical levels")
        return None
    if value is None:
        return 0
    if not np.isfinite(value):
        raise InputError("parameter 'level': not a finite number")
    return int(np.argmin(np.abs(grid.vertical[1] - value)))
