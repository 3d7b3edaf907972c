"""The time axis: CF decoding, times from file names, rounding, and each step's cell.

Every harmonised time step is a cell ``time_bnds = [start, end)`` stamped at its middle
(the hub's one convention, ``docs/recipes.md``): a monthly mean of May 2005 is stamped
2005-05-16T12:00 with bounds [2005-05-01, 2005-06-01), a day [D 00:00, D+1 00:00) is
stamped D 12:00. Where a cell comes from is the recipe's ``time.bounds``:

``period``
    the whole period of ``resolution`` (a calendar month or year, or ``n`` days) that the
    source's stamp lies in, following ``anchor`` (the stamp starts the period or is its
    centre); without ``resolution`` the steps are instants (bounds equal to the stamp);
``source``
    the source's own bounds, the variable the time variable's CF ``bounds`` attribute names;
``midpoints``
    for an irregular series whose source gives only its stamps: halfway to the neighbouring
    stamps, at most half a nominal ``resolution`` from the stamp (which bounds the first and
    last steps and those beside gaps). The source's stamps are kept: they are what the
    cells are derived from, and lie inside them.

Cells never overlap (a file whose steps would share a period is refused).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate.ecv.models import TimeSpec
from spaceclimate.errors import GridError, InputError

_PERIOD = re.compile(r"^P(\d+)([DMY])$")
#: Length of the mean Gregorian year (days): the nominal length of a P1Y step, and a twelfth
#: of it of a P1M step, where a step's cell is not a calendar period (``midpoints``).
_MEAN_YEAR_DAYS = 365.2425


def _decode(var: xr.DataArray, attrs: dict[str, Any], what: str, file: str) -> np.ndarray:
    """Return *var*'s values decoded with CF *attrs* (units, calendar) as ``datetime64[ns]``."""
    if np.issubdtype(var.dtype, np.datetime64):
        return np.asarray(var.values).astype("datetime64[ns]")
    cf = {k: v for k, v in attrs.items() if k in ("units", "calendar")}
    if "units" not in cf:
        raise InputError(f"{file}: {what} has no units")
    try:
        decoded = xr.decode_cf(xr.Dataset({"t": (var.dims, var.values, cf)}))["t"]
        return np.asarray(decoded.values).astype("datetime64[ns]")
    except (ValueError, OverflowError, TypeError) as exc:
        raise InputError(f"{file}: cannot decode {what} ({exc})") from exc


def decode_times(raw: xr.Dataset, spec: TimeSpec, path: Path) -> np.ndarray | None:
    """Return the file's timestamps as ``datetime64[ns]`` (1-D), or None if it has no time."""
    file = path.name
    if spec.from_filename:
        match = re.search(spec.from_filename, file)
        if not match:
            raise InputError(f"{file}: no date matching {spec.from_filename!r} in the file name")
        try:
            stamp = pd.to_datetime(match.group(1), format=spec.filename_format)
        except ValueError as exc:
            raise InputError(f"{file}: cannot parse date {match.group(1)!r}") from exc
        values = np.array([stamp.to_datetime64()], dtype="datetime64[ns]")
    elif spec.variable:
        if spec.variable not in raw.variables:
            raise InputError(f"{file}: time variable {spec.variable!r} not found")
        var = raw[spec.variable]
        what = f"time variable {spec.variable!r}"
        values = np.atleast_1d(_decode(var, dict(var.attrs), what, file))
    elif "time" in raw.dims and np.issubdtype(raw["time"].dtype, np.datetime64):
        values = raw["time"].values.astype("datetime64[ns]")
    else:
        return None
    if spec.round:
        values = pd.DatetimeIndex(values).round(spec.round).values.astype("datetime64[ns]")
    if np.isnat(values).any():
        raise InputError(f"{file}: time has missing values")
    if values.size > 1:
        diffs = np.diff(values.astype("int64"))
        if not ((diffs > 0).all() or (diffs < 0).all()):
            raise GridError(f"{file}: time is not strictly monotonic")
    return values


