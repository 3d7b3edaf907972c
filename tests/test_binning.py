"""Level-2 granules binned into daily grids: conservation, one cell, merging, refusals.

Every expected figure comes from an independent read of the agency's file with netCDF4
(its own CF masking and scaling) and plain numpy, sharing no code with the hub's binning.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import h5py
import netCDF4
import numpy as np
import pytest
import shapely.geometry
import xarray as xr

from spaceclimate.ecv import get_recipe
from spaceclimate.harmonise import harmonise_file
from spaceclimate.harmonise.binning import bin_granule, merge_steps
from spaceclimate.readers import open_dataset

from .hubutil import run_sco, snapshot

REPO = Path(__file__).resolve().parents[1]
VIIRS = "sst/sst_viirs_npp_navo_l2p_20190805_subset.nc"
AMSR2 = "sst/sst_amsr2_gcomw1_remss_l2b_20190821_subset.nc"
S5P_ORBIT = "ghg/ch4_s5p_tropomi_l2_offl_20190319_orbit07407_ch4only.nc4"
S5P_SUBSET = "ghg/ch4_s5p_tropomi_l2_offl_20190311_subset.nc4"
ASCAT = "ocean_wind/wind_ascat_metopa_l2_25km_20150702_orbit45145.nc"
JASON1 = "sea_level/alt_jason1_gdr_c001_p002_20020115.nc"
SENTINEL6 = "sea_level/alt_sentinel6a_p4_l2_hr_red_nr_c014_p191_20210403.nc"
MODIS = REPO / "data" / "refused" / "sst_modis_aqua_l2p_jpl_20190805_subset.nc"

Quality = Callable[[netCDF4.Dataset], np.ndarray]


def _at_least(name: str, limit: float) -> Quality:
    return lambda nc: np.asarray(nc[name][:].filled(-1) >= limit)


def _ascat_qc(nc: netCDF4.Dataset) -> np.ndarray:
    # OSI SAF: variational (bit 16) and KNMI (bit 17) quality control must not have failed
    flag = nc["wvc_quality_flag"][:].filled(0).astype("int64")
    return np.asarray((flag & (1 << 16)) == 0) & ((flag & (1 << 17)) == 0)


def _jason_editing(nc: netCDF4.Dataset) -> np.ndarray:
    good = np.ones(nc["ssha"].shape, dtype=bool)
    for name in ("surface_type", "qual_alt_1hz_range_ku", "ice_flag", "rain_flag"):
        good &= nc[name][:].filled(1) == 0
    return good


def _open_water(mask: int) -> Quality:
    # REMSS AMSR2: l2p_flags bits 1-4 land, ice, lake, river (30); 5-7 rain, glint, RFI
    def test(nc: netCDF4.Dataset) -> np.ndarray:
        flags = nc["l2p_flags"]
        flags.set_auto_mask(False)  # its valid_max (2047) would hide the flags of bits 11-15
        return np.asarray((flags[:].astype("int64") & mask) == 0)

    return test


def _s6_editing(group: netCDF4.Group) -> np.ndarray:
    good = np.ones(group["ku/ssha"].shape, dtype=bool)
    for name in ("surface_classification_flag", "ku/range_ocean_qual", "rain_flag"):
        good &= group[name][:].filled(1) == 0
    return good


#: file, recipe, group, (lat, lon, value) variables, quality test, grid step (degrees).
CASES: dict[str, tuple[str, str, str | None, tuple[str, str, str], Quality | None, float]] = {
    "viirs": (VIIRS, "noaa-navo-viirs-npp-l2p-sst", None,
              ("lat", "lon", "sea_surface_temperature"), _at_least("quality_level", 4), 0.1),
    "amsr2": (AMSR2, "jaxa-amsr2-remss-l2p-sst", None,
              ("lat", "lon", "sea_surface_temperature"), _at_least("quality_level", 4), 0.25),
    "s5p-orbit": (S5P_ORBIT, "esa-s5p-tropomi-ch4", "PRODUCT",
                  ("latitude", "longitude", "methane_mixing_ratio"), None, 0.25),
    "s5p-subset": (S5P_SUBSET, "esa-s5p-tropomi-ch4", "PRODUCT",
                   ("latitude", "longitude", "methane_mixing_ratio"),
                   lambda nc: np.asarray(nc["qa_value"][:].filled(0) > 0.5), 0.25),
    "amsr2-wind": (AMSR2, "jaxa-amsr2-remss-l2b-wind", None,
                   ("lat", "lon", "wind_speed"), _open_water(254), 0.25),
    "amsr2-vapour": (AMSR2, "jaxa-amsr2-remss-l2b-vapour", None,
                     ("lat", "lon", "water_vapor"), _open_water(30), 0.25),
    "amsr2-cloud": (AMSR2, "jaxa-amsr2-remss-l2b-cloud", None,
                    ("lat", "lon", "cloud_liquid_water"), _open_water(30), 0.25),
    "amsr2-rain": (AMSR2, "jaxa-amsr2-remss-l2b-rain", None,
                   ("lat", "lon", "rain_rate"), _open_water(30), 0.25),
    "ascat": (ASCAT, "eumetsat-osisaf-ascat-metopa-wind", None,
              ("lat", "lon", "wind_speed"), _ascat_qc, 0.25),
    "sentinel6": (SENTINEL6, "eumetsat-sentinel6-p4-l2-ssha", "data_01",
                  ("latitude", "longitude", "ku/ssha"), _s6_editing, 0.5),
    "jason1": (JASON1, "cnes-nasa-jason1-gdr-ssha", None,
               ("lat", "lon", "ssha"), _jason_editing, 0.5),
}  # fmt: skip
VARIABLE = {
    "s5p-orbit": "xch4",
    "s5p-subset": "xch4",
    "ascat": "wind_speed",
    "jason1": "sla",
    "sentinel6": "sla",
    "amsr2-wind": "wind_speed",
    "amsr2-vapour": "prw",
    "amsr2-cloud": "lwp",
    "amsr2-rain": "rainfall_rate",
}
#: The source's units to the canonical ones, where they differ (mm/h to m/s).
FACTOR = {"amsr2-rain": 1e-3 / 3600}


def accepted_pixels(samples: Path, case: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lat, lon and value of every pixel the product's quality test accepts."""
    name, _recipe, group, (lat_name, lon_name, variable), quality, _res = CASES[case]
    with netCDF4.Dataset(samples / name) as nc:
        where = nc[group] if group else nc
        lat = where[lat_name][:]
        lon = where[lon_name][:]
        value = where[variable][:]
        keep = ~np.ma.getmaskarray(value)
        keep &= ~np.ma.getmaskarray(lat) & ~np.ma.getmaskarray(lon)
        if quality is not None:
            keep &= quality(where)
        value = value.filled(np.nan).astype("float64") * FACTOR.get(case, 1.0)
        lat = np.broadcast_to(lat.filled(np.nan), value.shape)
        lon = np.broadcast_to(lon.filled(np.nan), value.shape)
        lon = (lon + 180.0) % 360.0 - 180.0
    return lat[keep], lon[keep], value[keep]


