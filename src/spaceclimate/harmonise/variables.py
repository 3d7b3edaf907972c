"""Decode one source variable into a canonical variable: masks, packing, recoding, units."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from spaceclimate.ecv.models import VariableDef, VariableSpec
from spaceclimate.errors import InputError, UnitError
from spaceclimate.harmonise.attrs import DISPLAY_SCALE_ATTR, DISPLAY_UNITS_ATTR
from spaceclimate.harmonise.decoding import Decoding, flag_invalid
from spaceclimate.harmonise.units import linear_conversion

#: Share of finite values allowed outside the ECV's valid range before the file is refused
#: (a larger share means wrong units or a wrong scale factor, not a few bad pixels).
MAX_OUT_OF_RANGE = 0.02
#: Share of the valid range by which a value may pass a limit and still be on it (rounding).
RANGE_SLACK = 1e-6


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(np.atleast_1d(np.asarray(value)).tolist())


def _valid_limits(attrs: dict[str, Any]) -> tuple[Any, Any]:
    valid_range = _as_list(attrs.get("valid_range"))
    vmin = attrs.get("valid_min", valid_range[0] if valid_range else None)
    vmax = attrs.get("valid_max", valid_range[-1] if valid_range else None)
    return vmin, vmax


def _number(override: float | None, attr: Any, default: float) -> float:
    if override is not None:
        return float(override)
    if attr is None:
        return default
    return float(np.asarray(attr))


def _same_kind(attr: Any, dtype: np.dtype[Any]) -> bool:
    """Whether an attribute and stored values are both integers, or both not."""
    return (np.asarray(attr).dtype.kind in "iu") == (dtype.kind in "iu")


def _select_source(raw: xr.Dataset, spec: VariableSpec, file: str) -> xr.DataArray:
    if isinstance(spec.source, str):
        if spec.source not in raw.variables:
            known = ", ".join(map(str, raw.data_vars))
            raise InputError(f"{file}: variable {spec.source!r} not found (has: {known})")
        return raw[spec.source]
    pieces = []
    for column in spec.source:
        if column not in raw.variables:
            raise InputError(f"{file}: column {column!r} not found")
        pieces.append(raw[column])
    assert spec.stack_dim is not None
    stacked = xr.concat(pieces, dim=spec.stack_dim, coords="minimal", compat="override")
    stacked = stacked.assign_coords({spec.stack_dim: list(spec.source.values())})
    stacked.attrs = dict(pieces[0].attrs)
    return stacked


def _fills(attrs: dict[str, Any], spec: VariableSpec) -> list[Any]:
    fills = _as_list(attrs.get("_FillValue")) + _as_list(attrs.get("missing_value"))
    fills += list(spec.fill_values)
    return [fv for fv in fills if not (isinstance(fv, float) and np.isnan(fv))]


def plan(
    spec: VariableSpec,
    attrs: dict[str, Any],
    dtype: np.dtype[Any],
    file: str,
    units: tuple[float, float],
    name: Hashable,
) -> Decoding:
    """Return the decoding of a variable stored as *dtype* with attributes *attrs*.

    The stored values' fills (the file's and the recipe's), flag values (when the recipe
    masks them) and valid range (CF: in the stored type it applies to stored values,
    otherwise to decoded ones), the packing (recipe overrides first), the recipe's decoded
    thresholds and the units conversion. A recoded variable has classes, not packed values:
    its packing and valid range do not apply.
    """
    flags: list[Any] = []
    if spec.mask_flag_values:
        flags = _as_list(attrs.get("flag_values"))
        if not flags:
            raise InputError(f"{file}: {name!r} declares no flag_values to mask")
    common: dict[str, Any] = {
        "fills": _fills(attrs, spec),
        "flags": flags,
        "mask_above": spec.mask_above,
        "mask_below": spec.mask_below,
        "units": units,
    }
    if spec.recode is not None:
        table = [(key, value) for key, value in spec.recode.items() if value is not None]
        return Decoding(recode=table, **common)
    vmin, vmax = _valid_limits(attrs)
    packed_range = vmin is not None and _same_kind(vmin, dtype)
    limited = vmin is not None and vmax is not None
    return Decoding(
        packed_limits=(vmin, vmax) if limited and packed_range else None,
        decoded_limits=(float(vmin), float(vmax)) if limited and not packed_range else None,
        scale=_number(spec.scale_factor, attrs.get("scale_factor"), 1.0),
        offset=_number(spec.add_offset, attrs.get("add_offset"), 0.0),
        **common,
    )


def decode_packed(
    rawvals: np.ndarray,
    spec: VariableSpec,
    attrs: dict[str, Any],
    file: str,
    units: tuple[float, float],
    name: Hashable,
    invalid: np.ndarray | None = None,
) -> np.ndarray:
    """Decode the stored values of a variable to float32 (see :func:`plan`).

    *invalid* (rawvals' shape, True where missing) is the variable's quality-flag mask when
    the recipe has one (see :func:`flag_mask`). This is the decoding of every path: the
    ingest's fast path calls it on the arrays it reads, :func:`decode_variable` on the
    values of a raw dataset.
    """
    if spec.valid_if_flag is not None and invalid is None:
        raise InputError(f"{file}: {name!r} needs its flag variable's mask to be decoded")
    return plan(spec, attrs, rawvals.dtype, file, units, name).decode(rawvals, invalid)


#: Flag tests already evaluated on one raw dataset: ``(variable, mask, valid_when)`` to the
#: failed-test array of the flag variable's shape (variables sharing a flag read it once).
FlagTests = dict[tuple[str, int, str], np.ndarray]


def flag_mask(
    raw: xr.Dataset,
    src: xr.DataArray,
    spec: VariableSpec,
    file: str,
    tested: FlagTests | None = None,
) -> np.ndarray:
    """Return where the recipe's quality-flag test fails, as an array of *src*'s shape.

    The flag variable is matched to *src* by dimension name (both come from one dataset, so
    they share their coordinates): it may lack some of *src*'s dimensions (e.g. one flag map
    for every band) and is then repeated along them, but may not have others. *tested* keeps
    the tests evaluated on *raw* for the next variables.
    """
    assert spec.valid_if_flag is not None
    test = spec.valid_if_flag
    if test.variable not in raw.variables:
        raise InputError(f"{file}: flag variable {test.variable!r} not found")
    flag = raw[test.variable]
    extra = [str(d) for d in flag.dims if d not in src.dims]
    if extra:
        raise InputError(
            f"{file}: flag variable {test.variable!r} has dimensions {src.name!r} lacks: "
            + ", ".join(extra)
        )
    tested = {} if tested is None else tested
    key = (test.variable, test.mask, test.valid_when)
    if key not in tested:
        tested[key] = flag_invalid(np.asarray(flag.values), test.mask, test.valid_when)
    return np.asarray(xr.Variable(flag.dims, tested[key]).set_dims(dict(src.sizes)).values)


def unit_conversion(
    src_name: Hashable, attrs: dict[str, Any], spec: VariableSpec, target: VariableDef, file: str
) -> tuple[str, tuple[float, float]]:
    """Return the source units and ``(scale, offset)`` converting them to the target's units."""
    source_units = spec.units or attrs.get("units")
    if source_units is None:
        raise UnitError(f"{file}: {src_name!r} declares no units; set 'units' in the recipe")
    try:
        k, b = linear_conversion(str(source_units), target.units)
    except UnitError as exc:
        raise UnitError(f"{file}: {src_name!r}: {exc}") from exc
    return str(source_units), (k, b)


