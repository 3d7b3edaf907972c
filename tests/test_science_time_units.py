"""Time, naming and units defects an independent re-reading of the sources found.

- ESA CCI soil moisture: a day's cell was [D 00:00, D+1 00:00) while the files' own per-cell
  observation times (``t0``, valid range D +/- 12 h) span D-12 h to D+12 h.
- GRACE: each solution took its stamp's calendar month as bounds, so the months holding two
  solutions had two identical, overlapping cells.
- OLCI: the scenes' bounds were degenerate (equal to the stamp) while the source's own
  ``time_bnds`` span seconds.
- Monthly stamps differed between collections (the 1st, the 2nd, the 16th): every step is
  now stamped at the middle of its cell (``docs/recipes.md``, Time).
- OSTIA daily was served as ``sea_surface_temperature``, losing the source's
  ``sea_surface_foundation_temperature``.
- Ozone was stored in DU, no UDUNITS unit: now CF's ``mol m-2``, shown in DU.

Every expected figure is read here from the source files (netCDF4, numpy, Zarr metadata) or
is a published constant (CODATA through scipy.constants, the Gregorian calendar).
"""

from __future__ import annotations

import calendar
import io
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pandas as pd
import pytest
import scipy.constants
import xarray as xr
from fastapi.testclient import TestClient
from PIL import Image

from spaceclimate.api import create_app
from spaceclimate.catalog import open_catalog
from spaceclimate.ecv import get_recipe, list_recipes, match_recipe
from spaceclimate.ecv.models import TimeSpec
from spaceclimate.errors import GridError
from spaceclimate.harmonise import harmonise_file
from spaceclimate.render.colormaps import get_lut
from spaceclimate.render.legend import BAR_HEIGHT, BAR_TOP, legend_png

from .profile import hub_settings

SM = "esa-cci-sm-combined"
GRACE = ("nasa-grace-ice-mass-greenland", "nasa-grace-ice-mass-antarctica")
OLCI = "esa-olci-c2rcc-north-sea"
OZONE = "esa-cci-ozone-tc"
OSTIA = "ukmo-ostia-sst-daily"
OLCI_CUBE = "ocean_colour/chl_olci_c2rcc_cube_southern_north_sea_201701.zarr"
OZONE_FILE = "ozone/o3_esacci_total_column_merged_200505_subset.nc"
#: The mean Gregorian year (days): 146097 days every 400 years.
GREGORIAN_YEAR_DAYS = 146097 / 400
#: One Dobson unit as a column of ozone: 10 um of pure ozone at 273.15 K and 101.325 kPa, i.e.
#: the Loschmidt constant (CODATA) times 1e-5 m, in moles through the Avogadro constant.
DU_IN_MOL_M2 = (
    scipy.constants.physical_constants["Loschmidt constant (273.15 K, 101.325 kPa)"][0]
    * 1e-5
    / scipy.constants.Avogadro
)


# -- helpers ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(hub_home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(hub_settings(hub_home))) as test_client:
        yield test_client


def hub_cube(hub_home: Path, cid: str) -> xr.Dataset:
    """The published cube of collection *cid* in the session hub."""
    settings = hub_settings(hub_home)
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        href = catalog.get_collection(cid)["assets"]["zarr"]["href"]
    finally:
        catalog.close()
    store = settings.resolved_store_path
    return xr.open_zarr(store / href, zarr_format=3)


def ns(values: Any) -> np.ndarray:
    return np.asarray(values).astype("datetime64[ns]")


def cf_days(values: np.ndarray, units: str) -> np.ndarray:
    """Decode ``days since <date>`` by hand (no CF library): epoch plus whole nanoseconds."""
    word, since, origin = units.split(" ", 2)
    assert (word, since) == ("days", "since"), units
    epoch = np.datetime64(pd.Timestamp(origin.replace(" UTC", "")).to_datetime64(), "ns")
    return epoch + np.round(np.asarray(values, dtype="float64") * 86_400e9).astype(
        "timedelta64[ns]"
    )


