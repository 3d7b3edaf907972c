"""Local (station) series uploaded into a territory: reading and checking CSV and CF NetCDF.

**CSV**: a header line naming the columns ``lon``, ``lat``, ``time``, ``value``, ``units`` and
``variable`` (any order; an optional ``station`` column names the station, otherwise a station
is its coordinates), then one observation per line::

    station,lon,lat,time,value,units,variable
    MLO,-155.576,19.536,1958-03,315.71,ppm,co2

Times are ISO 8601 (``2020``, ``2020-03``, ``2020-03-15``, ``2020-03-15T12:00``, with a
``Z`` or an offset; a time without one is UTC). An empty value, ``NaN`` or ``NA`` is a missing
observation (skipped and counted). Units must be known to the unit registry
(:mod:`spaceclimate.harmonise.units`) and the same on every line of a variable; a station keeps
its coordinates; a station has one value per time and variable.

**NetCDF**: a CF discrete-sampling-geometry file of ``timeSeries`` (or a single series):
latitude and longitude variables (by ``standard_name`` or name), a decoded time coordinate, an
optional ``cf_role: timeseries_id`` variable naming the stations, and every numeric variable
on the time dimension with ``units`` as one series each (fills are missing).

Any bad line or variable refuses the whole upload with the line number (CSV) or the variable
(NetCDF) and the reason: nothing is stored.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from spaceclimate.errors import CorruptFileError, InputError, UnitError
from spaceclimate.harmonise.units import check_units

#: Columns a CSV upload must have.
REQUIRED_COLUMNS = ("lon", "lat", "time", "value", "units", "variable")
#: Most observations one upload may hold.
MAX_ROWS = 2_000_000
#: Values read as a missing observation.
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none"})
_NAME = re.compile(r"^[A-Za-z0-9_.:/ -]{1,200}$")
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass
class LocalSeries:
    """One variable's observations: per row a station, a time (UTC) and a value."""

    variable: str
    units: str
    stations: dict[str, tuple[float, float]]
    station: np.ndarray  # str, per row
    time: np.ndarray  # datetime64[s], per row
    value: np.ndarray  # float64, per row
    missing: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Number of observations."""
        return int(self.value.size)

    def sorted(self) -> LocalSeries:
        """The same series ordered by station then time."""
        order = np.lexsort((self.time, self.station))
        return LocalSeries(
            self.variable,
            self.units,
            self.stations,
            self.station[order],
            self.time[order],
            self.value[order],
            self.missing,
            self.extra,
        )


def parse_time(text: str) -> np.datetime64:
    """Read an ISO 8601 date or time as a UTC ``datetime64[s]`` (ValueError if unreadable)."""
    text = text.strip()
    if _YEAR.match(text):
        return np.datetime64(f"{text}-01-01T00:00:00", "s")
    month = _MONTH.match(text)
    if month:
        if not 1 <= int(month.group(2)) <= 12:
            raise ValueError("month out of range")
        return np.datetime64(f"{text}-01T00:00:00", "s")
    stamp = datetime.fromisoformat(text.replace("z", "Z"))
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(stamp.replace(microsecond=0), "s")


def _number(text: str, what: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{what} {text!r} must lie in {low:g}..{high:g}")
    return value


class _Collector:
    """Rows of one variable as they are read."""

    def __init__(self, variable: str, units: str, line: int) -> None:
        self.variable = variable
        self.units = units
        self.units_line = line
        self.station: list[str] = []
        self.time: list[np.datetime64] = []
        self.value: list[float] = []
        self.missing = 0
        self.seen: dict[tuple[str, np.datetime64], int] = {}

    def series(self, stations: dict[str, tuple[float, float]]) -> LocalSeries:
        used = {s: stations[s] for s in dict.fromkeys(self.station)}
        return LocalSeries(
            self.variable,
            self.units,
            used,
            np.array(self.station, dtype=object),
            np.array(self.time, dtype="datetime64[s]"),
            np.array(self.value, dtype="float64"),
            self.missing,
        ).sorted()


def parse_csv(data: bytes) -> list[LocalSeries]:
    """Read a CSV upload (see the module docstring): one series per variable.

    Raises
    ------
    InputError
        ``line N: <reason>`` for the first bad line (line 1 is the header).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the CSV is not UTF-8 text (byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the CSV is empty: a header line is needed") from None
    names = [h.strip().lower() for h in header]
    lacking = [c for c in REQUIRED_COLUMNS if c not in names]
    if lacking:
        raise InputError(
            f"line 1: the header lacks column(s) {', '.join(lacking)} (needed: "
            f"{', '.join(REQUIRED_COLUMNS)}; optional: station)"
        )
    if len(set(names)) != len(names):
        raise InputError("line 1: a column is named twice")
    col = {name: names.index(name) for name in names}
    has_station = "station" in col
    stations: dict[str, tuple[float, float]] = {}
    station_line: dict[str, int] = {}
    found: dict[str, _Collector] = {}
    rows = 0
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue  # blank lines carry nothing
        try:
            if len(fields) != len(names):
                raise ValueError(f"expected {len(names)} fields, found {len(fields)}")
            lon = _number(fields[col["lon"]], "longitude", -180.0, 360.0)
            lon = (lon + 180.0) % 360.0 - 180.0 if lon > 180.0 else lon
            lat = _number(fields[col["lat"]], "latitude", -90.0, 90.0)
            variable = fields[col["variable"]].strip()
            if not _NAME.match(variable):
                raise ValueError(f"variable {variable!r} is empty or has unusual characters")
            units = fields[col["units"]].strip()
            try:
                check_units(units)
            except UnitError as exc:
                raise ValueError(f"units {units!r} are unknown to the unit registry") from exc
            try:
                when = parse_time(fields[col["time"]])
            except ValueError:
                raise ValueError(
                    f"time {fields[col['time']]!r} is not an ISO 8601 date or time"
                ) from None
            station = fields[col["station"]].strip() if has_station else ""
            station = station or f"{lon:.5f},{lat:.5f}"
            if len(station) > 200:
                raise ValueError("station name longer than 200 characters")
            where = stations.setdefault(station, (lon, lat))
            station_line.setdefault(station, line)
            if abs(where[0] - lon) > 1e-6 or abs(where[1] - lat) > 1e-6:
                raise ValueError(
                    f"station {station!r} is at ({lon:g}, {lat:g}) but was at "
                    f"({where[0]:g}, {where[1]:g}) on line {station_line[station]}"
                )
            got = found.get(variable)
            if got is None:
                got = found[variable] = _Collector(variable, units, line)
            elif units != got.units:
                raise ValueError(
                    f"units {units!r} differ from {got.units!r} given for {variable!r} on "
                    f"line {got.units_line}"
                )
            raw = fields[col["value"]].strip()
            if raw.lower() in MISSING:
                got.missing += 1
                continue
            value = _number(raw, "value", -math.inf, math.inf)
            previous = got.seen.setdefault((station, when), line)
            if previous != line:
                raise ValueError(
                    f"station {station!r} already has a {variable} value at that time "
                    f"(line {previous})"
                )
        except ValueError as exc:
            raise InputError(f"line {line}: {exc}; nothing was stored") from None
        got.station.append(station)
        got.time.append(when)
        got.value.append(value)
        rows += 1
        if rows > MAX_ROWS:
            raise InputError(f"more than {MAX_ROWS} observations in one upload; split it")
    series = [c.series(stations) for c in found.values()]
    if not any(s.rows for s in series):
        raise InputError("the CSV holds no observation with a value")
    return [s for s in series if s.rows]


# -- NetCDF -------------------------------------------------------------------------------------
def _find(ds: xr.Dataset, standard_name: str, names: tuple[str, ...]) -> str | None:
    for name, var in ds.variables.items():
        if var.attrs.get("standard_name") == standard_name:
            return str(name)
    for name in ds.variables:
        if str(name).lower() in names:
            return str(name)
    return None


def _station_ids(ds: xr.Dataset, dim: str | None, count: int) -> list[str]:
    for name, var in ds.variables.items():
        if var.attrs.get("cf_role") == "timeseries_id" and var.dims[:1] == ((dim,) if dim else ()):
            values = np.atleast_1d(var.values)
            return [v.decode() if isinstance(v, bytes) else str(v).strip() for v in values]
        del name
    return [f"station {i + 1}" for i in range(count)]


def parse_netcdf(data: bytes) -> list[LocalSeries]:
    """Read a CF NetCDF upload of time series (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="sco-local-") as tmp:
        path = Path(tmp) / "upload.nc"
        path.write_bytes(data)
        try:
            with xr.open_dataset(path) as opened:
                ds = opened.load()
        except Exception as exc:  # the NetCDF and HDF5 libraries raise many types
            raise CorruptFileError(f"not a readable NetCDF file ({type(exc).__name__})") from exc
    lat_name = _find(ds, "latitude", ("lat", "latitude"))
    lon_name = _find(ds, "longitude", ("lon", "longitude"))
    time_name = _find(ds, "time", ("time",))
    if lat_name is None or lon_name is None or time_name is None:
        raise InputError("NetCDF: latitude, longitude and time variables are needed")
    times = ds[time_name]
    if times.ndim != 1 or not np.issubdtype(times.dtype, np.datetime64):
        raise InputError(f"NetCDF: {time_name!r} is not a decodable 1-D time coordinate")
    time_dim = times.dims[0]
    lat = np.atleast_1d(np.asarray(ds[lat_name].values, dtype="float64"))
    lon = np.atleast_1d(np.asarray(ds[lon_name].values, dtype="float64"))
    if lat.shape != lon.shape or lat.ndim != 1:
        raise InputError("NetCDF: latitude and longitude must be one value per station")
    if not (np.all(np.abs(lat) <= 90) and np.all((lon >= -180) & (lon <= 360))):
        raise InputError("NetCDF: latitude/longitude out of range")
    lon = np.where(lon > 180, lon - 360, lon)
    station_dim = str(ds[lat_name].dims[0]) if ds[lat_name].ndim == 1 else None
    ids = _station_ids(ds, station_dim, lat.size)
    stations = {ids[i]: (float(lon[i]), float(lat[i])) for i in range(lat.size)}
    skip = {lat_name, lon_name, time_name}
    out: list[LocalSeries] = []
    for name, var in ds.data_vars.items():
        if str(name) in skip or time_dim not in var.dims or "cf_role" in var.attrs:
            continue
        if "flag_values" in var.attrs or "flag_masks" in var.attrs or str(name).endswith("_bnds"):
            continue
        if not np.issubdtype(var.dtype, np.number):
            continue
        units = str(var.attrs.get("units", "")).strip()
        try:
            check_units(units)
        except UnitError as exc:
            raise InputError(
                f"NetCDF variable {name!r}: units {units!r} are missing or unknown"
            ) from exc
        if station_dim is not None and station_dim in var.dims:
            values = var.transpose(station_dim, time_dim).values
        elif var.ndim == 1:
            values = var.values[np.newaxis, :]
        else:
            raise InputError(f"NetCDF variable {name!r}: dims {var.dims} are not (station, time)")
        values = np.asarray(values, dtype="float64")
        if values.shape[0] != len(ids):
            raise InputError(f"NetCDF variable {name!r}: one series per station is needed")
        t = np.asarray(times.values).astype("datetime64[s]")
        station_col = np.repeat(np.array(ids, dtype=object), t.size)
        time_col = np.tile(t, len(ids))
        flat = values.reshape(-1)
        valid = np.isfinite(flat)
        series = LocalSeries(
            str(name),
            units,
            stations,
            station_col[valid],
            time_col[valid],
            flat[valid],
            int((~valid).sum()),
        )
        if series.rows:
            out.append(series.sorted())
    if not out:
        raise InputError("NetCDF: no numeric variable on the time dimension with units")
    return out


def parse_upload(data: bytes, content_type: str = "", filename: str = "") -> list[LocalSeries]:
    """Read an upload as NetCDF (by its signature, type or name) or as CSV."""
    netcdf = data[:4] in (b"CDF\x01", b"CDF\x02", b"\x89HDF") or "netcdf" in content_type.lower()
    if netcdf or filename.lower().endswith((".nc", ".nc4")):
        return parse_netcdf(data)
    return parse_csv(data)