def display_attrs(target: VariableDef) -> dict[str, Any]:
    """Return the display units of *target* and the factor to them, when the table names any.

    The factor comes from the unit registry (the canonical units converted to the display
    units), so the portal and legends show e.g. ozone columns in DU while the cube stores
    CF's ``mol m-2``.
    """
    if not target.display_units or target.display_units == target.units:
        return {}
    scale, offset = linear_conversion(target.units, target.display_units)
    if offset != 0.0:
        raise UnitError(f"{target.name}: display units {target.display_units!r} are not a scale")
    return {DISPLAY_UNITS_ATTR: target.display_units, DISPLAY_SCALE_ATTR: scale}


def canonical_attrs(spec: VariableSpec, target: VariableDef, source_units: str) -> dict[str, Any]:
    """Return the attributes of a canonical variable (ECV table first, then the recipe's).

    The CF standard name is the recipe's when it names a more precise one for its product
    (OSTIA's foundation temperature), else the ECV table's.
    """
    attrs: dict[str, Any] = {
        "long_name": target.long_name,
        "units": target.units,
        "valid_min": float(target.valid_range[0]),
        "valid_max": float(target.valid_range[1]),
        "source_variable": spec.source if isinstance(spec.source, str) else ",".join(spec.source),
        "source_units": source_units,
    }
    standard_name = spec.standard_name or target.standard_name
    if standard_name:
        attrs["standard_name"] = standard_name
    attrs.update(display_attrs(target))
    if spec.comment:
        attrs["comment"] = spec.comment
    attrs.update(spec.attrs)
    return attrs


