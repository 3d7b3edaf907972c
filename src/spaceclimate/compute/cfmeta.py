"""Inputs, units, time axes and provenance shared by the analytics operations.

Every analytics function takes a harmonised :class:`xarray.DataArray` (or a Dataset plus the
name of one of its variables) and returns outputs that declare their units and carry CF
``long_name``/``cell_methods`` plus a ``history`` line and a machine-readable ``sco_operation``
record of the call, so a derived product always says how it was made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate import __version__
from spaceclimate.errors import InputError, NotFoundError, UnitError
from spaceclimate.harmonise.units import is_identity, linear_conversion, registry

XrObj = TypeVar("XrObj", xr.Dataset, xr.DataArray)

#: Mean length of a Gregorian year in days, the unit of every rate ("per year", "per decade").
DAYS_PER_YEAR = 365.2425
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")


def as_dataarray(data: xr.Dataset | xr.DataArray, variable: str | None = None) -> xr.DataArray:
    """Return the variable to work on: *data* itself, or ``data[variable]`` of a Dataset.

    Raises
    ------
    InputError
        When *data* is a Dataset with several variables and *variable* is not given.
    NotFoundError
        When *variable* is not a data variable of *data*.
    """
    if isinstance(data, xr.DataArray):
        if variable is not None and data.name is not None and data.name != variable:
            raise NotFoundError(f"variable: {variable!r} requested but the array is {data.name!r}")
        return data
    names = [str(n) for n in data.data_vars]
    if variable is None:
        if len(names) != 1:
            raise InputError(
                f"variable: the dataset holds {', '.join(names) or 'nothing'}; name one"
            )
        variable = names[0]
    if variable not in data.data_vars:
        raise NotFoundError(f"variable: no {variable!r}; known: {', '.join(names)}")
    return data[variable]


def units_of(da: xr.DataArray, parameter: str = "data") -> str:
    """Return the ``units`` attribute of *da* (InputError when it has none)."""
    units = da.attrs.get("units")
    if units is None or str(units).strip() == "":
        raise InputError(f"{parameter}: variable {da.name!r} declares no units")
    return str(units)


def convert_units(da: xr.DataArray, target: str) -> xr.DataArray:
    """Return *da* expressed in *target* units (a copy; attrs kept, ``units`` replaced)."""
    source = units_of(da)
    scale, offset = linear_conversion(source, target)
    if is_identity(scale, offset):
        return da.assign_attrs(units=target) if source != target else da
    out = da * scale + offset
    out.attrs = {**da.attrs, "units": target}
    return out


def rate_units(units: str, per: str) -> str:
    """Return the units of a rate of change of a quantity in *units*, per year or per decade.

    The result parses in the hub's unit registry (``decade`` there is a logarithmic unit, so a
    decade is written ``(10 year)``), e.g. ``K year-1`` or ``1e6 km2 / (10 year)``.
    """
    base = units.strip() or "1"
    if per == "year":
        text = f"{base} year-1" if base != "1" else "year-1"
    elif per == "decade":
        text = f"{base} / (10 year)" if base != "1" else "1 / (10 year)"
    else:
        raise InputError(f"per: must be 'year' or 'decade', not {per!r}")
    try:
        quantity = registry().parse_expression(text)
        quantity.to(registry().parse_expression(f"({base}) / year").units)
    except Exception as exc:  # pint raises several unrelated types
        raise UnitError(f"cannot form a rate from units {units!r}") from exc
    return text


def require_time(da: xr.DataArray, dim: str = "time", minimum: int = 1) -> pd.DatetimeIndex:
    """Return the time index of *da* (InputError when absent, not datetimes or too short)."""
    if dim not in da.dims:
        raise InputError(f"data: variable {da.name!r} has no {dim!r} dimension")
    values = da[dim].values
    if not np.issubdtype(values.dtype, np.datetime64):
        raise InputError(f"data: coordinate {dim!r} does not hold dates")
    if da.sizes[dim] < minimum:
        raise InputError(f"data: {minimum} time steps needed, {da.sizes[dim]} given")
    return pd.DatetimeIndex(values)


def decimal_years(times: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Return times as years since year 0 on a uniform axis (1970 + days / 365.2425)."""
    stamps = np.asarray(pd.DatetimeIndex(times).values, dtype="datetime64[ns]")
    days = (stamps - _EPOCH) / np.timedelta64(1, "D")
    return 1970.0 + np.asarray(days, dtype="float64") / DAYS_PER_YEAR


def median_step_days(times: pd.DatetimeIndex) -> float:
    """Return the median spacing of *times* in days (NaN for fewer than two steps)."""
    if len(times) < 2:
        return float("nan")
    steps = np.diff(times.values).astype("timedelta64[s]").astype("float64") / 86400.0
    return float(np.median(steps))


def parse_period(period: tuple[str, str] | list[str] | str | None, name: str) -> slice | None:
    """Return a time slice from ``(start, end)`` or ``"start/end"`` (years or ISO dates).

    A bare year as end means the end of that year (``("1981", "2010")`` is 1981-01-01 to
    2010-12-31), as pandas partial-string selection does.
    """
    if period is None:
        return None
    parts = period.split("/") if isinstance(period, str) else list(period)
    if len(parts) != 2:
        raise InputError(f"{name}: expected start and end, got {period!r}")
    texts = [str(p).strip() for p in parts]
    for text in texts:
        try:
            pd.Timestamp(text)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{name}: cannot read {text!r} as a date or year") from exc
    if pd.Timestamp(texts[0]) > pd.Timestamp(texts[1]):
        raise InputError(f"{name}: start {texts[0]} is after end {texts[1]}")
    return slice(texts[0], texts[1])


def select_period(
    da: xr.DataArray, period: tuple[str, str] | list[str] | str | None, name: str
) -> xr.DataArray:
    """Return *da* restricted to *period* (InputError naming *name* when nothing is left)."""
    window = parse_period(period, name)
    if window is None:
        return da
    out = da.sel(time=window)
    if out.sizes.get("time", 0) == 0:
        raise InputError(f"{name}: no data between {window.start} and {window.stop}")
    return out


def append_cell_method(attrs: Mapping[str, Any], method: str) -> str:
    """Return the ``cell_methods`` of *attrs* with *method* appended."""
    before = str(attrs.get("cell_methods", "")).strip()
    return f"{before} {method}".strip()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def stamp(
    out: XrObj,
    operation: str,
    params: Mapping[str, Any],
    source: xr.DataArray | xr.Dataset | None = None,
) -> XrObj:
    """Record *operation* and its *params* in the ``history`` and ``sco_operation`` attrs.

    The source's own history (if any) is kept before the new line, and its collection ``id``
    (if any) is named, so chained operations read as a lineage.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if v is not None)
    line = f"{now} spaceclimate {__version__} compute.{operation}({shown})"
    previous = str(source.attrs.get("history", "")).strip() if source is not None else ""
    record: dict[str, Any] = {
        "operation": f"spaceclimate.compute.{operation}",
        "parameters": _jsonable(dict(params)),
        "software": f"spaceclimate {__version__}",
        "date": now,
    }
    if source is not None:
        if source.name is not None and isinstance(source, xr.DataArray):
            record["input_variable"] = str(source.name)
        for key in ("id", "sco_collection_version"):
            if key in source.attrs:
                record[f"input_{key}"] = _jsonable(source.attrs[key])
    out.attrs = dict(out.attrs)  # never write into attrs shared with the input
    out.attrs["history"] = f"{previous}\n{line}".strip()
    out.attrs["sco_operation"] = json.dumps(record, sort_keys=True)
    return out
