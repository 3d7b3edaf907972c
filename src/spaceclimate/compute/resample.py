"""Temporal resampling (daily → monthly, monthly → annual, …) that respects missing data.

A period's statistic is kept only when enough of the period has valid data: the *valid
fraction* is the number of valid values divided by the number of time steps the period should
hold. That expected number comes from the data's own time step: by default (``step="auto"``)
the median spacing of the time stamps inside the period, so a record sampled every other day
(the early NSIDC sea-ice index) is complete with 15 values a month, while a month with a
two-day gap in daily data is not. Give a fixed ``step`` (``"1D"``, ``"MS"``) to count against
that instead. Periods below ``min_valid_fraction`` are NaN; the fraction is returned as the
``valid_fraction`` coordinate and the threshold is recorded in the attributes.
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
import pandas as pd
import xarray as xr
from pandas.tseries.frequencies import to_offset

from spaceclimate.compute.cfmeta import (
    append_cell_method,
    as_dataarray,
    median_step_days,
    require_time,
    stamp,
)
from spaceclimate.errors import InputError

Statistic = Literal["mean", "sum", "min", "max", "median", "std"]
#: Plain-word period names and the pandas offsets they stand for (period start labels).
FREQ_ALIASES = {
    "day": "D",
    "daily": "D",
    "month": "MS",
    "monthly": "MS",
    "season": "QS-DEC",
    "seasonal": "QS-DEC",
    "year": "YS",
    "annual": "YS",
    "yearly": "YS",
}
STATISTICS = ("mean", "sum", "min", "max", "median", "std")


def parse_freq(freq: str) -> str:
    """Return the pandas offset alias for *freq* (``month``, ``year``, ``MS``, ``YS``, …)."""
    text = FREQ_ALIASES.get(str(freq).strip().lower(), str(freq).strip())
    try:
        to_offset(text)
    except ValueError as exc:
        raise InputError(
            f"freq: {freq!r} is not a period (try month, year, season, MS, YS)"
        ) from exc
    return text


def _steps_in(start: pd.Timestamp, end: pd.Timestamp, step_days: float, step: str | None) -> float:
    """Expected number of time steps in ``[start, end)`` for a step of *step_days* or *step*."""
    if step is not None:
        return float(len(pd.date_range(start, end, freq=step, inclusive="left")))
    if not np.isfinite(step_days) or step_days <= 0:
        return float("nan")
    if 27.0 <= step_days <= 32.0:  # monthly data: count calendar months
        return float((end.year - start.year) * 12 + end.month - start.month)
    if 359.0 <= step_days <= 367.0:  # annual data
        return float(end.year - start.year)
    return (end - start) / pd.Timedelta(days=step_days)


def expected_counts(
    times: pd.DatetimeIndex, freq: str, step: str = "auto"
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Return the period starts of *times* at *freq* and the time steps each should hold."""
    offset = to_offset(parse_freq(freq))
    fixed = None if step == "auto" else step
    if fixed is not None:
        try:
            to_offset(fixed)
        except ValueError as exc:
            raise InputError(f"step: {step!r} is not a time step (try auto, 1D, MS)") from exc
    series = pd.Series(np.arange(len(times)), index=times)
    overall = median_step_days(times)
    starts, expected = [], []
    for label, group in series.resample(offset, label="left", closed="left"):
        start = cast(pd.Timestamp, label)
        end = start + offset
        local = median_step_days(pd.DatetimeIndex(group.index))
        step_days = local if np.isfinite(local) else overall
        starts.append(start)
        expected.append(_steps_in(start, end, step_days, fixed))
    return pd.DatetimeIndex(starts), np.asarray(expected, dtype="float64")


def valid_fraction(da: xr.DataArray, freq: str, step: str = "auto") -> xr.DataArray:
    """Return, per period of *freq*, the fraction of expected time steps with valid data."""
    times = require_time(da)
    alias = parse_freq(freq)
    starts, expected = expected_counts(times, alias, step)
    counts = da.notnull().resample(time=alias, label="left", closed="left").sum()
    counts = counts.reindex(time=starts, fill_value=0)
    expect = xr.DataArray(expected, dims=("time",), coords={"time": starts})
    fraction = (counts / expect).clip(max=1.0).fillna(0.0)
    return fraction.drop_vars([c for c in fraction.coords if c not in fraction.dims])


