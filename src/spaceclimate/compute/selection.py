"""Picking what an operation reads: a variable, a time range, a bbox, a reference period.

Every error names the operation's input (``inputs.variable``, ``inputs.datetime``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr

from spaceclimate.compute.subset import grid_kind, select_bbox, select_time
from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.params import parse_interval


def pick_variable(ds: xr.Dataset, name: str | None, parameter: str = "variable") -> xr.DataArray:
    """Return a data variable (the first when *name* is None); 404 naming the known ones."""
    known = [str(v) for v in ds.data_vars]
    if name is None:
        return ds[known[0]]
    if name not in ds.data_vars:
        raise NotFoundError(
            f"inputs.{parameter}: no variable {name!r}; known: {', '.join(known)}", known=known
        )
    return ds[name]


def select(
    ds: xr.Dataset, datetime_text: str | None = None, bbox: Sequence[float] | None = None
) -> xr.Dataset:
    """Select a time range and a bbox of a cube (lazily)."""
    interval = parse_interval(datetime_text, "inputs.datetime")
    if interval is not None:
        if "time" not in ds.dims:
            raise InputError("inputs.datetime: the collection has no time axis")
        ds = select_time(ds, interval[0], interval[1], "inputs.datetime")
        if ds.sizes["time"] == 0:
            raise InputError("inputs.datetime: no time step in that range")
    if bbox is not None:
        ds = select_bbox(ds, (bbox[0], bbox[1], bbox[2], bbox[3]), "inputs.bbox").masked()
    return ds


def period(text: str | None, name: str) -> tuple[str, str] | None:
    """``1981/2010`` -> ``("1981", "2010")`` (either side may be a full date)."""
    if not text:
        return None
    parts = [p.strip() for p in text.split("/")]
    if len(parts) != 2 or not all(parts):
        raise InputError(f"inputs.{name}: expected start/end, e.g. 1981/2010")
    return parts[0], parts[1]


def require_grid(ds: xr.Dataset, collection_id: str, name: str = "collection") -> None:
    """Refuse a series without a grid where an operation needs one."""
    if grid_kind(ds) == "none":
        raise InputError(f"inputs.{name}: {collection_id} is a series without a grid")


def finer_than_monthly(da: xr.DataArray) -> bool:
    """Whether a series' time steps are shorter than a month (daily, weekly)."""
    if "time" not in da.dims or da.sizes["time"] < 2:
        return False
    step = (da["time"].values[1:] - da["time"].values[:-1]).astype("timedelta64[D]")
    return bool(float(step.astype("float64").min()) < 27)