# -- soil moisture: the product's own day -----------------------------------------------------
@pytest.mark.parametrize("day", ["19781114", "19781115", "19781116", "20000101"])
def test_soil_moisture_cell_is_the_t0_valid_range(samples: Path, day: str) -> None:
    path = samples / "soil_moisture" / f"sm_esacci_combined_v02.2_{day}.nc"
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        t0 = nc["t0"]
        units, fill = str(t0.units), float(t0._FillValue)
        valid = cf_days(np.asarray(t0.valid_range), units)
        observed = np.asarray(t0[:], dtype="float64")
        observed = cf_days(observed[observed != fill], units)
    ds = harmonise_file(path, match_recipe(path))
    bounds = ns(ds["time_bnds"].values[0])
    # [D - 12 h, D + 12 h); the files' times all lie 40 us early (their time variable too,
    # which the recipe rounds to the day)
    assert np.abs(bounds - valid).max() <= np.timedelta64(1, "ms")
    assert str(ds["time"].values[0])[:19] == f"{day[:4]}-{day[4:6]}-{day[6:]}T00:00:00"
    # every observation inside (the valid range is closed: 2000-01-01 has some at D+12 h)
    assert bounds[0] <= observed.min() and observed.max() <= bounds[1]


def test_soil_moisture_days_tile_the_hub_cube(hub_home: Path) -> None:
    cube = hub_cube(hub_home, SM)
    bounds = ns(cube["time_bnds"].values)
    assert (bounds[1:, 0] >= bounds[:-1, 1]).all()
    assert (bounds[:2, 1] == bounds[1:3, 0]).all()  # 14, 15, 16 November 1978 back to back
    middle = bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) // 2
    assert (ns(cube["time"].values) == middle).all()


# -- GRACE: solutions with their own cells ----------------------------------------------------
def grace_source(samples: Path, region: str) -> tuple[np.ndarray, str]:
    """The solutions' times (decimal years read by hand) and the header's text."""
    path = samples / "ice_sheets" / f"grace_{region}_mass_200204_202112.txt"
    text = path.read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("HDR"))
    years = np.loadtxt(path, comments="HDR", usecols=0)
    stamps = []
    for value in years:
        year = int(np.floor(value))
        length = 366 if calendar.isleap(year) else 365
        stamps.append(datetime(year, 1, 1) + timedelta(days=(value - year) * length))
    return ns(pd.DatetimeIndex(stamps).round("s")), header


@pytest.mark.parametrize("cid", GRACE)
def test_grace_cells_do_not_overlap(hub_home: Path, samples: Path, cid: str) -> None:
    stamps, header = grace_source(samples, cid.rsplit("-", 1)[1])
    # the header describes the columns and the monthly uncertainties, not the solutions' spans
    assert "TIME (year.decimal)" in header and "span" not in header.lower()
    cube = hub_cube(hub_home, cid)
    times, bounds = ns(cube["time"].values), ns(cube["time_bnds"].values)
    assert times.tolist() == stamps.tolist()  # the solutions' own times are kept
    assert (bounds[:, 0] <= times).all() and (times < bounds[:, 1]).all()
    assert (bounds[1:, 0] >= bounds[:-1, 1]).all()  # no instant in two cells

    # months holding two solutions: the source's own stamps, read here
    months = pd.DatetimeIndex(stamps).to_period("M")
    twice = np.flatnonzero(months[1:] == months[:-1])
    pairs = [(str(stamps[i])[:10], str(stamps[i + 1])[:10]) for i in twice]
    assert pairs == [
        ("2011-10-16", "2011-10-30"),
        ("2012-01-01", "2012-01-15"),
        ("2015-04-16", "2015-04-27"),
        ("2017-04-02", "2017-04-24"),
    ]
    half_month = np.timedelta64(int(GREGORIAN_YEAR_DAYS / 12 / 2 * 86_400e9), "ns")
    for i in twice:  # they meet halfway between their stamps
        halfway = stamps[i] + (stamps[i + 1] - stamps[i]) // 2
        assert bounds[i, 1] == bounds[i + 1, 0] == halfway
    # neighbours closer than a month share a boundary; no cell reaches further than half a
    # mean Gregorian month from its stamp (the first and last ones, those beside the gap)
    gaps = np.diff(stamps)
    close = gaps <= 2 * half_month
    assert (bounds[1:, 0][close] == bounds[:-1, 1][close]).all()
    assert (times - bounds[:, 0] <= half_month).all() and (bounds[:, 1] - times <= half_month).all()
    # time is counted once: in each calendar month the cells cover at most the month
    covered: dict[pd.Period, np.timedelta64] = {}
    for lo, hi in bounds:
        for month in pd.period_range(pd.Timestamp(lo), pd.Timestamp(hi), freq="M"):
            start = max(lo, ns(month.start_time.to_datetime64()))
            end = min(hi, ns((month + 1).start_time.to_datetime64()))
            if end > start:
                covered[month] = covered.get(month, np.timedelta64(0, "ns")) + (end - start)
    for month, span in covered.items():
        assert span <= np.timedelta64(month.days_in_month * 86_400, "s"), month


