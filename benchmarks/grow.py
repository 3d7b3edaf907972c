"""Grow OSTIA-shaped daily source files from the real OSTIA sample, for the benchmarks.

The bundled sample (three days of the Met Office OSTIA L4 analysis on its global 0.25 degree
grid) gives the grid, the land and ice mask, the field of foundation temperature and the
pattern of its anomaly. From it, every grown day is::

    sst(t) = base + seasonal(lat, day of year) + trend * years + anomaly(t)

where ``base`` is the sample's field with the seasonal value of early June taken out, the
seasonal cycle has a realistic amplitude (largest near 40 degrees, opposite phase in the two
hemispheres), the trend is 0.02 K a year, and ``anomaly`` is a spatially smooth red-noise field
(day-to-day persistence 0.9, about 0.6 K) plus the sample's own anomaly pattern. The
``sst_anomaly`` variable is that anomaly. Values are packed exactly like the source (int16,
``scale_factor`` 0.01, ``add_offset`` 273.15 and 0, fill -32768, the same attributes), clipped
to the source's valid range, and written as NetCDF3 classic files named like the real ones
(``sst_ostia_l4_anom_daily_YYYYMMDD.nc``) so that the hub's own recipe ingests them.

At 0.5 degree the sample is first averaged 2 x 2 (a cell is land only where all four are).

Run: ``python benchmarks/grow.py OUT --start 2001-01-01 --days 365 --resolution 0.5``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "sst" / "sst_ostia_l4_anom_daily_20170605.nc"
SAMPLE_DAY_OF_YEAR = 156  # 2017-06-05
EPOCH = pd.Timestamp("1981-01-01")
#: Bump when the generated values change, so cached files are regenerated.
GENERATOR_VERSION = 2
PERSISTENCE = 0.9
ANOMALY_K = 0.6
TREND_K_PER_YEAR = 0.02
COARSE = 16  # the smooth noise is drawn on a grid this many times coarser, then interpolated


@dataclass
class Template:
    """The real sample's grid, mask, fields and attributes."""

    lat: np.ndarray
    lon: np.ndarray
    base: np.ndarray  # K, NaN on land and ice
    pattern: np.ndarray  # the sample's anomaly (K), NaN on land
    attrs: dict[str, object]
    var_attrs: dict[str, dict[str, object]]


