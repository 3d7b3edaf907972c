"""What a place's dossier says of one series: its record, climatology, latest anomaly, trend.

A dossier (:mod:`spaceclimate.services.dossier`) reads, for every pooled collection, the
series of each of its variables at a place (the cell nearest a point, or the area-weighted
mean over a polygon) and summarises it here, with the hub's own climatology and trend code:

record
    Every time step with its value (missing ones as ``null``), the number of valid steps, the
    first and last valid times and the cadence (median days between steps).
climatology
    The mean of each calendar month over the whole record (:func:`~spaceclimate.compute.
    climatology.climatology` with ``period="month"``) for data a month apart or finer; one
    mean (``period="all"``) for coarser data (seasonal, annual). It needs valid values in at
    least :data:`MIN_CLIMATOLOGY_YEARS` calendar years; otherwise it is ``null`` and
    ``notes.climatology`` says why. The records pooled are short, so the baseline is the
    whole record (its bounds are given), not a 30-year normal.
anomaly
    The last valid value minus the climatology of its month (or of the record). It needs the
    climatology, and that month's mean taken over at least two values (else it would be zero
    by construction).
trend
    Ordinary least squares (:func:`~spaceclimate.compute.trends.linear_trend`) per decade,
    of the anomalies when a monthly climatology exists (the seasonal cycle removed, so it
    cannot bias the slope) and of the values otherwise, with the standard error, the 95 %
    interval and p-value from Student's t, where the effective sample size is reduced by
    the lag-1 autocorrelation of the residuals (Santer et al. 2000). It needs
    :data:`MIN_TREND_STEPS` valid steps spanning at least :data:`MIN_TREND_YEARS` years.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate.compute.cfmeta import DAYS_PER_YEAR
from spaceclimate.compute.climatology import anomaly, climatology
from spaceclimate.compute.trends import linear_trend

#: Calendar years with valid values a climatology needs.
MIN_CLIMATOLOGY_YEARS = 2
#: Valid steps a trend needs, and the years they must span.
MIN_TREND_STEPS = 3
MIN_TREND_YEARS = 2.0
#: Cadences (median days between steps) up to this get a monthly climatology.
MONTHLY_CADENCE_DAYS = 62.0
#: The confidence level of the trend's interval.
CONFIDENCE = 0.95


def iso(value: Any) -> str:
    """Return a time stamp as ISO 8601 UTC to the second (``2020-01-16T12:00:00Z``)."""
    return str(np.datetime_as_string(np.datetime64(value, "s"), unit="s")) + "Z"


def _number(value: Any) -> float | None:
    """Return a finite value as a float, anything else as None (JSON null)."""
    number = float(value)
    return number if np.isfinite(number) else None


def cadence_days(times: np.ndarray) -> float | None:
    """Return the median spacing of *times* in days, None for fewer than two steps."""
    if times.size < 2:
        return None
    steps = np.diff(times.astype("datetime64[s]")).astype("float64") / 86400.0
    return float(np.median(steps))


def _record(da: xr.DataArray, valid: np.ndarray) -> dict[str, Any]:
    times = da["time"].values
    good = times[valid]
    return {
        "steps": int(times.size),
        "valid_steps": int(valid.sum()),
        "first": iso(good[0]) if good.size else None,
        "last": iso(good[-1]) if good.size else None,
        "cadence_days": cadence_days(times),
        "time": [iso(t) for t in times],
        "value": [_number(v) for v in np.asarray(da.values, dtype="float64")],
    }


def _climatology(
    da: xr.DataArray, valid: np.ndarray, notes: dict[str, str]
) -> tuple[dict[str, Any] | None, xr.DataArray | None]:
    """Return the climatology's summary and the climatology itself (or None, with a note)."""
    times = pd.DatetimeIndex(da["time"].values)
    years = int(np.unique(times.year[valid]).size)
    if years < MIN_CLIMATOLOGY_YEARS:
        notes["climatology"] = (
            f"the record has valid values in {years} calendar year(s); a climatology needs "
            f"at least {MIN_CLIMATOLOGY_YEARS}"
        )
        return None, None
    step = cadence_days(times.values[valid]) or 0.0
    slot: Literal["month", "all"] = "month" if step <= MONTHLY_CADENCE_DAYS else "all"
    clim = climatology(da, None, period=slot)
    if slot == "month":
        counts = da.notnull().groupby(da["time"].dt.month).sum().reindex(month=range(1, 13))
        values = [_number(v) for v in np.asarray(clim.values, dtype="float64")]
        summary: dict[str, Any] = {
            "period": "month",
            "month": list(range(1, 13)),
            "value": values,
            "count": [int(c) for c in np.nan_to_num(counts.values).astype("int64")],
        }
    else:
        summary = {"period": "all", "value": _number(clim.values), "count": int(valid.sum())}
    summary["bounds"] = [iso(v) for v in clim.attrs["climatology_bounds"]]
    summary["units"] = str(da.attrs.get("units", ""))
    return summary, clim