# -- OLCI: the scenes' own bounds -------------------------------------------------------------
def olci_source(samples: Path) -> tuple[np.ndarray, np.ndarray]:
    """The cube's time stamps and time_bnds, decoded by hand from its Zarr arrays."""
    with xr.open_zarr(samples / OLCI_CUBE, decode_times=False) as raw:
        units = str(raw["time"].attrs["units"])
        return cf_days(raw["time"].values, units), cf_days(raw["time_bnds"].values, units)


def test_olci_bounds_are_the_source_time_bnds(samples: Path, hub_home: Path) -> None:
    stamps, bounds = olci_source(samples)
    assert ((bounds[:, 1] - bounds[:, 0]) > np.timedelta64(1, "s")).all()  # seconds, not instants
    ds = harmonise_file(samples / OLCI_CUBE, get_recipe(OLCI))
    got = ns(ds["time_bnds"].values)
    assert np.abs(got - bounds).max() <= np.timedelta64(1, "us")
    assert np.abs(ns(ds["time"].values) - stamps).max() <= np.timedelta64(1, "ms")  # middles
    cube = hub_cube(hub_home, OLCI)
    stored = ns(cube["time_bnds"].values)
    assert np.abs(stored - bounds).max() <= np.timedelta64(1, "ms")


def test_source_bounds_a_stamp_lies_outside_are_refused(samples: Path, tmp_path: Path) -> None:
    src = samples / "sst" / "sst_ostia_monthly_equatorial_2006-2010.nc"
    shifted = tmp_path / src.name
    shutil.copy(src, shifted)
    with netCDF4.Dataset(shifted, "a") as nc:
        nc["time_bnds"][:] = nc["time_bnds"][:] + 24 * 40  # hours: every month 40 days late
    with pytest.raises(GridError, match="outside the source's bounds"):
        harmonise_file(shifted, match_recipe(shifted))


def test_ostia_monthly_bounds_are_the_source_time_bnds(samples: Path) -> None:
    path = samples / "sst" / "sst_ostia_monthly_equatorial_2006-2010.nc"
    with netCDF4.Dataset(path) as nc:
        hours = np.asarray(nc["time_bnds"][:], dtype="int64")
        stamps = np.asarray(nc["time"][:], dtype="int64")
        assert str(nc["time"].units) == "hours since 1970-01-01 00:00:00"
    epoch = np.datetime64("1970-01-01T00:00", "ns")
    ds = harmonise_file(path, match_recipe(path))
    assert ns(ds["time_bnds"].values).tolist() == (epoch + hours.astype("timedelta64[h]")).tolist()
    # the source stamps its means at the middle of its bounds, as the hub does everywhere
    assert ns(ds["time"].values).tolist() == (epoch + stamps.astype("timedelta64[h]")).tolist()


