"""Match-ups: a local series against a pooled record, respecting the record's time bounds.

The local side is a local dataset (stations with coordinates) or a pooled reference collection
(an in situ or gridded record). The product side is a pooled gridded collection, read by one of
three methods:

* ``nearest``: at each station, the grid cell nearest it (the rule of EDR position queries);
* ``radius``: at each station, the area-weighted mean of the cells whose centres lie within
  ``radius_km`` of it (a geodesic circle; cells with no value at a step drop out of that step);
* ``area``: the area-weighted mean over the territory, against the mean of the stations.

Each product step covers ``[start, end)`` (its ``time_bnds``); the local observations that fall
in it, widened by ``window`` on each side, are averaged into the step's local value, so a
monthly product meets the month's station mean and a daily one the day's. A pair is kept when
both sides have a value; local values are converted to the product's units first.

Statistics of the pairs (product minus local): N, bias (mean difference), RMSD, Pearson
correlation, the ordinary least-squares line ``product = intercept + slope x local``, and each
side's linear trend per year (a growth rate, e.g. of CO2).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry.base import BaseGeometry

from spaceclimate.compute.regions import mean_or_centre
from spaceclimate.compute.subset import nearest_cell, vertical_dim
from spaceclimate.errors import InputError
from spaceclimate.harmonise.units import linear_conversion
from spaceclimate.territories.localdata import LocalSeries
from spaceclimate.territories.places import circle

Method = Literal["nearest", "radius", "area"]
METHODS: tuple[str, ...] = ("nearest", "radius", "area")
#: Fewest pairs for a correlation and a regression line.
MIN_PAIRS_FOR_FIT = 3
_SECONDS_PER_YEAR = 365.2425 * 86400.0


@dataclass
class Side:
    """One side of a match-up, described for the answer."""

    label: str
    variable: str
    units: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class MatchUp:
    """The paired table and its statistics."""

    local: Side
    product: Side
    method: str
    pairs: pd.DataFrame
    statistics: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready document: sides, method, statistics, notes and the pairs."""
        rows = []
        for rec in self.pairs.to_dict("records"):
            rows.append(
                {k: (_iso(v) if isinstance(v, pd.Timestamp) else _plain(v)) for k, v in rec.items()}
            )
        return {
            "local": {
                "label": self.local.label,
                "variable": self.local.variable,
                "units": self.local.units,
                **self.local.extra,
            },
            "product": {
                "label": self.product.label,
                "variable": self.product.variable,
                "units": self.product.units,
                **self.product.extra,
            },
            "method": self.method,
            "statistics": self.statistics,
            "notes": self.notes,
            "pairs": rows,
        }


