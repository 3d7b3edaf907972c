"""Web Mercator XYZ tile arithmetic: tile checks, pixel centres, bounds and pixel sizes.

Tiles follow the XYZ convention: zoom *z* has ``2**z x 2**z`` tiles of 256 x 256 pixels,
``x`` counts eastward from 180 W, ``y`` southward from 85.05 N, and pixel row 0 is a tile's
northern edge.
"""

from __future__ import annotations

import math

import numpy as np

from spaceclimate.errors import InputError

TILE_SIZE = 256
MAX_ZOOM = 24
EARTH_RADIUS_M = 6378137.0
MERCATOR_MAX_LAT = 85.0511287798066
#: Size of one pixel at zoom 0 on the equator, in metres.
EQUATOR_PIXEL_M = 2 * math.pi * EARTH_RADIUS_M / TILE_SIZE
METRES_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_M / 360.0


def check_tile(z: int, x: int, y: int) -> None:
    """Raise InputError naming the parameter when *z*, *x* or *y* is out of range."""
    if not 0 <= z <= MAX_ZOOM:
        raise InputError(f"parameter 'z': zoom {z} is outside 0..{MAX_ZOOM}")
    last = 2**z - 1
    if not 0 <= x <= last:
        raise InputError(f"parameter 'x': column {x} is outside 0..{last} at zoom {z}")
    if not 0 <= y <= last:
        raise InputError(f"parameter 'y': row {y} is outside 0..{last} at zoom {z}")


def _lat_of(fraction: np.ndarray) -> np.ndarray:
    """Latitude (degrees) of a fraction of the map height from the top."""
    return np.degrees(np.arctan(np.sinh(np.pi * (1.0 - 2.0 * fraction))))


def pixel_axes(z: int, x: int, y: int, size: int = TILE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Return the longitudes (west to east) and latitudes (north to south) of pixel centres."""
    n = 2.0**z
    offsets = (np.arange(size, dtype="float64") + 0.5) / size
    lon = (x + offsets) / n * 360.0 - 180.0
    lat = _lat_of((y + offsets) / n)
    return lon, lat


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Return ``(west, south, east, north)`` of a tile in degrees."""
    n = 2.0**z
    west = x / n * 360.0 - 180.0
    east = (x + 1) / n * 360.0 - 180.0
    north = float(_lat_of(np.array(y / n)))
    south = float(_lat_of(np.array((y + 1) / n)))
    return west, south, east, north


def tile_centre_lat(z: int, y: int) -> float:
    """Latitude of a tile's centre (degrees)."""
    return float(_lat_of(np.array((y + 0.5) / 2.0**z)))


def pixel_size_m(z: int, lat: float = 0.0) -> float:
    """Ground size of a pixel at zoom *z* and latitude *lat* (metres)."""
    return EQUATOR_PIXEL_M / 2.0**z * math.cos(math.radians(lat))


def zoom_for_cell(cell_m: float, lat: float = 0.0, max_zoom: int = MAX_ZOOM) -> int:
    """Return the lowest zoom whose pixels are no larger than a cell of *cell_m* metres."""
    for z in range(max_zoom + 1):
        if pixel_size_m(z, lat) <= cell_m:
            return z
    return max_zoom