def resample_time(
    data: xr.Dataset | xr.DataArray,
    freq: str = "month",
    *,
    statistic: Statistic = "mean",
    min_valid_fraction: float = 0.5,
    step: str = "auto",
    variable: str | None = None,
) -> xr.DataArray:
    """Return one value per period (labelled by the period start) from finer time steps.

    Parameters
    ----------
    data
        A harmonised variable with a ``time`` dimension (or a dataset plus *variable*).
    freq
        The period: ``month``, ``season`` (DJF, MAM, …), ``year`` or any pandas offset alias.
    statistic
        ``mean``, ``sum``, ``min``, ``max``, ``median`` or ``std`` of the valid values.
    min_valid_fraction
        Periods whose valid fraction is below this value (0–1), or with no valid value, are NaN.
    step
        The data's time step to count expected values with; ``auto`` (per-period median
        spacing) or a pandas offset such as ``1D`` or ``MS``.
    """
    da = as_dataarray(data, variable)
    require_time(da)
    if statistic not in STATISTICS:
        raise InputError(f"statistic: must be one of {', '.join(STATISTICS)}, not {statistic!r}")
    if not 0.0 <= float(min_valid_fraction) <= 1.0:
        raise InputError(f"min_valid_fraction: must be between 0 and 1, not {min_valid_fraction}")
    alias = parse_freq(freq)
    fraction = valid_fraction(da, alias, step)
    resampler = da.resample(time=alias, label="left", closed="left")
    out = getattr(resampler, statistic)(skipna=True, keep_attrs=True)
    out = out.reindex(time=fraction["time"].values)
    out = out.where((fraction >= min_valid_fraction) & (fraction > 0))  # no data: missing
    attrs = dict(da.attrs)
    if statistic in ("sum", "std"):  # no longer the same quantity, nor in the same range
        for key in ("valid_min", "valid_max", "valid_range", "standard_name"):
            attrs.pop(key, None)
    interval = {"MS": "1 month", "YS": "1 year", "QS-DEC": "3 months", "D": "1 day"}.get(
        alias, alias
    )
    attrs["cell_methods"] = append_cell_method(
        da.attrs,
        f"time: {'standard_deviation' if statistic == 'std' else statistic} "
        f"(interval: {interval} comment: periods with a valid fraction below "
        f"{min_valid_fraction:g} are missing)",
    )
    attrs["sco_resample_freq"] = alias
    attrs["sco_min_valid_fraction"] = float(min_valid_fraction)
    attrs["sco_expected_step"] = step
    out.attrs = attrs
    out = out.assign_coords(
        valid_fraction=(
            fraction.dims,
            fraction.data,
            {
                "long_name": "fraction of the period's expected time steps with valid data",
                "units": "1",
            },
        )
    )
    out["time"].attrs = {"standard_name": "time", "long_name": "start of the period", "axis": "T"}
    out.name = da.name
    params = {
        "freq": alias,
        "statistic": statistic,
        "min_valid_fraction": min_valid_fraction,
        "step": step,
    }
    return stamp(out, "resample_time", params, da)


def select_month(
    data: xr.Dataset | xr.DataArray, month: int, *, variable: str | None = None
) -> xr.DataArray:
    """Return the time steps of one calendar month (1–12), e.g. every September mean."""
    da = as_dataarray(data, variable)
    require_time(da)
    if not 1 <= int(month) <= 12:
        raise InputError(f"month: must be 1 to 12, not {month}")
    out = da.isel(time=np.flatnonzero(da["time"].dt.month.values == int(month)))
    if out.sizes["time"] == 0:
        raise InputError(f"month: no time step falls in month {month}")
    return stamp(out, "select_month", {"month": int(month)}, da)