def binned(samples: Path, case: str) -> xr.Dataset:
    name, recipe_id, *_ = CASES[case]
    return harmonise_file(samples / name, get_recipe(recipe_id))


@pytest.mark.parametrize("case", list(CASES))
def test_binning_conserves_the_accepted_pixels(samples: Path, case: str) -> None:
    """The count-weighted mean of the cube equals the mean of the accepted source pixels."""
    ds = binned(samples, case)
    var = VARIABLE.get(case, "sst")
    _lat, _lon, values = accepted_pixels(samples, case)
    count = ds[f"{var}_count"].values.astype("float64")
    assert int(count.sum()) == values.size
    if values.size == 0:  # the subset's three retrievals all have qa_value 0.4
        assert np.isnan(ds[var].values).all()
        return
    means = np.nan_to_num(ds[var].values.astype("float64"))
    assert (count * means).sum() / count.sum() == pytest.approx(values.mean(), rel=1e-6)
    # and the pooled spread: within-cell variance plus between-cell variance
    stds = np.nan_to_num(ds[f"{var}_std"].values.astype("float64"))
    pooled = (count * (stds**2 + (means - values.mean()) ** 2)).sum() / count.sum()
    assert np.sqrt(pooled) == pytest.approx(values.std(), rel=1e-4)


