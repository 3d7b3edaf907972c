"""Independent reads of bundled source files, for checking what the hub serves.

These decode the agencies' files by hand (netCDF4 without automatic scaling, pyproj with EPSG
codes), so they share no code with the hub's readers and harmonisation.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
from pyproj import Transformer

OSTIA_DAYS = ("20170605", "20170606", "20170607")
#: Collections the bundled samples (``data/samples``) make: 22 gridded products and series,
#: and 5 binned level-2 products (VIIRS and AMSR2 SST swaths, TROPOMI methane orbits, an
#: ASCAT wind swath, a Jason-1 along-track pass), and 3 more references (Mauna Loa CO2, NOAA
#: global CH4, an ERA5 2 m temperature field) beside the ERSST one, and 4 more collections of
#: the AMSR2 file (wind, water vapour, cloud liquid water, rain rate), the FIRMS fires and the
#: Aerosol CCI Angstrom exponent, a Sentinel-6 along-track pass, Aura MLS CO profiles, OCO-2
#: soundings, the two Ozone Watch indices, the two records of the EPA sea level indicator and the
#: ocean-colour CCI absorption at 443 nm.
BUNDLED_COLLECTIONS = 44


def ostia_source(samples: Path, name: str = "analysed_sst") -> tuple[np.ndarray, ...]:
    """Return source lat, lon (0..360) and *name* in K for the three OSTIA days."""
    days = []
    for day in OSTIA_DAYS:
        with netCDF4.Dataset(samples / "sst" / f"sst_ostia_l4_anom_daily_{day}.nc") as nc:
            nc.set_auto_maskandscale(False)
            var = nc[name]
            raw = var[0].astype("float64")
            value = raw * float(var.scale_factor) + float(var.add_offset)
            days.append(np.where(raw == var._FillValue, np.nan, value))
            lat, lon = nc["lat"][:].astype("float64"), nc["lon"][:].astype("float64")
    return lat, lon, np.stack(days)


def ostia_nearest(lat: np.ndarray, lon360: np.ndarray, lon: float, lat0: float) -> tuple[int, int]:
    """Return the (row, column) of the source cell nearest a lon/lat point."""
    i = int(np.argmin(np.abs(lat - lat0)))
    j = int(np.argmin(np.abs(((lon360 - (lon % 360)) + 180) % 360 - 180)))
    return i, j


def seaice_source(
    samples: Path, name: str = "seaice_conc_cdr_v4_monthly_nh_202112.nc"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return source xgrid, ygrid (metres) and the CDR concentration (flag codes -> NaN)."""
    with netCDF4.Dataset(samples / "sea_ice" / name) as nc:
        nc.set_auto_maskandscale(False)
        var = nc["cdr_seaice_conc_monthly"]
        raw = var[0].astype("float64")
        conc = np.where(raw > 100, np.nan, raw * float(var.scale_factor))
        return nc["xgrid"][:].astype("float64"), nc["ygrid"][:].astype("float64"), conc


def seaice_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of every source cell centre from EPSG:3411 (rows follow ygrid)."""
    to_lonlat = Transformer.from_crs("EPSG:3411", "EPSG:4326", always_xy=True)
    xx, yy = np.meshgrid(x, y)
    return to_lonlat.transform(xx, yy)


def seaice_nearest(x: np.ndarray, y: np.ndarray, lon: float, lat: float) -> tuple[int, int]:
    """Return the (row, column) of the source cell nearest a lon/lat point in EPSG:3411."""
    to_grid = Transformer.from_crs("EPSG:4326", "EPSG:3411", always_xy=True)
    px, py = to_grid.transform(lon, lat)
    return half_open_nearest(y, py), half_open_nearest(x, px)


def half_open_nearest(axis: np.ndarray, value: float) -> int:
    """Index of the centre nearest *value*; on an edge (equally near two centres, to a part in
    a billion), the cell that starts there: the larger coordinate (cells are half-open)."""
    distance = np.abs(axis - value)
    tied = np.flatnonzero(distance <= distance.min() * (1 + 1e-9))
    return int(tied[np.argmax(axis[tied])])


def ersst_source(samples: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ERSST v5 times (datetime64), lat (descending), lon (0..358) and SST in K."""
    path = samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc"
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        var = nc["sst"]
        raw = var[:].astype("float64")
        missing = [
            float(getattr(var, a)) for a in ("_FillValue", "missing_value") if a in var.ncattrs()
        ]
        scale = float(getattr(var, "scale_factor", 1.0))
        offset = float(getattr(var, "add_offset", 0.0))
        bad = np.isin(raw, missing) | ~np.isfinite(raw)
        sst = np.where(bad, np.nan, raw * scale + offset) + 273.15
        times = netCDF4.num2date(nc["time"][:], nc["time"].units, only_use_cftime_datetimes=False)
        stamps = np.array([np.datetime64(t.strftime("%Y-%m-%dT%H:%M:%S")) for t in times])
        return stamps, nc["lat"][:].astype("float64"), nc["lon"][:].astype("float64"), sst
