"""Climatologies over a baseline period, and anomalies against them.

A climatology is the mean of each calendar slot over the baseline years:

``dayofyear``
    Daily data. Slots are days of a 366-day year in which 29 February is day 60 and 1 March is
    always day 61, so the same calendar day shares a slot in leap and common years (a plain
    day-of-year would compare 1 March of a leap year with 2 March). Day 60 is the mean of the
    29 Februaries of the baseline; when the baseline has fewer than ``min_count`` of them it is
    the average of days 59 and 61. An optional circular running mean of ``smooth_days`` days
    smooths the daily cycle.
``month``
    Monthly (or finer) data, slots 1–12.
``season``
    Meteorological seasons DJF, MAM, JJA, SON (December counts with the following winter's
    label only by name: slots are ``DJF`` … ``SON``).
``all``
    One slot: the mean over the whole baseline.

Anomalies are ``x − climatology`` of the slot of each time step (``absolute``) or that
difference in percent of the climatology (``relative``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from spaceclimate.compute.cfmeta import (
    as_dataarray,
    median_step_days,
    parse_period,
    require_time,
    select_period,
    stamp,
)
from spaceclimate.errors import InputError

Period = Literal["auto", "dayofyear", "month", "season", "all"]
PERIODS = ("auto", "dayofyear", "month", "season", "all")
FEB29 = 60


def day_of_year_366(time: xr.DataArray) -> xr.DataArray:
    """Return the slot (1–366) of each date in a 366-day year where 1 March is always 61."""
    doy = time.dt.dayofyear
    shifted = xr.where(~time.dt.is_leap_year & (doy >= FEB29), doy + 1, doy)
    return shifted.rename("dayofyear")


def infer_period(da: xr.DataArray) -> str:
    """Return ``dayofyear`` for daily (or finer) data and ``month`` for monthly data."""
    times = require_time(da, minimum=1)
    step = median_step_days(times)
    if not np.isfinite(step) or step <= 1.5:
        return "dayofyear"
    if step <= 32:
        return "month"
    raise InputError(
        f"period: cannot infer a climatology slot for a {step:.0f}-day time step; name one"
    )


def _slots(da: xr.DataArray, period: str) -> xr.DataArray:
    if period == "dayofyear":
        return day_of_year_366(da["time"])
    if period == "month":
        return da["time"].dt.month.rename("month")
    if period == "season":
        return da["time"].dt.season.rename("season")
    return xr.zeros_like(da["time"], dtype="int64").rename("slot")


def _slot_values(period: str) -> np.ndarray:
    if period == "dayofyear":
        return np.arange(1, 367)
    if period == "month":
        return np.arange(1, 13)
    if period == "season":
        return np.array(["DJF", "MAM", "JJA", "SON"])
    return np.array([0])


def _smooth_circular(clim: xr.DataArray, days: int) -> xr.DataArray:
    half = days // 2
    padded = clim.pad(dayofyear=half, mode="wrap")
    rolled = padded.rolling(dayofyear=days, center=True, min_periods=1).mean()
    out = rolled.isel(dayofyear=slice(half, half + clim.sizes["dayofyear"]))
    return out.assign_coords(dayofyear=clim["dayofyear"].values)


def climatology(
    data: xr.Dataset | xr.DataArray,
    baseline: tuple[str, str] | list[str] | str | None = ("1981", "2010"),
    *,
    period: Period = "auto",
    min_count: int = 1,
    smooth_days: int = 0,
    variable: str | None = None,
) -> xr.DataArray:
    """Return the mean of each calendar slot of *data* over the *baseline* period.

    Parameters
    ----------
    data
        A harmonised variable with ``time`` (or a dataset plus *variable*).
    baseline
        ``(start, end)`` years or ISO dates (``("1981", "2010")`` covers 1981-01-01 to
        2010-12-31), ``"start/end"``, or None for the whole record.
    period
        The slots: ``dayofyear``, ``month``, ``season``, ``all`` or ``auto`` (from the time step).
    min_count
        Slots with fewer valid values than this are NaN (29 February: see the module docstring).
    smooth_days
        Odd window (days) of a circular running mean over the daily slots; 0 or 1 for none.

    Returns
    -------
    xarray.DataArray
        Dims: the slot dim (``dayofyear``, ``month``, ``season`` or none for ``all``) plus the
        non-time dims of *data*; units of *data*; ``cell_methods`` ``time: mean within years
        time: mean over years`` and the baseline in ``climatology_bounds``.
    """
    da = as_dataarray(data, variable)
    require_time(da)
    if period not in PERIODS:
        raise InputError(f"period: must be one of {', '.join(PERIODS)}, not {period!r}")
    slot_kind = infer_period(da) if period == "auto" else period
    if int(min_count) < 1:
        raise InputError(f"min_count: must be at least 1, not {min_count}")
    if smooth_days and (int(smooth_days) < 0 or int(smooth_days) % 2 == 0):
        raise InputError(f"smooth_days: must be an odd number of days, not {smooth_days}")
    if smooth_days > 1 and slot_kind != "dayofyear":
        raise InputError("smooth_days: smoothing applies to dayofyear climatologies only")
    base = select_period(da, baseline, "baseline")
    slots = _slots(base, slot_kind)
    grouped = base.groupby(slots)
    clim = grouped.mean(skipna=True)
    counts = base.notnull().groupby(slots).sum()
    dim = str(slots.name)
    values = _slot_values(slot_kind)
    clim = clim.reindex({dim: values})
    counts = counts.reindex({dim: values}, fill_value=0)
    clim = clim.where(counts >= int(min_count))
    if slot_kind == "dayofyear":
        neighbours = clim.sel(dayofyear=[FEB29 - 1, FEB29 + 1]).mean("dayofyear", skipna=False)
        feb29 = clim.sel(dayofyear=FEB29).fillna(neighbours)
        clim = xr.concat(
            [
                clim.sel(dayofyear=slice(1, FEB29 - 1)),
                feb29.expand_dims(dayofyear=[FEB29]),
                clim.sel(dayofyear=slice(FEB29 + 1, 366)),
            ],
            dim="dayofyear",
        )
        if smooth_days and smooth_days > 1:
            clim = _smooth_circular(clim, int(smooth_days))
    if slot_kind == "all":
        clim = clim.isel({dim: 0}, drop=True)
    clim.attrs = {k: da.attrs[k] for k in ("standard_name", "units") if k in da.attrs}
    name = da.attrs.get("long_name", da.name or "value")
    clim.attrs["long_name"] = f"{name}, climatology ({slot_kind}) over the baseline"
    clim.attrs["cell_methods"] = "time: mean within years time: mean over years"
    times = base["time"].values
    clim.attrs["climatology_bounds"] = [
        str(np.datetime_as_string(times.min(), unit="D")),
        str(np.datetime_as_string(times.max(), unit="D")),
    ]
    clim.attrs["sco_climatology_period"] = slot_kind
    clim.name = da.name
    params = {
        "baseline": baseline,
        "period": slot_kind,
        "min_count": min_count,
        "smooth_days": smooth_days,
    }
    return stamp(clim, "climatology", params, da)


def anomaly(
    data: xr.Dataset | xr.DataArray,
    reference: xr.DataArray | None = None,
    *,
    baseline: tuple[str, str] | list[str] | str | None = ("1981", "2010"),
    period: Period = "auto",
    kind: Literal["absolute", "relative"] = "absolute",
    variable: str | None = None,
) -> xr.DataArray:
    """Return *data* minus its climatology (absolute) or that difference in percent (relative).

    Parameters
    ----------
    data
        A harmonised variable with ``time`` (or a dataset plus *variable*).
    reference
        A climatology from :func:`climatology` (any source on the same grid); when None it is
        computed from *data* over *baseline* with *period*.
    kind
        ``absolute`` (units of *data*) or ``relative`` (percent of the climatology).
    """
    da = as_dataarray(data, variable)
    require_time(da)
    if kind not in ("absolute", "relative"):
        raise InputError(f"kind: must be 'absolute' or 'relative', not {kind!r}")
    computed = reference is None
    if reference is None:
        parse_period(baseline, "baseline")
        reference = climatology(da, baseline, period=period)
    slot_kind = str(reference.attrs.get("sco_climatology_period", ""))
    if not slot_kind:
        slot_kind = next(
            (d for d in ("dayofyear", "month", "season") if d in reference.dims), "all"
        )
    ref_units = reference.attrs.get("units")
    if ref_units is not None and da.attrs.get("units") not in (None, ref_units):
        raise InputError(
            f"reference: climatology units {ref_units!r} differ from the data's "
            f"{da.attrs['units']!r}"
        )
    for dim in reference.dims:
        if dim == slot_kind:
            continue
        same = (
            dim in da.dims
            and dim in reference.coords
            and dim in da.coords
            and reference.sizes[dim] == da.sizes[dim]
            and bool(np.array_equal(reference[dim].values, da[dim].values))
        )
        if not same:
            raise InputError(f"reference: its {dim!r} axis differs from the data's; regrid first")
    if slot_kind == "all":
        matched = reference
    else:
        slots = _slots(da, slot_kind)
        matched = reference.sel({slot_kind: slots}).drop_vars(slot_kind, errors="ignore")
    diff = da - matched
    if kind == "relative":
        diff = 100.0 * diff / matched
    name = da.attrs.get("long_name", da.name or "value")
    attrs = {"units": "%" if kind == "relative" else da.attrs.get("units", "1")}
    attrs["long_name"] = f"{name}, {'relative ' if kind == 'relative' else ''}anomaly"
    if "cell_methods" in da.attrs:
        attrs["cell_methods"] = str(da.attrs["cell_methods"])
    if "climatology_bounds" in reference.attrs:
        bounds = reference.attrs["climatology_bounds"]
        attrs["comment"] = f"Anomaly against the {slot_kind} climatology {bounds[0]} to {bounds[1]}"
    diff.attrs = attrs
    diff.name = f"{da.name}_anomaly" if da.name else "anomaly"
    params = {"baseline": baseline if computed else "given", "period": slot_kind, "kind": kind}
    return stamp(diff, "anomaly", params, da)