@pytest.mark.parametrize(
    "case",
    ["viirs", "amsr2", "s5p-orbit", "ascat", "jason1", "sentinel6", "amsr2-wind", "amsr2-vapour"],
)
def test_one_cell_equals_an_independent_binning(samples: Path, case: str) -> None:
    """The fullest cell holds the mean, count and spread of exactly its pixels."""
    ds = binned(samples, case)
    var = VARIABLE.get(case, "sst")
    res = CASES[case][5]
    count = ds[f"{var}_count"].isel(time=0)
    j, i = np.unravel_index(int(np.argmax(count.values)), count.shape)
    south, west = float(ds["lat_bnds"].values[j, 0]), float(ds["lon_bnds"].values[i, 0])
    assert south == pytest.approx(-90 + j * res) and west == pytest.approx(-180 + i * res)
    lat, lon, values = accepted_pixels(samples, case)
    inside = (lat >= south) & (lat < south + res) & (lon >= west) & (lon < west + res)
    mine = values[inside]
    assert mine.size == int(count.values[j, i]) > 1
    cell = ds.isel(time=0, lat=j, lon=i)
    assert float(cell[var]) == pytest.approx(mine.mean(), rel=1e-6)
    # the source's values are float32 once scaled: the spreads agree to that precision
    ulp = float(np.spacing(np.float32(np.abs(mine).max())))
    assert float(cell[f"{var}_std"]) == pytest.approx(mine.std(), rel=1e-4, abs=2 * ulp)


def test_granules_of_one_day_merge_into_their_pixels_statistics(samples: Path) -> None:
    """Two halves of a swath binned apart and merged equal the whole swath binned at once."""
    recipe = get_recipe("noaa-navo-viirs-npp-l2p-sst")
    path = samples / VIIRS
    raw = open_dataset(path, "netcdf")
    try:
        whole = bin_granule(raw, path, recipe)
        half = raw.sizes["nj"] // 2
        parts = [
            bin_granule(raw.isel(nj=s), path, recipe) for s in (slice(0, half), slice(half, None))
        ]
    finally:
        raw.close()
    assert all(int(p["sst_count"].sum()) > 0 for p in parts)
    merged = merge_steps(xr.concat(parts, dim="time", data_vars="all", coords="minimal"))
    assert merged.sizes["time"] == 1
    np.testing.assert_array_equal(merged["sst_count"].values, whole["sst_count"].values)
    np.testing.assert_allclose(merged["sst"].values, whole["sst"].values, rtol=1e-6)
    np.testing.assert_allclose(merged["sst_std"].values, whole["sst_std"].values, atol=2e-4)