def decode_variable(
    raw: xr.Dataset,
    name: str,
    spec: VariableSpec,
    target: VariableDef,
    file: str,
    tested: FlagTests | None = None,
) -> xr.DataArray:
    """Return canonical variable *name* decoded from *raw* following *spec*.

    Order: raw fill values, flag values, valid range and the quality-flag test are masked
    on the stored values; classes are recoded; packing (scale/offset, recipe overrides
    first) is applied; decoded thresholds are masked; units are converted to the ECV
    table's canonical units (see :mod:`spaceclimate.harmonise.decoding`). *tested* shares
    quality-flag tests between the variables of one raw dataset (see :func:`flag_mask`).
    """
    src = _select_source(raw, spec, file)
    attrs = dict(src.attrs)
    source_units, units = unit_conversion(src.name, attrs, spec, target, file)
    decoding = plan(spec, attrs, src.dtype, file, units, src.name)
    invalid = None if spec.valid_if_flag is None else flag_mask(raw, src, spec, file, tested)
    values = decoding.decode(np.asarray(src.values), invalid)
    data = xr.DataArray(values, dims=src.dims, coords=src.coords)
    data.attrs = canonical_attrs(spec, target, source_units)
    data.name = name
    return data


def outliers_masked(
    values: np.ndarray, target: VariableDef, file: str, name: Hashable
) -> np.ndarray | None:
    """Refuse values mostly outside the ECV's valid range (wrong units).

    Returns a copy with the rare outliers masked, or None when there are none.
    """
    lo, hi = target.valid_range
    n_finite = int(np.count_nonzero(~np.isnan(values)))
    if n_finite == 0:
        return None
    # a packed zero may decode a rounding away from it (12.7 + 0.1 * -127 in float32 is
    # -3.8e-7): values within a millionth of the range of a limit are on it
    slack = (hi - lo) * RANGE_SLACK
    with np.errstate(invalid="ignore"):
        outside = (values < lo - slack) | (values > hi + slack)  # False where missing
    n_out = int(np.count_nonzero(outside))
    share = n_out / n_finite
    if share > MAX_OUT_OF_RANGE:
        vmin, vmax = float(np.nanmin(values)), float(np.nanmax(values))
        raise UnitError(
            f"{file}: {name} spans {vmin:.4g}..{vmax:.4g} {target.units}, "
            f"{share:.0%} outside the valid range {lo:g}..{hi:g}: wrong units or scale factor?"
        )
    if n_out:
        return np.where(outside, np.asarray(np.nan, values.dtype), values)
    return None


def check_valid_range(data: xr.DataArray, target: VariableDef, file: str) -> xr.DataArray:
    """Refuse data mostly outside the ECV's valid range (wrong units); mask rare outliers."""
    masked = outliers_masked(np.asarray(data.values), target, file, data.name)
    return data if masked is None else data.copy(data=masked)