def _anomaly(
    da: xr.DataArray,
    valid: np.ndarray,
    clim: xr.DataArray | None,
    summary: dict[str, Any] | None,
    notes: dict[str, str],
) -> tuple[dict[str, Any] | None, xr.DataArray | None]:
    """Return the latest anomaly's summary and the anomaly series (or None, with a note)."""
    if clim is None or summary is None:
        notes["anomaly"] = "no climatology to compare the latest value with"
        return None, None
    series = anomaly(da, clim)
    last = int(np.flatnonzero(valid)[-1])
    when = pd.Timestamp(da["time"].values[last])
    if summary["period"] == "month":
        count = int(summary["count"][when.month - 1])
        reference = summary["value"][when.month - 1]
    else:
        count, reference = int(summary["count"]), summary["value"]
    if count < 2:
        notes["anomaly"] = (
            f"the month of the latest value ({when.month}) has a single value in the record"
        )
        return None, series
    out = {
        "time": iso(da["time"].values[last]),
        "value": _number(series.values[last]),
        "observed": _number(da.values[last]),
        "climatology": reference,
        "month": when.month if summary["period"] == "month" else None,
        "units": str(da.attrs.get("units", "")),
    }
    return out, series


def _trend(
    da: xr.DataArray,
    valid: np.ndarray,
    deseasonalised: xr.DataArray | None,
    notes: dict[str, str],
) -> dict[str, Any] | None:
    """Return the OLS trend per decade (or None, with a note)."""
    count = int(valid.sum())
    times = da["time"].values[valid]
    span = 0.0
    if count:
        span = float((times[-1] - times[0]) / np.timedelta64(1, "D")) / DAYS_PER_YEAR
    if count < MIN_TREND_STEPS or span < MIN_TREND_YEARS:
        notes["trend"] = (
            f"{count} valid step(s) over {span:.1f} years; a trend needs at least "
            f"{MIN_TREND_STEPS} spanning {MIN_TREND_YEARS:g} years"
        )
        return None
    of = "anomalies" if deseasonalised is not None else "values"
    series = deseasonalised if deseasonalised is not None else da
    series = series.assign_attrs(units=str(da.attrs.get("units", "1")))
    fit = linear_trend(series, per="decade", alpha=1.0 - CONFIDENCE, autocorrelation=True)
    stats = {name: _number(fit[name].values) for name in fit.data_vars}
    return {
        "of": of,
        "slope": stats["slope"],
        "stderr": stats["stderr"],
        "ci_lower": stats["ci_lower"],
        "ci_upper": stats["ci_upper"],
        "confidence": CONFIDENCE,
        "p_value": stats["p_value"],
        "n": int(stats["n"] or 0),
        "n_eff": stats["n_eff"],
        "lag1_autocorrelation": stats["lag1_autocorrelation"],
        "mean": stats["mean"],
        "time_mean": stats["time_mean"],
        "units": str(fit["slope"].attrs.get("units", "")),
        "first": iso(times[0]),
        "last": iso(times[-1]),
    }


def summarise(da: xr.DataArray) -> dict[str, Any] | None:
    """Return the dossier's summary of one series (in memory), None when no value is valid.

    *da* is a variable at a place: dims ``(time,)`` or none (a static field). The answer has
    the variable's ``name``, ``long_name``, ``standard_name`` and ``units``, then ``record``,
    ``climatology``, ``anomaly`` and ``trend`` (each ``null`` when it cannot be made, with
    the reason in ``notes``); see the module docstring.
    """
    head: dict[str, Any] = {
        "name": str(da.name),
        "long_name": str(da.attrs.get("long_name", da.name)),
        "standard_name": da.attrs.get("standard_name"),
        "units": str(da.attrs.get("units", "")),
    }
    da = da.astype("float64")  # statistics in double precision (cubes hold float32)
    values = np.asarray(da.values)
    valid = np.isfinite(values)
    if not valid.any():
        return None
    notes: dict[str, str] = {}
    if "time" not in da.dims:
        reason = "a static field (no time axis)"
        notes.update(climatology=reason, anomaly=reason, trend=reason)
        record: dict[str, Any] = {"steps": 1, "valid_steps": 1, "first": None, "last": None}
        record.update(cadence_days=None, time=[None], value=[_number(values.reshape(-1)[0])])
        return {
            **head,
            "record": record,
            "climatology": None,
            "anomaly": None,
            "trend": None,
            "notes": notes,
        }
    summary, clim = _climatology(da, valid, notes)
    latest, series = _anomaly(da, valid, clim, summary, notes)
    monthly = summary is not None and summary["period"] == "month"
    trend = _trend(da, valid, series if monthly else None, notes)
    return {
        **head,
        "record": _record(da, valid),
        "climatology": summary,
        "anomaly": latest,
        "trend": trend,
        "notes": notes,
    }