def test_granule_items_keep_their_footprint_times_and_filter(api: object) -> None:
    """Each granule is an item with its swath outline, sensing times and quality filter."""
    client = api
    items = client.get("/stac/collections/noaa-navo-viirs-npp-l2p-sst/items").json()["features"]  # type: ignore[attr-defined]
    assert len(items) == 1
    item = items[0]
    props = item["properties"]
    assert props["start_datetime"] == "2019-08-05T20:37:02Z"
    assert props["end_datetime"] == "2019-08-05T20:38:26Z"
    assert props["sco:steps"] == ["2019-08-05T12:00:00Z"]
    assert props["sco:quality_filter"] == "sst: quality_level >= 4"
    outline = shapely.geometry.shape(item["geometry"])
    assert outline.is_valid and outline.area < 0.9 * shapely.geometry.box(*item["bbox"]).area
    with netCDF4.Dataset(Path(__file__).resolve().parents[1] / "data/samples" / VIIRS) as nc:
        lat, lon = nc["lat"][:].compressed(), nc["lon"][:].compressed()
    inside = shapely.contains_xy(outline, lon[::97], lat[::97])
    assert inside.mean() > 0.999
    assert not shapely.contains_xy(outline, -150.0, 50.0)  # far south of the swath

    orbit = client.get(  # type: ignore[attr-defined]
        "/stac/collections/esa-s5p-tropomi-ch4/items/ch4_s5p_tropomi_l2_offl_20190319_orbit07407_ch4only"
    ).json()
    assert orbit["properties"]["start_datetime"] == "2019-03-19T11:30:10Z"
    assert "not applied" in orbit["properties"]["sco:quality_filter"]
    cube = client.get("/stac/collections/esa-s5p-tropomi-ch4").json()  # type: ignore[attr-defined]
    assert set(cube["cube:variables"]) >= {"xch4", "xch4_count", "xch4_std"}
    steps = json.loads(
        client.get("/zarr/esa-s5p-tropomi-ch4/zarr.json").json()["attributes"]["sco_step_granules"]
    )  # type: ignore[attr-defined]
    assert steps == {
        "2019-03-11T12:00:00Z": ["ch4_s5p_tropomi_l2_offl_20190311_subset"],
        "2019-03-19T12:00:00Z": ["ch4_s5p_tropomi_l2_offl_20190319_orbit07407_ch4only"],
    }


def test_binned_product_serves_tiles_and_points(api: object) -> None:
    """A tile of the binned swath renders; a point series reads one cell's mean."""
    client = api
    tile = client.get("/tiles/noaa-navo-viirs-npp-l2p-sst/sst/4/0/3.png")  # type: ignore[attr-defined]
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
    ds = harmonise_file(
        Path(__file__).resolve().parents[1] / "data/samples" / VIIRS,
        get_recipe("noaa-navo-viirs-npp-l2p-sst"),
    )
    count = ds["sst_count"].isel(time=0)
    j, i = np.unravel_index(int(np.argmax(count.values)), count.shape)
    lat, lon = float(ds["lat"][j]), float(ds["lon"][i])
    body = client.get(  # type: ignore[attr-defined]
        "/edr/collections/noaa-navo-viirs-npp-l2p-sst/position",
        params={"coords": f"POINT({lon} {lat})", "parameter-name": "sst,sst_count"},
    ).json()
    ranges = body["ranges"]
    assert ranges["sst"]["values"][0] == pytest.approx(float(ds["sst"].values[0, j, i]), rel=1e-6)
    assert ranges["sst_count"]["values"][0] == int(count.values[j, i])


def test_a_granule_without_its_quality_variable_is_refused(tmp_path: Path) -> None:
    """MODIS subset without quality_level: a one-line reason, exit 2, nothing published."""
    home = tmp_path / "hub"
    assert run_sco(home, "ingest", str(REPO / "data/samples" / AMSR2)).returncode == 0
    before = snapshot(home)
    done = run_sco(home, "ingest", str(MODIS))
    assert done.returncode == 2, done.stderr
    assert "quality variable 'quality_level' not found" in done.stderr
    assert "quality_level >= 4" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert snapshot(home) == before


