"""Decode one source variable into a canonical variable: masks, packing, recoding, units."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import xarray as xr

from spaceclimate.ecv.models import VariableDef, VariableSpec
from spaceclimate.errors import InputError, UnitError
from spaceclimate.harmonise.units import is_identity, linear_conversion

#: Share of finite values allowed outside the ECV's valid range before the file is refused
#: (a larger share means wrong units or a wrong scale factor, not a few bad pixels).
MAX_OUT_OF_RANGE = 0.02


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


def _same_kind(attr: Any, data: xr.DataArray | np.ndarray) -> bool:
    kind = np.asarray(attr).dtype.kind
    return (kind in "iu") == (data.dtype.kind in "iu")


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


#: Values decoded at a time by :func:`decode_packed` (its float64 scratch stays in cache).
DECODE_BLOCK = 1 << 16


def decode_packed(
    rawvals: np.ndarray,
    spec: VariableSpec,
    attrs: dict[str, Any],
    file: str,
    units: tuple[float, float],
    name: Hashable,
) -> np.ndarray:
    """Decode the stored values of a packed variable (no recoding or flag masks) to float32.

    The same operations in the same order as :func:`_decode_general` (so the same values to
    the last bit), on numpy arrays without building an xarray object per step, and a block
    of values at a time (each operation is element-wise): this is the ingest's hot path
    (also used by :mod:`spaceclimate.harmonise.fast`).
    """
    flags: list[Any] = []
    if spec.mask_flag_values:
        flags = _as_list(attrs.get("flag_values"))
        if not flags:
            raise InputError(f"{file}: {name!r} declares no flag_values to mask")
    vmin, vmax = _valid_limits(attrs)
    packed_range = vmin is not None and _same_kind(vmin, rawvals)
    decode = _PackedDecoding(
        fills=_fills(attrs, spec),
        flags=flags,
        packed_limits=(vmin, vmax) if packed_range and vmax is not None else None,
        decoded_limits=(
            (float(vmin), float(vmax))
            if vmin is not None and vmax is not None and not packed_range
            else None
        ),
        scale=_number(spec.scale_factor, attrs.get("scale_factor"), 1.0),
        offset=_number(spec.add_offset, attrs.get("add_offset"), 0.0),
        mask_above=spec.mask_above,
        mask_below=spec.mask_below,
        units=units,
    )
    flat = np.ravel(rawvals)
    out = np.empty(flat.shape, dtype="float32")
    for start in range(0, flat.size, DECODE_BLOCK):
        out[start : start + DECODE_BLOCK] = decode(flat[start : start + DECODE_BLOCK])
    return out.reshape(rawvals.shape)


@dataclass(frozen=True)
class _PackedDecoding:
    """The element-wise steps of :func:`decode_packed`, applied to one block of values."""

    fills: list[Any]
    flags: list[Any]
    packed_limits: tuple[Any, Any] | None
    decoded_limits: tuple[float, float] | None
    scale: float
    offset: float
    mask_above: float | None
    mask_below: float | None
    units: tuple[float, float]

    @cached_property
    def _scaled(self) -> bool:
        """Whether the packing scales or offsets (decided once, not once a block)."""
        return not is_identity(self.scale, self.offset)

    @cached_property
    def _converted(self) -> bool:
        """Whether the units conversion changes the values."""
        return not is_identity(*self.units)

    def __call__(self, rawvals: np.ndarray) -> np.ndarray:
        data = rawvals.astype("float64")
        invalid = np.zeros(rawvals.shape, dtype=bool)
        for fv in self.fills:
            invalid |= rawvals == fv
        if self.flags:
            invalid |= np.isin(rawvals, self.flags)
        if self.packed_limits is not None:
            vmin, vmax = self.packed_limits
            invalid |= (rawvals < vmin) | (rawvals > vmax)
        data[invalid] = np.nan
        if self._scaled:
            data *= self.scale
            data += self.offset
        with np.errstate(invalid="ignore"):
            if self.decoded_limits is not None:
                lo, hi = self.decoded_limits
                data[~((data >= lo) & (data <= hi))] = np.nan
            if self.mask_above is not None:
                data[~(data <= self.mask_above)] = np.nan
            if self.mask_below is not None:
                data[~(data >= self.mask_below)] = np.nan
        k, b = self.units
        if self._converted:
            data *= k
            data += b
        return data


def _decode_plain(
    src: xr.DataArray,
    spec: VariableSpec,
    attrs: dict[str, Any],
    file: str,
    units: tuple[float, float],
) -> xr.DataArray:
    """Decode a packed variable without recoding or flag masks (see :func:`decode_packed`)."""
    data = decode_packed(np.asarray(src.values), spec, attrs, file, units, src.name)
    return xr.DataArray(data, dims=src.dims, coords=src.coords)


def _decode_general(
    raw: xr.Dataset,
    src: xr.DataArray,
    spec: VariableSpec,
    attrs: dict[str, Any],
    file: str,
    units: tuple[float, float],
) -> xr.DataArray:
    """Decode any variable (recoded classes, quality-flag masks) with xarray operations."""
    data = src.astype("float64")
    rawvals = src
    invalid = xr.zeros_like(src, dtype=bool)
    for fv in _fills(attrs, spec):
        invalid = invalid | (rawvals == fv)
    if spec.mask_flag_values:
        flags = _as_list(attrs.get("flag_values"))
        if not flags:
            raise InputError(f"{file}: {src.name!r} declares no flag_values to mask")
        invalid = invalid | rawvals.isin(flags)
    vmin, vmax = _valid_limits(attrs)
    # CF: a valid range of the stored type applies to stored values; otherwise it is in
    # decoded units and applied after unpacking below.
    packed_range = vmin is not None and _same_kind(vmin, src)
    if spec.recode is None and packed_range and vmin is not None and vmax is not None:
        invalid = invalid | (rawvals < vmin) | (rawvals > vmax)
    if spec.valid_if_flag is not None:
        flag_name = spec.valid_if_flag.variable
        if flag_name not in raw.variables:
            raise InputError(f"{file}: flag variable {flag_name!r} not found")
        flag = raw[flag_name]
        bits = xr.where(flag.notnull(), flag, 0).astype("int64") & int(spec.valid_if_flag.mask)
        is_set = bits != 0
        ok = is_set if spec.valid_if_flag.valid_when == "set" else ~is_set
        invalid = invalid | ~ok

    scale, offset = 1.0, 0.0
    if spec.recode is not None:
        out = xr.full_like(data, np.nan)
        for key, value in spec.recode.items():
            if value is not None:
                out = xr.where(rawvals == key, value, out)
        data = out
    else:
        scale = _number(spec.scale_factor, attrs.get("scale_factor"), 1.0)
        offset = _number(spec.add_offset, attrs.get("add_offset"), 0.0)
    data = data.where(~invalid)
    if not is_identity(scale, offset):
        data = data * scale + offset
    if spec.recode is None and vmin is not None and vmax is not None and not packed_range:
        data = data.where((data >= float(vmin)) & (data <= float(vmax)))
    if spec.mask_above is not None:
        data = data.where(data <= spec.mask_above)
    if spec.mask_below is not None:
        data = data.where(data >= spec.mask_below)
    k, b = units
    if not is_identity(k, b):
        data = data * k + b
    return data.astype("float32")


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


def canonical_attrs(spec: VariableSpec, target: VariableDef, source_units: str) -> dict[str, Any]:
    """Return the attributes of a canonical variable (ECV table first, then the recipe's)."""
    attrs: dict[str, Any] = {
        "long_name": target.long_name,
        "units": target.units,
        "valid_min": float(target.valid_range[0]),
        "valid_max": float(target.valid_range[1]),
        "source_variable": spec.source if isinstance(spec.source, str) else ",".join(spec.source),
        "source_units": source_units,
    }
    if target.standard_name:
        attrs["standard_name"] = target.standard_name
    if spec.comment:
        attrs["comment"] = spec.comment
    attrs.update(spec.attrs)
    return attrs


def decode_variable(
    raw: xr.Dataset, name: str, spec: VariableSpec, target: VariableDef, file: str
) -> xr.DataArray:
    """Return canonical variable *name* decoded from *raw* following *spec*.

    Order: raw fill values, flag values and valid range are masked on the stored values;
    classes are recoded; packing (scale/offset, recipe overrides first) is applied; decoded
    thresholds are masked; units are converted to the ECV table's canonical units; the
    share of values outside the ECV's valid range is checked.
    """
    src = _select_source(raw, spec, file)
    attrs = dict(src.attrs)
    source_units, units = unit_conversion(src.name, attrs, spec, target, file)
    if spec.recode is None and spec.valid_if_flag is None:
        data = _decode_plain(src, spec, attrs, file, units)
    else:
        data = _decode_general(raw, src, spec, attrs, file, units)
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
    with np.errstate(invalid="ignore"):
        outside = (values < lo) | (values > hi)  # False where missing
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