# -- one convention for stamps ----------------------------------------------------------------
def _coverage(text: str, inclusive: str) -> np.datetime64:
    """An ACDD coverage end in the file's own spelling, as an exclusive instant."""
    stamp = pd.Timestamp(text.replace("Z", ""))
    step = {"day": pd.Timedelta(days=1), "second": pd.Timedelta(seconds=1), "": pd.Timedelta(0)}
    return ns((stamp + step[inclusive]).to_datetime64())


# collection, source file, attribute names of its coverage, how inclusive its end is
COVERAGE = [
    (OZONE, OZONE_FILE, ("time_coverage_start", "time_coverage_end"), "day"),
    (
        "esa-cci-seastate-swh",
        "ocean_waves/swh_esacci_seastate_l4_monthly_200505_subset.nc",
        ("time_coverage_start", "time_coverage_end"),
        "",
    ),
    (
        "nsidc-seaice-cdr-nh-monthly",
        "sea_ice/seaice_conc_cdr_v4_monthly_nh_202112.nc",
        ("time_coverage_start", "time_coverage_end"),
        "second",
    ),
    (
        "nsidc-seaice-cdr-nh-daily",
        "sea_ice/seaice_conc_cdr_v4_daily_nh_20211231.nc",
        ("time_coverage_start", "time_coverage_end"),
        "second",
    ),
    (
        "nasa-ssh-simple-grid",
        "sea_level/ssha_nasa_ssh_simple_grid_v1_20240923.nc",
        ("time_coverage_start", "time_coverage_end"),
        "second",
    ),
    (OSTIA, "sst/sst_ostia_l4_anom_daily_20170605.nc", ("start_time", "stop_time"), ""),
]


@pytest.mark.parametrize(("cid", "name", "attrs", "inclusive"), COVERAGE)
def test_cells_are_the_sources_own_coverage_stamped_at_the_middle(
    hub_home: Path, samples: Path, cid: str, name: str, attrs: tuple[str, str], inclusive: str
) -> None:
    with netCDF4.Dataset(samples / name) as nc:
        start = _coverage(str(nc.getncattr(attrs[0])), "")
        end = _coverage(str(nc.getncattr(attrs[1])), inclusive)
    cube = hub_cube(hub_home, cid)
    bounds = ns(cube["time_bnds"].values)
    assert [bounds[0, 0], bounds[0, 1]] == [start, end]
    assert ns(cube["time"].values)[0] == start + (end - start) // 2


def test_aquarius_week_is_its_map_time_range(hub_home: Path, samples: Path) -> None:
    path = samples / "ocean_salinity" / "sss_aquarius_cap_v2.0_7day_20140107_1deg.nc"
    with netCDF4.Dataset(path) as nc:
        first, last = str(nc.getncattr("Map_Time_Range")).split("-")  # 01/07/14-01/13/14
    start = ns(pd.Timestamp(datetime.strptime(first, "%m/%d/%y")).to_datetime64())
    end = ns(pd.Timestamp(datetime.strptime(last, "%m/%d/%y")).to_datetime64())
    end = end + np.timedelta64(1, "D")  # the last day is in the map
    cube = hub_cube(hub_home, "nasa-aquarius-cap-sss-7day-v2")
    assert np.array_equal(ns(cube["time_bnds"].values[0]), [start, end])
    assert ns(cube["time"].values)[0] == start + (end - start) // 2