def test_a_pass_across_midnight_feeds_two_days(samples: Path) -> None:
    """Points carry their own time: a pass shifted to straddle midnight makes two steps."""
    recipe = get_recipe("cnes-nasa-jason1-gdr-ssha")
    path = samples / JASON1
    raw = open_dataset(path, "netcdf")
    try:
        seconds = raw["time"].values.astype("float64")  # seconds since 2000-01-01
        middle = seconds[len(seconds) // 2]
        shift = (np.ceil(middle / 86400) * 86400) - middle  # the middle point at 00:00
        shifted = raw.assign(time=raw["time"].copy(data=seconds + shift))
        ds = bin_granule(shifted, path, recipe)
    finally:
        raw.close()
    assert ds.sizes["time"] == 2
    bounds = ds["time_bnds"].values
    assert (bounds[:, 1] - bounds[:, 0] == np.timedelta64(1, "D")).all()
    assert bounds[0, 1] == bounds[1, 0]
    with netCDF4.Dataset(path) as nc:
        good = _jason_editing(nc) & ~np.ma.getmaskarray(nc["ssha"][:])
        after = (seconds + shift) >= np.ceil(middle / 86400) * 86400
    counts = ds["sla_count"].sum(dim=("lat", "lon")).values
    assert counts.tolist() == [int((good & ~after).sum()), int((good & after).sum())]


def test_one_file_feeds_a_collection_per_ecv() -> None:
    """AMSR2's files match five recipes that share them, one ECV each."""
    from spaceclimate.ecv import match_recipe, match_recipes
    from spaceclimate.errors import NoRecipeError

    hits = match_recipes(REPO / "data/samples" / AMSR2)
    assert sorted(r.ecv for r in hits) == sorted(
        ["sea_surface_temperature", "surface_wind", "water_vapour", "cloud_properties",
         "precipitation"]
    )  # fmt: skip
    with pytest.raises(NoRecipeError, match="several recipes match"):
        match_recipe(REPO / "data/samples" / AMSR2)


FIRMS = "fire/fire_firms_modis_c6_nrt_global_24h_20201001.csv"


def test_fire_detections_grid_into_daily_counts_and_summed_power(samples: Path) -> None:
    """Per day: detections of confidence >= 30 counted and their power summed, cell by cell."""
    with (samples / FIRMS).open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["confidence"]) >= 30]
    ds = harmonise_file(samples / FIRMS, get_recipe("nasa-firms-modis-c6-fires"))
    days = sorted({r["acq_date"] for r in rows})
    assert [str(t)[:10] for t in ds["time_bnds"].values[:, 0]] == days
    assert ds["frp"].attrs["cell_methods"] == "area: sum"
    for k, day in enumerate(days):
        mine = [r for r in rows if r["acq_date"] == day]
        step = ds.isel(time=k)
        assert int(step["frp_count"].sum()) == len(mine)
        total = float(np.nansum(step["frp"].values.astype("float64")))
        assert total == pytest.approx(sum(float(r["frp"]) for r in mine), rel=1e-5)
    # the busiest cell of the first day, summed independently
    first = ds.isel(time=0)
    j, i = np.unravel_index(int(np.argmax(first["frp_count"].values)), first["frp_count"].shape)
    south, west = -90 + 0.25 * j, -180 + 0.25 * i
    inside = [
        float(r["frp"])
        for r in rows
        if r["acq_date"] == days[0]
        and south <= float(r["latitude"]) < south + 0.25
        and west <= float(r["longitude"]) < west + 0.25
    ]
    assert int(first["frp_count"].values[j, i]) == len(inside) > 1
    assert float(first["frp"].values[j, i]) == pytest.approx(sum(inside), rel=1e-6)
    assert float(first["frp_std"].values[j, i]) == pytest.approx(np.std(inside), rel=1e-4)


def test_summed_steps_merge_into_the_sum_of_their_parts(samples: Path) -> None:
    """Two halves of the detections merged equal all of them binned at once."""
    recipe = get_recipe("nasa-firms-modis-c6-fires")
    path = samples / FIRMS
    raw = open_dataset(path, "table", **recipe.reader_options)
    half = raw.sizes["point"] // 2
    whole = bin_granule(raw, path, recipe)
    parts = [
        bin_granule(raw.isel(point=s), path, recipe) for s in (slice(0, half), slice(half, None))
    ]
    merged = merge_steps(xr.concat(parts, dim="time", data_vars="all", coords="minimal"))
    np.testing.assert_array_equal(merged["frp_count"].values, whole["frp_count"].values)
    np.testing.assert_allclose(merged["frp"].values, whole["frp"].values, rtol=1e-5)
    np.testing.assert_allclose(
        merged["frp_std"].values, whole["frp_std"].values, rtol=1e-3, atol=1e-3
    )


