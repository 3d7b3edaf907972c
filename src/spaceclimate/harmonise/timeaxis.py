"""The time axis: CF decoding, times from file names, rounding and cell bounds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate.ecv.models import TimeSpec
from spaceclimate.errors import GridError, InputError

_PERIOD = re.compile(r"^P(\d+)([DMY])$")


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
        if np.issubdtype(var.dtype, np.datetime64):
            values = np.atleast_1d(var.values).astype("datetime64[ns]")
        else:
            attrs = {k: v for k, v in var.attrs.items() if k in ("units", "calendar")}
            if "units" not in attrs:
                raise InputError(f"{file}: time variable {spec.variable!r} has no units")
            try:
                decoded = xr.decode_cf(xr.Dataset({"t": (var.dims, var.values, attrs)}))["t"]
                values = np.atleast_1d(decoded.values).astype("datetime64[ns]")
            except (ValueError, OverflowError, TypeError) as exc:
                raise InputError(f"{file}: cannot decode time ({exc})") from exc
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


def time_bounds(times: np.ndarray, spec: TimeSpec) -> np.ndarray:
    """Return ``(n, 2)`` cell bounds for *times* from the recipe's resolution and anchor."""
    index = pd.DatetimeIndex(times)
    if not spec.resolution:
        return np.stack([index.values, index.values], axis=1)
    match = _PERIOD.match(spec.resolution)
    if not match:
        raise InputError(f"unsupported time resolution {spec.resolution!r}")
    count, unit = int(match.group(1)), match.group(2)
    if unit == "M":
        start = index.to_period("M").to_timestamp()
        end = start + pd.DateOffset(months=count)
    elif unit == "Y":
        start = index.to_period("Y").to_timestamp()
        end = start + pd.DateOffset(years=count)
    elif count == 1:
        start = index.floor("D")
        end = start + pd.Timedelta(days=1)
    elif spec.anchor == "center":
        half = pd.Timedelta(days=count) / 2
        start = (index - half).floor("D")
        end = start + pd.Timedelta(days=count)
    else:
        start = index.floor("D")
        end = start + pd.Timedelta(days=count)
    return np.stack([np.asarray(start.values), np.asarray(end.values)], axis=1).astype(
        "datetime64[ns]"
    )