def test_every_collection_stamps_its_steps_at_the_middle_of_their_cells(hub_home: Path) -> None:
    """One rule for every harmonised collection (GRACE keeps its solutions' own times)."""
    monthly = []
    catalog = open_catalog(hub_settings(hub_home).resolved_catalog_url)
    try:
        published = {doc["id"] for doc in catalog.list_collections()}
    finally:
        catalog.close()
    for recipe in list_recipes().values():
        if recipe.id not in published:
            continue  # a recipe whose bundled file is refused (data/refused)
        cube = hub_cube(hub_home, recipe.id)
        if "time" not in cube.dims:
            continue
        assert recipe.time is not None
        times, bounds = ns(cube["time"].values), ns(cube["time_bnds"].values)
        assert (bounds[1:, 0] >= bounds[:-1, 1]).all(), recipe.id  # never two steps at once
        assert ((bounds[:, 0] <= times) & (times <= bounds[:, 1])).all(), recipe.id
        if recipe.time.bounds != "midpoints":
            middle = bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) // 2
            # to the microsecond: cubes store times as float64 seconds (the OLCI scenes'
            # bounds have sub-second parts); every other middle is exact
            assert np.abs(times - middle).max() <= np.timedelta64(1, "us"), recipe.id
        if recipe.time.resolution == "P1M" and recipe.time.bounds != "midpoints":
            start = pd.DatetimeIndex(bounds[:, 0])
            assert (start == start.to_period("M").to_timestamp()).all(), recipe.id
            after = ns((start + pd.DateOffset(months=1)).values)
            assert (bounds[:, 1] == after).all(), recipe.id
            monthly.append(recipe.id)
    assert len(monthly) >= 8  # ERSST, CDR x2, ozone, sea state, Aquarius, CSIRO, Rutgers, OSTIA


def test_two_steps_in_one_period_are_refused(samples: Path) -> None:
    path = samples / "sea_ice" / "nsidc_seaice_index_extent_daily_N_v3.0.csv"
    recipe = match_recipe(path)
    assert recipe.time is not None
    monthly = recipe.model_copy(update={"time": TimeSpec(resolution="P1M")})
    with pytest.raises(GridError, match="overlap"):
        harmonise_file(path, monthly)


def _grace_rows(samples: Path, first: int, last: int | None, shift: float) -> str:
    """Rows of the Greenland series (header kept), their decimal years moved by *shift*."""
    text = (samples / "ice_sheets" / "grace_greenland_mass_200204_202112.txt").read_text()
    lines = text.splitlines()
    header = [line for line in lines if line.startswith("HDR")]
    rows = [line.split() for line in lines if line.strip() and not line.startswith("HDR")]
    moved = [f"{float(r[0]) + shift:.2f} {r[1]} {r[2]}" for r in rows[first:last]]
    return "\n".join(header + moved) + "\n"


@pytest.mark.parametrize(
    ("first", "last", "shift"),
    [
        (0, None, 0.01),  # the whole series again, 3.65 days later: merged out of order
        (-1, None, 0.01),  # a solution 3.65 days after the last one: appended in order
    ],
)
def test_files_whose_steps_overlap_are_refused(
    samples: Path, tmp_path: Path, first: int, last: int | None, shift: float
) -> None:
    from spaceclimate.ingest import Ingestor

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(samples / "ice_sheets" / "grace_greenland_mass_200204_202112.txt", folder)
    (folder / "grace_greenland_mass_zz_moved.txt").write_text(
        _grace_rows(samples, first, last, shift)
    )
    ingestor = Ingestor(hub_settings(tmp_path / "hub"))
    try:
        with pytest.raises(GridError, match="overlap"):
            ingestor.ingest(sorted(folder.iterdir()))
    finally:
        ingestor.close()


# -- names: the source's more precise standard name -------------------------------------------
def test_ostia_keeps_the_foundation_temperature_name(
    samples: Path, client: TestClient, hub_home: Path
) -> None:
    with netCDF4.Dataset(samples / "sst" / "sst_ostia_l4_anom_daily_20170605.nc") as nc:
        source = str(nc["analysed_sst"].standard_name)
    assert source == "sea_surface_foundation_temperature"
    assert hub_cube(hub_home, OSTIA)["sst"].attrs["standard_name"] == source
    doc = client.get(f"/stac/collections/{OSTIA}").json()
    assert doc["cube:variables"]["sst"]["sco:standard_name"] == source
    edr = client.get(f"/edr/collections/{OSTIA}").json()
    assert edr["parameter_names"]["sst"]["observedProperty"]["id"].endswith(f"/{source}/")
    # the monthly OSTIA file says only surface_temperature: the ECV's name is the precise one
    monthly = hub_cube(hub_home, "ukmo-ostia-sst-monthly")
    assert monthly["sst"].attrs["standard_name"] == "sea_surface_temperature"