MLS_CO = "ghg/co_mls_aura_l2gp_v05_2021d043.he5"


def _mls_screened(samples: Path) -> tuple[np.ndarray, ...]:
    """Latitude, longitude, pressure and the screened CO (ppb, NaN where rejected), read
    with h5py and screened as the MLS v5 quality document says."""
    with h5py.File(samples / MLS_CO, "r") as f:
        swath = f["HDFEOS/SWATHS/CO"]
        lat = swath["Geolocation Fields/Latitude"][:].astype("float64")
        lon = swath["Geolocation Fields/Longitude"][:].astype("float64")
        pressure = swath["Geolocation Fields/Pressure"][:].astype("float64")
        value = swath["Data Fields/L2gpValue"][:].astype("float64")
        precision = swath["Data Fields/L2gpPrecision"][:]
        status = swath["Data Fields/Status"][:]
        quality = swath["Data Fields/Quality"][:]
        convergence = swath["Data Fields/Convergence"][:]
    good = (status % 2 == 0) & (quality > 1.5) & (convergence < 1.03)
    keep = good[:, None] & (precision > 0) & (value != -999.99)
    return lat, lon, pressure, np.where(keep, value * 1e9, np.nan)


def test_profiles_keep_their_levels_and_a_z_query_reads_one(api: object, samples: Path) -> None:
    """An EDR position query with z equals the mean of the screened profiles of its cell."""
    lat, lon, pressure, co = _mls_screened(samples)
    level = int(np.argmin(np.abs(pressure - 10.0)))  # the 10 hPa level
    assert pressure[level] == pytest.approx(10.0)
    # the cell of 5 degrees holding most screened profiles at 10 hPa
    valid = np.isfinite(co[:, level])
    cells = np.floor((lat + 90) / 5).astype(int) * 72 + np.floor((lon + 180) / 5).astype(int)
    best = np.bincount(cells[valid], minlength=72 * 36).argmax()
    j, i = divmod(int(best), 72)
    mine = co[:, level][valid & (cells == best)]
    assert mine.size > 1
    centre = (-180 + 5 * i + 2.5, -90 + 5 * j + 2.5)
    r = api.get(  # type: ignore[attr-defined]
        "/edr/collections/nasa-aura-mls-co/position",
        params={
            "coords": f"POINT({centre[0]} {centre[1]})",
            "z": "10",
            "parameter-name": "co,co_count",
        },
    )
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["domain"]["axes"]["z"]["values"] == [pytest.approx(10.0)]
    assert body["ranges"]["co_count"]["values"][0] == mine.size
    assert body["ranges"]["co"]["values"][0] == pytest.approx(mine.mean(), rel=1e-5)
    doc = api.get("/stac/collections/nasa-aura-mls-co").json()  # type: ignore[attr-defined]
    plev = doc["cube:dimensions"]["plev"]
    assert plev["type"] == "spatial" and plev["axis"] == "z" and plev["unit"] == "hPa"
    useful = pressure[(pressure >= 0.00099) & (pressure <= 216)]
    assert plev["values"] == pytest.approx(list(useful), rel=1e-6)


def test_profile_binning_conserves_every_level(samples: Path) -> None:
    lat, lon, pressure, co = _mls_screened(samples)
    ds = harmonise_file(samples / MLS_CO, get_recipe("nasa-aura-mls-co"))
    assert ds["co"].dims == ("time", "plev", "lat", "lon")
    assert ds["plev"].attrs["positive"] == "down" and ds["plev"].attrs["axis"] == "Z"
    useful = np.flatnonzero((pressure >= 0.00099) & (pressure <= 216))
    for k, source_level in enumerate(useful):
        values = co[:, source_level]
        values = values[np.isfinite(values)]
        count = ds["co_count"].isel(time=0, plev=k).values.astype("float64")
        assert int(count.sum()) == values.size
        if values.size:
            means = np.nan_to_num(ds["co"].isel(time=0, plev=k).values.astype("float64"))
            assert (count * means).sum() / count.sum() == pytest.approx(values.mean(), rel=1e-5)


