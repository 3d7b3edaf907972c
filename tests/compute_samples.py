"""Sample inputs for the analytics tests (``test_compute_*``), read once per session.

``harmonised`` is the hub's own harmonisation of a real file (the input of the analytics);
everything else here reads the source files directly with netCDF4/pandas/pyproj, sharing no
code with the hub, for the independent side of the checks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS, Geod, Transformer

from spaceclimate.ecv import match_recipe
from spaceclimate.harmonise import combine, harmonise_file

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
OSTIA_DAYS = ("20170605", "20170606", "20170607")
OSTIA_FILES = tuple(f"sst/sst_ostia_l4_anom_daily_{day}.nc" for day in OSTIA_DAYS)
NSIDC_N = "sea_ice/nsidc_seaice_index_extent_daily_N_v3.0.csv"
NSIDC_S = "sea_ice/nsidc_seaice_index_extent_daily_S_v3.0.csv"
CDR_NH_MONTHLY = "sea_ice/seaice_conc_cdr_v4_monthly_nh_202112.nc"
CDR_NH_DAILY = "sea_ice/seaice_conc_cdr_v4_daily_nh_20211231.nc"
CDR_SH_MONTHLY = "sea_ice/seaice_conc_cdr_v4_monthly_sh_202112.nc"
GMSL = "sea_level/gmsl_csiro_altimetry_monthly_1993-2020.csv"
GRACE_GREENLAND = "ice_sheets/grace_greenland_mass_200204_202112.txt"
ERSST = "counterparts/ersst_v5_monthly_2010-2020_insitu.nc"
OSTIA_MONTHLY = "sst/sst_ostia_monthly_equatorial_2006-2010.nc"
SOIL_MOISTURE = tuple(f"soil_moisture/sm_esacci_combined_v02.2_1978111{d}.nc" for d in (4, 5, 6))


@lru_cache(maxsize=16)
def _harmonised(names: tuple[str, ...]) -> xr.Dataset:
    parts = [harmonise_file(SAMPLES / n, match_recipe(SAMPLES / n)) for n in names]
    return combine(parts) if len(parts) > 1 else parts[0]


def harmonised(*names: str) -> xr.Dataset:
    """Return the hub's harmonised dataset of one or more sample files (a fresh copy)."""
    return _harmonised(tuple(names)).copy(deep=False)


@lru_cache(maxsize=4)
def _ostia_raw(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    days = []
    for file in OSTIA_FILES:
        with netCDF4.Dataset(SAMPLES / file) as nc:
            values = np.ma.filled(nc[name][0].astype("float64"), np.nan)
            lat = np.asarray(nc["lat"][:], dtype="float64")
            lon = np.asarray(nc["lon"][:], dtype="float64")
        days.append(values)
    lon = ((lon + 180.0) % 360.0) - 180.0
    order_lat, order_lon = np.argsort(lat), np.argsort(lon)
    cube = np.stack(days)[:, order_lat][:, :, order_lon]
    return lat[order_lat], lon[order_lon], cube


def ostia_raw(name: str = "analysed_sst") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return lat, lon (ascending, lon in −180..180) and *name* (3 days) read with netCDF4."""
    return _ostia_raw(name)


@lru_cache(maxsize=2)
def nsidc_daily(name: str = NSIDC_N) -> pd.Series:
    """Return the NSIDC daily extent (10⁶ km²) indexed by date, read with pandas."""
    frame = pd.read_csv(SAMPLES / name, skiprows=[1], skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    dates = pd.to_datetime({"year": frame.Year, "month": frame.Month, "day": frame.Day})
    return pd.Series(frame["Extent"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(dates))


def nsidc_monthly_means(name: str = NSIDC_N) -> pd.Series:
    """Return plain monthly means of the daily extent (pandas groupby), indexed by month start."""
    daily = nsidc_daily(name)
    return daily.groupby(daily.index.to_period("M")).mean().to_timestamp()


@lru_cache(maxsize=1)
def gmsl() -> pd.Series:
    """Return the CSIRO monthly GMSL (mm) indexed by month start, read with pandas."""
    frame = pd.read_csv(SAMPLES / GMSL, na_values=["#N/A"])
    index = pd.to_datetime(frame["Time"], format="%Y-%b")
    return pd.Series(frame["GMSL (monthly)"].to_numpy(dtype="float64"), index=index)


@lru_cache(maxsize=1)
def grace_greenland() -> pd.DataFrame:
    """Return the GRACE Greenland mass series: decimal year and mass (Gt), read with numpy."""
    rows = [
        line.split()
        for line in (SAMPLES / GRACE_GREENLAND).read_text().splitlines()
        if line.strip() and not line.startswith("HDR")
    ]
    values = np.array(rows, dtype="float64")
    return pd.DataFrame({"year": values[:, 0], "mass": values[:, 1]})


def raw_cdr(name: str, variable: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return x, y (ascending) and raw uint8 codes of a CDR field, read with netCDF4."""
    with netCDF4.Dataset(SAMPLES / name) as nc:
        nc.set_auto_maskandscale(False)
        codes = np.asarray(nc[variable][0])
        x = np.asarray(nc["xgrid"][:], dtype="float64")
        y = np.asarray(nc["ygrid"][:], dtype="float64")
    if y[0] > y[-1]:
        y, codes = y[::-1], codes[::-1]
    return x, y, codes


@lru_cache(maxsize=2)
def polar_areas_geodesic(name: str, epsg: int) -> np.ndarray:
    """Return the area (m²) of every 25 km cell of a CDR grid as geodesic polygons on its ellipsoid.

    Independent of the hub: corners from the file's x/y centres ± 12.5 km, projected back with
    pyproj from the EPSG code, areas with :class:`pyproj.Geod` of that CRS's ellipsoid.
    """
    x, y, _ = raw_cdr(name, "cdr_seaice_conc_monthly" if "monthly" in name else "cdr_seaice_conc")
    crs = CRS.from_epsg(epsg)
    geod: Geod = crs.get_geod()  # type: ignore[assignment]
    to_geo = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    xe = np.concatenate([x - 12_500.0, [x[-1] + 12_500.0]])
    ye = np.concatenate([y - 12_500.0, [y[-1] + 12_500.0]])
    lon, lat = to_geo.transform(*np.meshgrid(xe, ye))
    areas = np.empty((len(y), len(x)))
    for j in range(len(y)):
        for i in range(len(x)):
            lons = [lon[j, i], lon[j, i + 1], lon[j + 1, i + 1], lon[j + 1, i]]
            lats = [lat[j, i], lat[j, i + 1], lat[j + 1, i + 1], lat[j + 1, i]]
            areas[j, i] = abs(geod.polygon_area_perimeter(lons, lats)[0])
    return areas