def _coarsen(field: np.ndarray) -> np.ndarray:
    rows, cols = field.shape
    blocks = field.reshape(rows // 2, 2, cols // 2, 2)
    with np.errstate(invalid="ignore"):
        return np.nanmean(blocks, axis=(1, 3))


def read_template(resolution: float) -> Template:
    """Return the sample's grid and fields, averaged 2 x 2 for a 0.5 degree grid."""
    with netCDF4.Dataset(SAMPLE) as nc:
        nc.set_auto_maskandscale(True)
        lat = np.asarray(nc["lat"][:], dtype="float32")
        lon = np.asarray(nc["lon"][:], dtype="float32")
        sst = np.ma.filled(nc["analysed_sst"][0].astype("float64"), np.nan)
        anomaly = np.ma.filled(nc["sst_anomaly"][0].astype("float64"), np.nan)
        attrs = {k: nc.getncattr(k) for k in nc.ncattrs()}
        var_attrs = {
            name: {k: nc[name].getncattr(k) for k in nc[name].ncattrs()}
            for name in ("analysed_sst", "sst_anomaly", "lat", "lon", "time")
        }
    if resolution == 0.5:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sst, anomaly = _coarsen(sst), _coarsen(anomaly)
        lat = lat.reshape(-1, 2).mean(axis=1).astype("float32")
        lon = lon.reshape(-1, 2).mean(axis=1).astype("float32")
        attrs["geospatial_lat_resolution"] = attrs["geospatial_lon_resolution"] = 0.5
    elif resolution != 0.25:
        raise SystemExit("resolution: 0.25 or 0.5")
    base = sst - seasonal(lat, SAMPLE_DAY_OF_YEAR)[:, None]
    return Template(lat, lon, base, anomaly, attrs, var_attrs)


def seasonal(lat: np.ndarray, day_of_year: float) -> np.ndarray:
    """Seasonal SST departure (K) at each latitude on a day of the year."""
    lat = np.asarray(lat, dtype="float64")
    amplitude = 0.4 + 4.0 * np.exp(-(((np.abs(lat) - 40.0) / 18.0) ** 2))
    peak = np.where(lat >= 0, 232.0, 49.0)  # warmest in late August (north) / February (south)
    return amplitude * np.cos(2 * np.pi * (day_of_year - peak) / 365.25)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    rows, cols = shape
    coarse = rng.standard_normal((rows // COARSE + 2, cols // COARSE + 2))
    fine = ndimage.zoom(coarse, COARSE, order=1, mode="grid-wrap")
    return fine[:rows, :cols] / 0.55  # about unit variance after interpolation


def _pack(values: np.ndarray, offset: float, vmin: int, vmax: int) -> np.ndarray:
    packed = np.round((values - offset) / 0.01)
    packed = np.clip(packed, vmin, vmax)
    return np.where(np.isfinite(values), packed, -32768).astype("int16")


def _write(path: Path, tpl: Template, day: pd.Timestamp, sst: np.ndarray, anom: np.ndarray) -> None:
    tmp = path.with_suffix(".tmp")
    with netCDF4.Dataset(tmp, "w", format="NETCDF3_CLASSIC") as nc:
        nc.set_fill_off()
        nc.createDimension("time", 1)
        nc.createDimension("lat", tpl.lat.size)
        nc.createDimension("lon", tpl.lon.size)
        stamp = day.strftime("%Y%m%dT%H%M%SZ")
        attrs = dict(tpl.attrs)
        attrs.update(
            start_time=stamp,
            time_coverage_start=stamp,
            stop_time=(day + pd.Timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ"),
            time_coverage_end=(day + pd.Timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ"),
            history=f"grown by the spaceclimate benchmarks from the OSTIA sample of {SAMPLE.name}",
        )
        nc.setncatts(attrs)
        time = nc.createVariable("time", "i4", ("time",))
        time.setncatts(tpl.var_attrs["time"])
        time[:] = [int((day + pd.Timedelta(hours=12) - EPOCH).total_seconds())]
        for name, values in (("lat", tpl.lat), ("lon", tpl.lon)):
            var = nc.createVariable(name, "f4", (name,))
            var.setncatts(tpl.var_attrs[name])
            var[:] = values
        for name, packed in (("sst_anomaly", anom), ("analysed_sst", sst)):
            attrs = tpl.var_attrs[name]
            var = nc.createVariable(name, "i2", ("time", "lat", "lon"), fill_value=np.int16(-32768))
            var.setncatts({k: v for k, v in attrs.items() if k != "_FillValue"})
            var.set_auto_maskandscale(False)
            var[0] = packed
    os.replace(tmp, path)


def grow_span(out: Path, resolution: float, start: str, days: int, seed: int) -> int:
    """Write *days* daily files from *start* into *out*; return how many were written."""
    tpl = read_template(resolution)
    rng = np.random.default_rng(seed)
    shape = tpl.base.shape
    land = ~np.isfinite(tpl.base)
    red = _smooth_noise(rng, shape)
    written = 0
    first = pd.Timestamp(start)
    for k in range(days):
        day = first + pd.Timedelta(days=k)
        red = PERSISTENCE * red + np.sqrt(1 - PERSISTENCE**2) * _smooth_noise(rng, shape)
        anomaly = ANOMALY_K * red + 0.5 * np.nan_to_num(tpl.pattern) * np.cos(k / 97.0)
        anomaly += rng.normal(0.0, 0.02, shape)  # analysis noise, cell by cell
        anomaly[land] = np.nan
        years = (day - pd.Timestamp("2000-01-01")).days / 365.25
        sst = tpl.base + seasonal(tpl.lat, day.day_of_year)[:, None] + TREND_K_PER_YEAR * years
        sst = np.maximum(sst + anomaly, 271.35)  # no sea water below its freezing point
        path = out / f"sst_ostia_l4_anom_daily_{day:%Y%m%d}.nc"
        _write(path, tpl, day, _pack(sst, 273.15, -300, 4500), _pack(anomaly, 0.0, -5000, 5000))
        written += 1
    return written


def grow(out: Path, resolution: float, start: str, days: int, workers: int = 2) -> Path:
    """Grow the files of *days* days from *start* into *out* (reused when already there)."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "grown.json"
    spec = {"version": GENERATOR_VERSION, "resolution": resolution, "start": start, "days": days}
    if stamp.is_file():
        have = json.loads(stamp.read_text())
        if {**have, "days": days} == spec and have["days"] >= days:
            return out  # the first *days* files are already there
    for old in out.glob("*.nc"):
        old.unlink()
    first = pd.Timestamp(start)
    spans = []
    step = 366
    for k in range(0, days, step):
        day = first + pd.Timedelta(days=k)
        spans.append((day.strftime("%Y-%m-%d"), min(step, days - k), 1000 + k))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(grow_span, out, resolution, s, n, seed) for s, n, seed in spans]
        total = sum(f.result() for f in futures)
    assert total == days
    stamp.write_text(json.dumps(spec))
    return out


def main(argv: list[str] | None = None) -> int:
    """Grow files from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--start", default="2001-01-01")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--resolution", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    grow(args.out, args.resolution, args.start, args.days, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