def test_profile_tiles_draw_one_level(api: object) -> None:
    """Tiles of a profile product draw the level asked for (the nearest), a map per level."""
    get = api.get  # type: ignore[attr-defined]
    at_10 = get("/tiles/nasa-aura-mls-co/co/1/0/0.png", params={"level": "10"})
    near_10 = get("/tiles/nasa-aura-mls-co/co/1/0/0.png", params={"level": "10.4"})
    high = get("/tiles/nasa-aura-mls-co/co/1/0/0.png", params={"level": "0.01"})
    assert at_10.status_code == near_10.status_code == high.status_code == 200
    assert at_10.content == near_10.content != high.content
    flat = get("/tiles/ukmo-ostia-sst-daily/sst/1/0/0.png", params={"level": "3"})
    assert flat.status_code == 400 and "no vertical levels" in flat.json()["detail"]


OCO2 = "ghg/xco2_oco2_lite_soundings_california_2014-2017.csv"


def test_soundings_bin_monthly_on_a_regional_grid(samples: Path) -> None:
    """Each month's soundings: counted and averaged, the count-weighted mean conserved."""
    with (samples / OCO2).open(newline="") as fh:
        rows = [(int(r["Year"]), int(r["Month"]), float(r["Xco2"])) for r in csv.DictReader(fh)]
    ds = harmonise_file(samples / OCO2, get_recipe("nasa-oco2-xco2-california"))
    months = sorted({(y, m) for y, m, _ in rows})
    starts = [str(t)[:7] for t in ds["time_bnds"].values[:, 0]]
    assert starts == [f"{y}-{m:02d}" for y, m in months]
    assert ds.sizes["lat"] == 48 and ds.sizes["lon"] == 52  # 31-43N, 126-113W at 0.25
    for k, (y, m) in enumerate(months):
        mine = np.array([v for yy, mm, v in rows if (yy, mm) == (y, m)])
        count = ds["xco2_count"].isel(time=k).values.astype("float64")
        means = np.nan_to_num(ds["xco2"].isel(time=k).values.astype("float64"))
        assert int(count.sum()) == mine.size
        assert (count * means).sum() / count.sum() == pytest.approx(mine.mean(), rel=1e-6)
    assert "not applied" in str(ds.attrs["sco_quality_filter"])


def test_area_mean_of_a_profile_product_is_per_level(api: object, samples: Path) -> None:
    """The area mean of a profile product needs a level, and averages that level only, with
    true cell areas (on the sphere a cell weighs its difference of sines of latitude)."""
    post = api.post  # type: ignore[attr-defined]
    base = {"collection": "nasa-aura-mls-co", "variable": "co", "bbox": [0, -30, 60, 30]}
    refused = post("/processes/area-mean/execution", json={"inputs": base})
    assert refused.status_code == 400 and "give z" in refused.json()["detail"]
    answer = post("/processes/area-mean/execution", json={"inputs": {**base, "z": 10.3}})
    assert answer.status_code == 200, answer.text[:300]
    series = answer.json()["series"]
    assert series["z"] == pytest.approx(10.0)
    ds = harmonise_file(samples / MLS_CO, get_recipe("nasa-aura-mls-co"))
    cells = ds["co"].isel(time=0).sel(plev=10.0, method="nearest")
    inside = cells.where(
        (cells["lat"] > -30) & (cells["lat"] < 30) & (cells["lon"] > 0) & (cells["lon"] < 60)
    )
    south, north = np.deg2rad(ds["lat_bnds"].values[:, 0]), np.deg2rad(ds["lat_bnds"].values[:, 1])
    weight = xr.DataArray(np.sin(north) - np.sin(south), dims="lat") * xr.ones_like(cells["lon"])
    ok = np.isfinite(inside.values)
    want = float((inside.values[ok] * weight.values[ok]).sum() / weight.values[ok].sum())
    assert series["values"][0] == pytest.approx(want, rel=1e-5)
    assert series["n_cells"] == int(ok.sum())