def _iso(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


# -- the product's steps ------------------------------------------------------------------------
def step_bounds(da: xr.DataArray, cube: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (``datetime64[s]``) of every time step of *da*, from ``time_bnds``.

    Without bounds, a step runs from its time to the next one (the last as long as the one
    before it).
    """
    times = np.asarray(da["time"].values).astype("datetime64[s]")
    bounds_name = cube["time"].attrs.get("bounds", "time_bnds")
    if bounds_name in cube.variables and cube[bounds_name].shape == (times.size, 2):
        b = np.asarray(cube[bounds_name].values).astype("datetime64[s]")
        return b[:, 0], b[:, 1]
    if times.size < 2:
        raise InputError("the product has one time step and no time bounds to match against")
    ends = np.append(times[1:], times[-1] + (times[-1] - times[-2]))
    return times, ends


def local_per_step(
    times: np.ndarray,
    values: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    window: np.timedelta64,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and count of the observations in each ``[start - window, end + window)``."""
    order = np.argsort(times, kind="stable")
    t = times[order].astype("datetime64[s]")
    v = values[order]
    lo = np.searchsorted(t, starts - window, side="left")
    hi = np.searchsorted(t, ends + window, side="left")
    cumulative = np.concatenate([[0.0], np.cumsum(v)])
    count = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (cumulative[hi] - cumulative[lo]) / count
    return np.where(count > 0, mean, np.nan), count


# -- reading the product ------------------------------------------------------------------------
def _check_product(da: xr.DataArray) -> None:
    if "time" not in da.dims:
        raise InputError("the product has no time axis to match against")
    if vertical_dim(da.to_dataset()) is not None:
        raise InputError("match-ups of profile products (with vertical levels) are not offered")


def at_point(da: xr.DataArray, lon: float, lat: float, name: str = "station") -> np.ndarray:
    """The series of the cell nearest (lon, lat)."""
    cell = nearest_cell(da.to_dataset(), lon, lat, name=name)
    return np.asarray(cell[da.name].values, dtype="float64")


def over_area(da: xr.DataArray, geometry: BaseGeometry, what: str) -> tuple[np.ndarray, str]:
    """The area-weighted mean over *geometry*; the cell at its centre when it holds no centre."""
    series, note = mean_or_centre(da, geometry, what)
    return np.asarray(series.values, dtype="float64"), note or ""


# -- statistics ---------------------------------------------------------------------------------
def _trend_per_year(times: np.ndarray, values: np.ndarray) -> float | None:
    ok = np.isfinite(values)
    if ok.sum() < MIN_PAIRS_FOR_FIT:
        return None
    seconds = (times[ok].astype("datetime64[s]") - times[ok].min()).astype("float64")
    years = seconds / _SECONDS_PER_YEAR
    if np.ptp(years) == 0:
        return None
    return float(np.polyfit(years, values[ok], 1)[0])


def statistics(local: np.ndarray, product: np.ndarray, times: np.ndarray) -> dict[str, Any]:
    """N, bias, RMSD, correlation, regression line and trends of paired values."""
    n = int(local.size)
    out: dict[str, Any] = {"n": n}
    if n == 0:
        return out
    diff = product - local
    out.update(
        bias=float(diff.mean()),
        rmsd=float(np.sqrt(np.mean(diff**2))),
        mean_local=float(local.mean()),
        mean_product=float(product.mean()),
        std_local=float(local.std()),
        std_product=float(product.std()),
    )
    if n >= MIN_PAIRS_FOR_FIT and local.std() > 0 and product.std() > 0:
        out["correlation"] = float(np.corrcoef(local, product)[0, 1])
        slope, intercept = np.polyfit(local, product, 1)
        out["slope"] = float(slope)
        out["intercept"] = float(intercept)
    out["trend_local_per_year"] = _trend_per_year(times, local)
    out["trend_product_per_year"] = _trend_per_year(times, product)
    return out


# -- the match-up -------------------------------------------------------------------------------
@dataclass
class Reference:
    """The local side: stations (a local dataset or an in situ record) or a gridded record."""

    side: Side
    series: LocalSeries | None = None
    grid: xr.DataArray | None = None  # a gridded reference, read like the product
    cube: xr.Dataset | None = None  # the gridded reference's cube (its time bounds)


def match(
    reference: Reference,
    product: xr.DataArray,
    cube: xr.Dataset,
    product_side: Side,
    *,
    method: str = "nearest",
    radius_km: float = 25.0,
    window: np.timedelta64 | None = None,
    territory: BaseGeometry | None = None,
) -> MatchUp:
    """Pair *reference* with *product* (see the module docstring)."""
    if method not in METHODS:
        raise InputError(f"method: one of {', '.join(METHODS)}, not {method!r}")
    _check_product(product)
    window = np.timedelta64(0, "s") if window is None else window.astype("timedelta64[s]")
    starts, ends = step_bounds(product, cube)
    notes: list[str] = []
    frames: list[pd.DataFrame] = []

    def frame(
        station: str,
        lon: float | None,
        lat: float | None,
        local: np.ndarray,
        count: np.ndarray,
        prod: np.ndarray,
    ) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "station": station,
                "lon": lon,
                "lat": lat,
                "time_start": pd.to_datetime(starts),
                "time_end": pd.to_datetime(ends),
                "local": local,
                "local_count": count,
                "product": prod,
            }
        )

    if reference.grid is not None:
        grid = _converted_grid(reference.grid, reference.side.units, product_side.units)
        if territory is None:
            raise InputError("a gridded reference needs a territory to be read over")
        ref_starts, ref_ends = step_bounds(grid, reference.cube or grid.to_dataset())
        ref_times = ref_starts + (ref_ends - ref_starts) // 2  # each step at its middle
        if method == "area":
            ref_values, note = over_area(grid, territory, "territory")
            prod, note2 = over_area(product, territory, "territory")
            notes += [n for n in (note, note2) if n]
            where: tuple[float | None, float | None] = (None, None)
        else:
            centre = territory.representative_point()
            where = (float(centre.x), float(centre.y))
            ref_values = at_point(grid, *where)  # type: ignore[arg-type]
            prod = at_point(product, *where)  # type: ignore[arg-type]
        local, count = local_per_step(ref_times, ref_values, starts, ends, window)
        frames.append(
            frame("territory" if method == "area" else "centre", *where, local, count, prod)
        )
    else:
        assert reference.series is not None
        series = _converted(reference.series, product_side.units)
        if method == "area":
            if territory is None:
                raise InputError("method area: a territory is needed")
            prod, note = over_area(product, territory, "territory")
            if note:
                notes.append(note)
            means = []
            for station in series.stations:
                rows = series.station == station
                means.append(
                    local_per_step(series.time[rows], series.value[rows], starts, ends, window)
                )
            stack = np.array([m for m, _ in means])
            counts = np.array([c for _, c in means]).sum(axis=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # steps no station has
                local = np.nanmean(stack, axis=0)
            frames.append(frame("territory", None, None, local, counts, prod))
            notes.append(
                f"local value of a step: the mean of the {len(means)} station(s) that have one"
            )
        else:
            for station, (lon, lat) in series.stations.items():
                rows = series.station == station
                local, count = local_per_step(
                    series.time[rows], series.value[rows], starts, ends, window
                )
                try:
                    if method == "nearest":
                        prod = at_point(product, lon, lat)
                    else:
                        prod, note = over_area(
                            product,
                            circle(lon, lat, radius_km),
                            f"{radius_km:g} km circle of {station}",
                        )
                        if note:
                            notes.append(note)
                except InputError as exc:
                    notes.append(f"station {station}: {exc}")
                    continue
                frames.append(frame(station, lon, lat, local, count, prod))
    if not frames:
        raise InputError("no station lies on the product's grid: " + "; ".join(notes))
    table = pd.concat(frames, ignore_index=True)
    table = table[np.isfinite(table["local"]) & np.isfinite(table["product"])]
    table = table.reset_index(drop=True)
    stats = statistics(
        table["local"].to_numpy("float64"),
        table["product"].to_numpy("float64"),
        table["time_start"].to_numpy().astype("datetime64[s]"),
    )
    stats["units"] = product_side.units
    if method == "radius":
        product_side.extra["radius_km"] = radius_km
    return MatchUp(reference.side, product_side, method, table, stats, notes)


def _converted(series: LocalSeries, units: str) -> LocalSeries:
    scale, offset = linear_conversion(series.units, units)
    return LocalSeries(
        series.variable,
        units,
        series.stations,
        series.station,
        series.time,
        series.value * scale + offset,
        series.missing,
    )


def _converted_grid(da: xr.DataArray, units: str, target: str) -> xr.DataArray:
    scale, offset = linear_conversion(units, target)
    if scale == 1.0 and offset == 0.0:
        return da
    out = da * scale + offset
    out.attrs = {**da.attrs, "units": target}
    return out.rename(da.name)