# -- units: ozone in mol m-2, shown in DU -----------------------------------------------------
def ozone_source(samples: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    with netCDF4.Dataset(samples / OZONE_FILE) as nc:
        nc.set_auto_maskandscale(False)
        var = nc["atmosphere_mole_content_of_ozone"]
        return nc["lat"][:], nc["lon"][:], np.asarray(var[0], dtype="float64"), str(var.units)


def test_ozone_stored_in_mol_per_square_metre(samples: Path, hub_home: Path) -> None:
    lat, lon, du, units = ozone_source(samples)
    assert units == "DU"
    j, i = 10, 10
    assert np.isfinite(du[j, i])
    expected = du[j, i] * DU_IN_MOL_M2
    cube = hub_cube(hub_home, OZONE)
    toz = cube["toz"]
    assert toz.attrs["units"] == "mol m-2" and toz.attrs["source_units"] == "DU"
    got = float(toz.isel(time=0).sel(lat=float(lat[j]), lon=float(lon[i])))
    # the table's 4.4615e-4 mol m-2 per DU is the CODATA figure to five digits
    assert got == pytest.approx(expected, rel=2e-6)
    # whole grid, and DU back through the display factor
    values = toz.isel(time=0).sel(lat=lat, lon=lon).values
    finite = np.isfinite(du)
    np.testing.assert_allclose(values[finite], du[finite] * DU_IN_MOL_M2, rtol=2e-6)
    assert toz.attrs["sco_display_units"] == "DU"
    assert toz.attrs["sco_display_scale"] == pytest.approx(1 / DU_IN_MOL_M2, rel=2e-6)
    shown = values[finite] * toz.attrs["sco_display_scale"]
    np.testing.assert_allclose(shown, du[finite], rtol=1e-6)
    assert cube["toz_sd"].attrs["units"] == "mol m-2"


def test_ozone_display_units_in_catalog_and_legends(client: TestClient) -> None:
    doc = client.get(f"/stac/collections/{OZONE}").json()
    info = doc["cube:variables"]["toz"]
    assert info["unit"] == "mol m-2" and info["sco:display_units"] == "DU"
    scale = info["sco:display_scale"]
    assert scale == pytest.approx(1 / DU_IN_MOL_M2, rel=2e-6)
    legend = client.get(f"/tiles/{OZONE}/toz/legend.json").json()
    assert legend["units"] == "mol m-2"
    assert legend["display"]["units"] == "DU" and legend["display"]["scale"] == scale
    low, high = legend["range"]
    assert legend["display"]["range"] == pytest.approx([low * scale, high * scale])
    assert legend["display"]["range"] == pytest.approx([200.0, 450.0], rel=2e-6)  # ecvs.yaml
    # the colour bar's labels read 200, DU, 450: as drawn for that range in DU
    served = np.asarray(
        Image.open(io.BytesIO(client.get(f"/tiles/{OZONE}/toz/legend.png").content))
    )
    lut = get_lut(legend["colormap"])
    in_du = np.asarray(Image.open(io.BytesIO(legend_png(lut, 200.0, 450.0, "DU"))))
    stored = np.asarray(Image.open(io.BytesIO(legend_png(lut, low, high, "mol m-2"))))
    labels = slice(BAR_TOP + BAR_HEIGHT, None)
    assert np.array_equal(served[labels], in_du[labels])
    assert not np.array_equal(served[labels], stored[labels])
    tilejson = client.get(f"/tiles/{OZONE}/toz/tilejson.json").json()
    assert tilejson["sco:units"] == "mol m-2" and tilejson["sco:display_units"] == "DU"
    # variables stored in the units people read them in carry no display units
    sst = client.get(f"/tiles/{OSTIA}/sst/legend.json").json()
    assert "display" not in sst and sst["units"] == "K"