def bounds_variable(raw: xr.Dataset, spec: TimeSpec) -> str | None:
    """The name of the source's time bounds variable when the recipe takes them from it."""
    if spec.bounds != "source" or not spec.variable or spec.variable not in raw.variables:
        return None
    name = raw[spec.variable].attrs.get("bounds")
    return str(name) if name else None


def source_bounds(raw: xr.Dataset, spec: TimeSpec, path: Path) -> np.ndarray | None:
    """Return the source's own time bounds ``(n, 2)`` as ``datetime64[ns]`` (``bounds: source``).

    CF: the bounds variable is named by the time variable's ``bounds`` attribute and shares
    its units and calendar unless it declares its own. None when the recipe does not use
    the source's bounds.

    Raises
    ------
    InputError
        When the time variable names no bounds variable, or it is missing or not decodable.
    """
    if spec.bounds != "source":
        return None
    file = path.name
    name = bounds_variable(raw, spec)
    if name is None or name not in raw.variables:
        raise InputError(
            f"{file}: the recipe takes the time bounds from the source, but time variable "
            f"{spec.variable!r} names no bounds variable it holds"
        )
    var = raw[name]
    assert spec.variable is not None
    attrs = {**raw[spec.variable].attrs, **var.attrs}  # its own units and calendar win
    values = _decode(var, attrs, f"time bounds {name!r}", file)
    if values.ndim != 2 or values.shape[1] != 2:
        raise InputError(f"{file}: time bounds {name!r} are not (time, 2)")
    if np.isnat(values).any():
        raise InputError(f"{file}: time bounds {name!r} have missing values")
    return values


def _period(resolution: str) -> tuple[int, str]:
    match = _PERIOD.match(resolution)
    if not match:
        raise InputError(f"unsupported time resolution {resolution!r}")
    return int(match.group(1)), match.group(2)


def _nominal_ns(resolution: str) -> int:
    """The nominal length of one step of *resolution* in nanoseconds (mean Gregorian months)."""
    count, unit = _period(resolution)
    days = {"D": 1.0, "M": _MEAN_YEAR_DAYS / 12, "Y": _MEAN_YEAR_DAYS}[unit] * count
    return int(round(days * 86_400 * 1_000_000_000))


