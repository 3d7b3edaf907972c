"""Legends of a tile layer: a colour bar as PNG and the same as JSON colour stops."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from spaceclimate.render.colormaps import LUT_SIZE, colour_of, lut_indices
from spaceclimate.render.tiles import encode_png

LEGEND_WIDTH = LUT_SIZE
BAR_TOP = 2
BAR_HEIGHT = 16
LEGEND_HEIGHT = 36
STOPS = 11


def format_value(value: float) -> str:
    """Format a range end for people (``271``, ``0.5``, ``1.2e-05``)."""
    return f"{value:.4g}"


def bar_values(vmin: float, vmax: float, width: int = LEGEND_WIDTH) -> np.ndarray:
    """Return the value at the centre of each column of the colour bar."""
    return vmin + (np.arange(width, dtype="float64") + 0.5) / width * (vmax - vmin)


#: Units to show a layer's values in and the factor from its stored units (``shown =
#: stored * scale``), e.g. ozone stored in mol m-2 and shown in DU.
Display = tuple[str, float]


def legend_png(
    lut: np.ndarray, vmin: float, vmax: float, units: str | None, display: Display | None = None
) -> bytes:
    """Return a colour bar (columns left to right from *vmin* to *vmax*) with its labels.

    With *display*, the labels are in its units (the range times its factor).
    """
    if display is not None:
        units, scale = display
        label_min, label_max = vmin * scale, vmax * scale
    else:
        label_min, label_max = vmin, vmax
    image = np.full((LEGEND_HEIGHT, LEGEND_WIDTH, 4), 255, dtype=np.uint8)
    colours = lut[lut_indices(bar_values(vmin, vmax), vmin, vmax)]
    image[BAR_TOP : BAR_TOP + BAR_HEIGHT, :, :] = colours[None, :, :]
    picture = Image.fromarray(image, "RGBA")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default()
    text_top = BAR_TOP + BAR_HEIGHT + 3
    low, high = format_value(label_min), format_value(label_max)
    draw.text((2, text_top), low, fill=(0, 0, 0, 255), font=font)
    right = draw.textlength(high, font=font)
    draw.text((LEGEND_WIDTH - 2 - right, text_top), high, fill=(0, 0, 0, 255), font=font)
    if units and units != "1":
        middle = draw.textlength(units, font=font)
        draw.text(((LEGEND_WIDTH - middle) / 2, text_top), units, fill=(0, 0, 0, 255), font=font)
    return encode_png(np.asarray(picture))


def legend_json(
    lut: np.ndarray,
    vmin: float,
    vmax: float,
    colormap: str,
    units: str | None,
    description: str | None,
    display: Display | None = None,
) -> dict[str, Any]:
    """Return the legend as colour stops evenly spaced over the range.

    With *display*, a ``display`` member gives its units, factor and the range in them.
    """
    values = np.linspace(vmin, vmax, STOPS)
    stops = [{"value": float(v), "color": colour_of(float(v), lut, vmin, vmax)} for v in values]
    doc: dict[str, Any] = {
        "colormap": colormap,
        "range": [vmin, vmax],
        "units": units,
        "description": description,
        "stops": stops,
        "nodata": "transparent",
    }
    if display is not None:
        shown, scale = display
        doc["display"] = {"units": shown, "scale": scale, "range": [vmin * scale, vmax * scale]}
    return doc
