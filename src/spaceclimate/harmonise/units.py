"""Unit parsing and conversion with a CF-aware unit registry.

Agencies spell units in many ways (``PSU``, ``10^6 sq km``, ``kg m**-2``). The ECV table's
``units`` section lists aliases and extra definitions; everything else goes through the CF
unit registry. Scaled units (``1e-3``, ``1e6 km2``) are parsed as quantities, so a conversion
is ``value * source magnitude`` expressed in the target unit and divided by the target magnitude.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from spaceclimate.ecv import unit_table
from spaceclimate.errors import UnitError

if TYPE_CHECKING:
    import pint


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """Return the shared unit registry with the ECV table's extra definitions loaded.

    Built at first use (about half a second): a conversion between two spellings the alias
    table maps to the same text needs no registry, which spares most ingests the cost."""
    with warnings.catch_warnings():  # it warns when optional plotting support is absent
        warnings.simplefilter("ignore")
        from cf_xarray.units import units as ureg

    for definition in unit_table().get("definitions", []):
        name = definition.split("=")[0].strip()
        if not hasattr(ureg, name):
            ureg.define(definition)
    return ureg


def normalise(units: str) -> str:
    """Map an agency's unit spelling to a parseable expression using the alias table."""
    aliases: dict[str, str] = unit_table().get("aliases", {})
    text = str(units).strip()
    return aliases.get(text, text)


def _parse(units: str) -> tuple[float, Any]:
    import pint

    ureg = registry()
    expr = normalise(units)
    try:
        quantity = ureg.parse_expression(expr)
    except Exception as exc:  # pint raises several unrelated types
        raise UnitError(f"unknown unit {units!r}") from exc
    if not isinstance(quantity, pint.Quantity):  # a bare number such as "1"
        return float(quantity), ureg.dimensionless
    return float(quantity.magnitude), quantity.units


@lru_cache(maxsize=256)
def check_units(units: str) -> str:
    """Return *units* (stripped) when the unit registry knows it; UnitError otherwise."""
    text = str(units).strip()
    if not text:
        raise UnitError("units: empty")
    _parse(text)
    return text


@lru_cache(maxsize=256)
def linear_conversion(source: str, target: str) -> tuple[float, float]:
    """Return ``(scale, offset)`` so that ``target_value = source_value * scale + offset``.

    Raises
    ------
    UnitError
        When either unit is unknown or the two are not convertible.
    """
    if normalise(source) == normalise(target):
        return 1.0, 0.0  # the same unit, however the agency spelled it
    import pint

    ureg = registry()
    src_mag, src_unit = _parse(source)
    dst_mag, dst_unit = _parse(target)
    try:
        zero = ureg.Quantity(0.0 * src_mag, src_unit).to(dst_unit).magnitude / dst_mag
        one = ureg.Quantity(1.0 * src_mag, src_unit).to(dst_unit).magnitude / dst_mag
    except pint.DimensionalityError as exc:
        raise UnitError(f"cannot convert {source!r} to {target!r}") from exc
    return float(one - zero), float(zero)


def is_identity(scale: float, offset: float) -> bool:
    """True when a conversion changes nothing (within float rounding)."""
    return bool(np.isclose(scale, 1.0, rtol=1e-12) and np.isclose(offset, 0.0, atol=1e-12))
