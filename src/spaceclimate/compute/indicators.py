"""Climate indicators computed with xclim's generic indices, with units and missing-data rules.

The indices come from :mod:`xclim.indices.generic` (threshold counts, resampled statistics,
cumulative exceedance); thresholds are quantities with units (``"28.5 degC"``,
``"0.1 m3 m-3"``) converted to the data's units by xclim, and outputs carry the units xclim
derives (a count of daily steps is in days, an exceedance integral in ``K d``). On top of xclim,
every period whose share of valid time steps is below ``min_valid_fraction`` is NaN (the rule
of :mod:`spaceclimate.compute.resample`; the fraction is the ``valid_fraction`` coordinate).

Typical inputs: daily SST (days above a bleaching or heatwave threshold, degree days above a
threshold), daily soil moisture (days below a dryness threshold), any series (monthly or
annual mean, maximum, …).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import xarray as xr

from spaceclimate.compute.cfmeta import as_dataarray, require_time, stamp, units_of
from spaceclimate.compute.resample import STATISTICS, parse_freq, valid_fraction
from spaceclimate.errors import InputError

Operator = Literal[">", ">=", "<", "<="]
OPERATORS = (">", ">=", "<", "<=")
_OP_WORDS = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}


@contextmanager
def quiet_xclim() -> Iterator[None]:
    """Silence deprecation notices xclim raises about its own use of pandas and xarray."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="xclim")
        warnings.filterwarnings("ignore", category=FutureWarning, module="xclim")
        yield


def _threshold(threshold: str | float, da: xr.DataArray) -> float:
    """Return *threshold* in the units of *da* (a bare number is taken in those units)."""
    from xclim.core.units import convert_units_to  # heavy: imported when used

    if isinstance(threshold, int | float):
        return float(threshold)
    try:
        with quiet_xclim():
            return float(convert_units_to(str(threshold), da))
    except Exception as exc:  # xclim/pint raise several unrelated types
        raise InputError(
            f"threshold: cannot use {threshold!r} with data in {units_of(da)!r} ({exc})"
        ) from exc


def _prepare(
    data: xr.Dataset | xr.DataArray, variable: str | None, freq: str, min_valid_fraction: float
) -> tuple[xr.DataArray, str, xr.DataArray]:
    da = as_dataarray(data, variable)
    require_time(da, minimum=1)
    units_of(da)
    if not 0.0 <= float(min_valid_fraction) <= 1.0:
        raise InputError(f"min_valid_fraction: must be between 0 and 1, not {min_valid_fraction}")
    alias = parse_freq(freq)
    return da, alias, valid_fraction(da, alias)


def _finish(
    out: xr.DataArray,
    fraction: xr.DataArray,
    min_valid_fraction: float,
    long_name: str,
    operation: str,
    params: dict[str, Any],
    source: xr.DataArray,
) -> xr.DataArray:
    out = out.reindex(time=fraction["time"].values)
    out = out.where((fraction >= float(min_valid_fraction)) & (fraction > 0))
    out = out.assign_coords(
        valid_fraction=(fraction.dims, fraction.data, {"long_name": "valid fraction", "units": "1"})
    )
    attrs = {k: v for k, v in out.attrs.items() if k in ("units", "units_metadata", "cell_methods")}
    attrs["long_name"] = long_name
    attrs["sco_min_valid_fraction"] = float(min_valid_fraction)
    out.attrs = attrs
    out.name = operation
    return stamp(out, operation, params, source)


def days_over_threshold(
    data: xr.Dataset | xr.DataArray,
    threshold: str | float,
    *,
    op: Operator = ">",
    freq: str = "year",
    min_valid_fraction: float = 0.8,
    variable: str | None = None,
) -> xr.DataArray:
    """Return the number of time steps per period where ``data op threshold`` (days for daily data).

    Parameters
    ----------
    threshold
        A quantity with units (``"28 degC"``) or a number in the data's units.
    op
        ``>``, ``>=``, ``<`` or ``<=``.
    freq
        The period: ``month``, ``season``, ``year`` or a pandas offset alias.
    """
    from xclim.core.units import to_agg_units  # heavy: imported when used
    from xclim.indices.generic import threshold_count  # heavy: imported when used

    da, alias, fraction = _prepare(data, variable, freq, min_valid_fraction)
    if op not in OPERATORS:
        raise InputError(f"op: must be one of {', '.join(OPERATORS)}, not {op!r}")
    value = _threshold(threshold, da)
    with quiet_xclim():
        counted = threshold_count(da, op, value, alias)
        try:
            counted = to_agg_units(counted, da, "count")
        except (ValueError, KeyError):  # the sampling step cannot be inferred: count steps
            counted = counted.assign_attrs(units="1")
    name = da.attrs.get("long_name", da.name or "value")
    what = "days" if counted.attrs.get("units") == "d" else "time steps"
    long_name = f"Number of {what} with {name} {_OP_WORDS[op]} {threshold}"
    params = {
        "threshold": threshold,
        "op": op,
        "freq": alias,
        "min_valid_fraction": min_valid_fraction,
    }
    return _finish(
        counted, fraction, min_valid_fraction, long_name, "days_over_threshold", params, da
    )


def degree_days_over_threshold(
    data: xr.Dataset | xr.DataArray,
    threshold: str | float,
    *,
    op: Literal[">", "<"] = ">",
    freq: str = "year",
    min_valid_fraction: float = 0.8,
    variable: str | None = None,
) -> xr.DataArray:
    """Return the time integral of the exceedance beyond *threshold* per period (e.g. ``K d``)."""
    from xclim.indices.generic import cumulative_difference  # heavy: imported when used

    da, alias, fraction = _prepare(data, variable, freq, min_valid_fraction)
    if op not in (">", "<"):
        raise InputError(f"op: must be '>' or '<', not {op!r}")
    value = _threshold(threshold, da)
    try:
        with quiet_xclim():
            summed = cumulative_difference(da, f"{value} {units_of(da)}", op, freq=alias)
    except ValueError as exc:
        raise InputError(f"data: cannot integrate over time ({exc})") from exc
    name = da.attrs.get("long_name", da.name or "value")
    long_name = f"Cumulative exceedance of {name} {_OP_WORDS[op]} {threshold}"
    params = {
        "threshold": threshold,
        "op": op,
        "freq": alias,
        "min_valid_fraction": min_valid_fraction,
    }
    return _finish(
        summed, fraction, min_valid_fraction, long_name, "degree_days_over_threshold", params, da
    )


def period_statistic(
    data: xr.Dataset | xr.DataArray,
    statistic: str = "mean",
    *,
    freq: str = "year",
    min_valid_fraction: float = 0.8,
    variable: str | None = None,
) -> xr.DataArray:
    """Return a statistic (``mean``, ``max``, ``min``, ``std``, ``sum``, …) of every period."""
    from xclim.indices.generic import select_resample_op  # heavy: imported when used

    da, alias, fraction = _prepare(data, variable, freq, min_valid_fraction)
    allowed = tuple(s for s in STATISTICS if s != "median")
    if statistic not in allowed:
        raise InputError(f"statistic: must be one of {', '.join(allowed)}, not {statistic!r}")
    with quiet_xclim():
        out = select_resample_op(da, statistic, freq=alias)  # type: ignore[arg-type]
    name = da.attrs.get("long_name", da.name or "value")
    long_name = f"{statistic} of {name} per period ({alias})"
    params = {"statistic": statistic, "freq": alias, "min_valid_fraction": min_valid_fraction}
    return _finish(out, fraction, min_valid_fraction, long_name, "period_statistic", params, da)