def _period_cells(times: np.ndarray, resolution: str, anchor: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of the period of *resolution* each stamp lies in (see :class:`TimeSpec`)."""
    index = pd.DatetimeIndex(times)
    count, unit = _period(resolution)
    if unit in "MY":
        # a centred stamp of an n-period step lies in its middle period: start (n-1)//2 before
        back = (count - 1) // 2 if anchor == "center" else 0
        months = 1 if unit == "M" else 12
        start = (index - pd.DateOffset(months=back * months)).to_period(unit).to_timestamp()
        end = start + pd.DateOffset(months=count * months)
    elif anchor == "center":
        start = index - pd.Timedelta(days=count) / 2
        end = start + pd.Timedelta(days=count)
    else:
        start = index.floor("D")
        end = start + pd.Timedelta(days=count)
    return (
        np.asarray(start.values).astype("datetime64[ns]"),
        np.asarray(end.values).astype("datetime64[ns]"),
    )


def period_cells(times: np.ndarray, spec: TimeSpec) -> tuple[np.ndarray, np.ndarray]:
    """Each stamp's step: the middle and the cell ``(n, 2)`` of the period it lies in.

    For stamps that share periods (the pixels of a level-2 granule): no disjointness check.
    """
    assert spec.resolution is not None
    start, end = _period_cells(np.asarray(times), spec.resolution, spec.anchor)
    return _middle(start, end), np.stack([start, end], axis=1).astype("datetime64[ns]")


def decode_time_variable(var: xr.DataArray, file: str) -> np.ndarray:
    """A time variable's values of any shape as ``datetime64[ns]`` (NaT where missing)."""
    if np.issubdtype(var.dtype, np.datetime64):  # a reader decoded it (text tables)
        return np.asarray(var.values).astype("datetime64[ns]")
    attrs = dict(var.attrs)
    fills = [attrs.pop(k) for k in ("_FillValue", "missing_value") if k in attrs]
    values = np.asarray(var.values).astype("float64")
    missing = np.isin(values, np.asarray(fills, dtype="float64")) | ~np.isfinite(values)
    values[missing] = 0.0
    decoded = _decode(xr.DataArray(values, dims=var.dims), attrs, f"{var.name!r}", file)
    decoded[missing] = np.datetime64("NaT")
    return decoded


def _midpoint_cells(times: np.ndarray, resolution: str) -> tuple[np.ndarray, np.ndarray]:
    """Cells halfway to the neighbouring stamps, at most half a nominal step from the stamp."""
    order = np.argsort(times, kind="stable")
    t = times[order].astype("datetime64[ns]").astype("int64")
    half = _nominal_ns(resolution) // 2
    middles = t[:-1] + (t[1:] - t[:-1]) // 2
    lower = np.maximum(np.concatenate([t[:1] - half, middles]), t - half)
    upper = np.minimum(np.concatenate([middles, t[-1:] + half]), t + half)
    start, end = np.empty_like(lower), np.empty_like(upper)
    start[order], end[order] = lower, upper
    return start.astype("datetime64[ns]"), end.astype("datetime64[ns]")


def _middle(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The middle of each cell ``[start, end)`` (to the nanosecond)."""
    a = start.astype("datetime64[ns]").astype("int64")
    b = end.astype("datetime64[ns]").astype("int64")
    return (a + (b - a) // 2).astype("datetime64[ns]")


def check_disjoint(bounds: np.ndarray, file: str) -> None:
    """Raise GridError when two cells ``[start, end)`` of *bounds* ``(n, 2)`` overlap.

    Instants (``start == end``) overlap nothing but an equal instant.
    """
    if len(bounds) < 2:
        return
    order = np.lexsort((bounds[:, 1], bounds[:, 0]))
    lower, upper = bounds[order, 0], bounds[order, 1]
    clash = (lower[1:] < upper[:-1]) | ((lower[1:] == lower[:-1]) & (upper[1:] == upper[:-1]))
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        a, b = (np.datetime_as_string(bounds[order[k]], unit="s") for k in (i, i + 1))
        raise GridError(
            f"{file}: time steps overlap: [{a[0]}, {a[1]}) and [{b[0]}, {b[1]}) "
            "(two steps in one period: check the recipe's time resolution)"
        )


def time_cells(
    times: np.ndarray, spec: TimeSpec, file: str, source: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return each step's harmonised stamp and its cell ``(n, 2)``, in the order of *times*.

    *times* are the source's stamps (:func:`decode_times`), *source* its own bounds when the
    recipe takes them (:func:`source_bounds`). See the module for the convention.

    Raises
    ------
    GridError
        When cells overlap, or a stamp lies outside the source's own bounds of its step.
    """
    times = np.asarray(times).astype("datetime64[ns]")
    if spec.bounds == "source":
        if source is None or source.shape != (times.size, 2):
            raise GridError(f"{file}: the source's time bounds do not match its {times.size} steps")
        start, end = source.min(axis=1), source.max(axis=1)
        if ((times < start) | (times > end)).any():
            raise GridError(f"{file}: a time stamp lies outside the source's bounds of its step")
        stamps = _middle(start, end)
    elif spec.bounds == "midpoints":
        assert spec.resolution is not None
        start, end = _midpoint_cells(times, spec.resolution)
        stamps = times
    elif spec.resolution:
        start, end = _period_cells(times, spec.resolution, spec.anchor)
        stamps = _middle(start, end)
    else:  # instants
        start, end, stamps = times, times, times
    bounds = np.stack([start, end], axis=1).astype("datetime64[ns]")
    check_disjoint(bounds, file)
    return stamps, bounds
