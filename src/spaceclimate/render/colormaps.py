"""Colour maps as 256-entry RGBA lookup tables, built from matplotlib's registry at first use.

A value *v* shown with range ``(vmin, vmax)`` takes entry ``floor((v - vmin) / (vmax - vmin) *
256)`` of the table, clipped to 0..255 (values below or above the range take the end colours);
this is how matplotlib itself maps a normalised value onto a 256-colour map. Missing values are
fully transparent.
"""

from __future__ import annotations

import difflib
import math
from functools import cache, lru_cache
from typing import Any

import numpy as np

from spaceclimate.errors import InputError

LUT_SIZE = 256
#: Suggested when an unknown colour map is asked for.
COMMON_COLORMAPS = ("viridis", "RdYlBu_r", "RdBu_r", "Blues_r", "YlGnBu", "magma", "cividis")


@cache
def _registry() -> Any:
    import matplotlib  # deferred: only tiles and legends need it

    return matplotlib.colormaps


@cache
def list_colormaps() -> tuple[str, ...]:
    """Return the names of every colour map, sorted case-insensitively."""
    return tuple(sorted(_registry(), key=str.lower))


def check_colormap(name: str) -> str:
    """Return *name* when it is a known colour map, else InputError listing a few."""
    if name in _registry():
        return name
    close = difflib.get_close_matches(name, list_colormaps(), n=3)
    suggestions = list(dict.fromkeys([*close, *COMMON_COLORMAPS]))[:8]
    raise InputError(
        f"parameter 'colormap': unknown colour map {name[:40]!r}; known include "
        f"{', '.join(suggestions)} (all at /tiles/colormaps)"
    )


@lru_cache(maxsize=256)
def get_lut(name: str) -> np.ndarray:
    """Return the ``(256, 4)`` uint8 RGBA lookup table of colour map *name*."""
    cmap = _registry()[check_colormap(name)]
    centres = (np.arange(LUT_SIZE, dtype="float64") + 0.5) / LUT_SIZE
    lut = np.asarray(cmap(centres, bytes=True), dtype=np.uint8)
    lut.setflags(write=False)
    return lut


def parse_rescale(text: str | None) -> tuple[float, float] | None:
    """Parse ``rescale=min,max`` (None when absent)."""
    if text is None or text.strip() == "":
        return None
    parts = text.split(",")
    try:
        low, high = (float(p) for p in parts)
    except ValueError as exc:
        raise InputError(f"parameter 'rescale': expected 'min,max', got {text[:40]!r}") from exc
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InputError("parameter 'rescale': numbers must be finite")
    if not low < high:
        raise InputError(f"parameter 'rescale': min ({low:g}) must be below max ({high:g})")
    return low, high


def lut_indices(values: np.ndarray, vmin: float, vmax: float, nan_index: int = 0) -> np.ndarray:
    """Return the lookup-table index of each value (NaN gives *nan_index*)."""
    scale = np.float32(LUT_SIZE / (vmax - vmin))
    scaled = (values.astype(np.float32, copy=False) - np.float32(vmin)) * scale
    np.clip(scaled, 0, LUT_SIZE - 1, out=scaled)  # NaN stays NaN
    np.nan_to_num(scaled, copy=False, nan=float(nan_index))
    return scaled.astype(np.uint16)


def apply_colormap(values: np.ndarray, lut: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Colour a 2-D array: ``(H, W, 4)`` uint8 RGBA, transparent where values are NaN.

    One gather of packed 32-bit colours from a 257-entry table whose last entry is
    transparent (the index NaN values get).
    """
    table = np.zeros((LUT_SIZE + 1, 4), dtype=np.uint8)
    table[:LUT_SIZE] = lut
    packed = table.view(np.uint32).reshape(-1)
    rgba = packed[lut_indices(values, vmin, vmax, nan_index=LUT_SIZE)]
    return rgba.view(np.uint8).reshape(*values.shape, 4)


def colour_of(value: float, lut: np.ndarray, vmin: float, vmax: float) -> str:
    """Return the ``#rrggbb`` colour of one value."""
    r, g, b, _a = (int(c) for c in lut[int(lut_indices(np.array([value]), vmin, vmax)[0])])
    return f"#{r:02x}{g:02x}{b:02x}"
