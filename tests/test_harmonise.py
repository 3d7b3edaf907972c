"""Harmonisation on the real samples, checked against independent calculations."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from pyproj import CRS

from spaceclimate.ecv import get_recipe, list_ecvs, list_recipes, match_recipe, match_recipes
from spaceclimate.errors import UnitError
from spaceclimate.harmonise import harmonise_file


def _raw(path: Path, name: str) -> np.ndarray:
    """Read a variable's stored values with no decoding at all."""
    with netCDF4.Dataset(path) as nc:
        var = nc.variables[name]
        var.set_auto_maskandscale(False)
        return np.asarray(var[:])


def test_bundle_covers_the_required_breadth(samples: Path) -> None:
    recipes = list_recipes()
    agencies = {a for r in recipes.values() for a in r.agencies}
    ecvs = {r.ecv for r in recipes.values()}
    assert len(recipes) >= 12
    assert len(agencies) >= 6
    assert len(ecvs) >= 10
    assert set(ecvs) <= set(list_ecvs())
    files = [p for p in samples.rglob("*") if p.is_file() and ".zarr" not in str(p)]
    for path in files:
        if path.suffix == ".md":
            continue
        match_recipes(path)  # every bundled file has one recipe, or several sharing it


def test_ostia_weighted_global_mean_matches_source(samples: Path) -> None:
    path = samples / "sst" / "sst_ostia_l4_anom_daily_20170605.nc"
    ds = harmonise_file(path, match_recipe(path))
    cube = ds["sst"].isel(time=0)
    w = np.cos(np.deg2rad(ds["lat"]))
    ours = float(cube.weighted(w.fillna(0)).mean(("lat", "lon"), skipna=True))

    raw = _raw(path, "analysed_sst")[0].astype("float64")
    with netCDF4.Dataset(path) as nc:
        lat = np.asarray(nc.variables["lat"][:], dtype="float64")
        fill = nc.variables["analysed_sst"]._FillValue
    kelvin = np.where(raw == fill, np.nan, raw * 0.01 + 273.15)
    weights = np.broadcast_to(np.cos(np.deg2rad(lat))[:, None], kelvin.shape)
    ok = np.isfinite(kelvin)
    independent = float((kelvin[ok] * weights[ok]).sum() / weights[ok].sum())
    assert ours == pytest.approx(independent, abs=1e-3)
    assert 285.0 < ours < 295.0  # a plausible global mean SST in kelvin
    # grid convention: lon in [-180, 180) ascending, lat ascending, bounds present
    assert float(ds.lon.min()) >= -180 and float(ds.lon.max()) < 180
    assert np.all(np.diff(ds.lon.values) > 0) and np.all(np.diff(ds.lat.values) > 0)
    assert ds["lat_bnds"].shape == (720, 2) and ds["time_bnds"].shape == (1, 2)
    assert str(ds.time.values[0])[:19] == "2017-06-05T12:00:00"


def test_ostia_point_value_after_lon_wrap(samples: Path) -> None:
    path = samples / "sst" / "sst_ostia_l4_anom_daily_20170606.nc"
    ds = harmonise_file(path, match_recipe(path))
    raw = _raw(path, "analysed_sst")[0]
    with netCDF4.Dataset(path) as nc:
        lon = np.asarray(nc.variables["lon"][:])
        lat = np.asarray(nc.variables["lat"][:])
    j, i = int(np.argmin(np.abs(lat - 0.125))), int(np.argmin(np.abs(lon - 220.125)))  # 139.875W
    expected = raw[j, i] * 0.01 + 273.15
    got = float(ds["sst"].sel(lat=0.125, lon=-139.875, method="nearest").isel(time=0))
    assert got == pytest.approx(expected, abs=1e-4)


def test_sea_ice_concentration_masked_and_projected(samples: Path) -> None:
    path = samples / "sea_ice" / "seaice_conc_cdr_v4_monthly_nh_202112.nc"
    ds = harmonise_file(path, match_recipe(path))
    sic = ds["sic"].values
    assert np.nanmin(sic) >= 0.0 and np.nanmax(sic) <= 1.0
    raw = _raw(path, "cdr_seaice_conc_monthly")[0]
    assert int(np.isnan(sic).sum()) == int((raw >= 251).sum())  # every flag code is missing
    assert (raw >= 251).sum() > 10_000  # land, coast and pole hole exist in the source
    crs = CRS.from_wkt(ds["crs"].attrs["crs_wkt"])
    assert crs.to_epsg() == 3411
    assert ds["crs"].attrs["grid_mapping_name"] == "polar_stereographic"
    assert ds["lat"].dims == ("y", "x") and ds["lon"].dims == ("y", "x")
    # y is made ascending: the source's first row (north edge) is the cube's last row
    np.testing.assert_allclose(
        ds["sic"].values[0, -1, :], np.where(raw[0] >= 251, np.nan, raw[0] / 100), rtol=1e-6
    )
    # the central cell of the grid is close to the North Pole
    assert float(ds["lat"].max()) > 89.5
    assert ds["sic"].attrs["grid_mapping"] == "crs"


def test_mean_sea_surface_scale_fixed(samples: Path) -> None:
    path = samples / "sea_level" / "mss_cnes_cls_v2_quarterdeg.nc"
    ds = harmonise_file(path, match_recipe(path))
    mss = ds["mss"].values
    assert -110 <= np.nanmin(mss) < -90 and 70 < np.nanmax(mss) <= 90
    raw = _raw(path, "mss")
    assert np.nanmax(mss) == float(raw[raw != 2147483647].max())  # raw ints are metres
    assert "time" not in ds.dims


def test_sea_state_undeclared_fill_masked(samples: Path) -> None:
    path = samples / "ocean_waves" / "swh_esacci_seastate_l4_monthly_200505_subset.nc"
    ds = harmonise_file(path, match_recipe(path))
    for name in ("swh", "swh_max"):
        values = ds[name].values
        assert np.nanmax(values) < 20.0
        assert not np.any(values > 1e30)
    raw = _raw(path, "swh_mean")
    assert int(np.isnan(ds["swh"].values).sum()) == int((~np.isfinite(raw) | (raw > 1e30)).sum())


def test_ersst_converted_from_celsius(samples: Path) -> None:
    path = samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc"
    ds = harmonise_file(path, match_recipe(path))
    raw = _raw(path, "sst")
    with netCDF4.Dataset(path) as nc:
        lat = np.asarray(nc.variables["lat"][:])
        lon = np.asarray(nc.variables["lon"][:])
    j, i = int(np.argmin(np.abs(lat - 0.0))), int(np.argmin(np.abs(lon - 200.0)))
    got = float(ds["sst"].isel(time=5).sel(lat=0.0, lon=-160.0))
    assert got == pytest.approx(float(raw[5, j, i]) + 273.15, abs=1e-4)
    assert ds["sst"].attrs["units"] == "K" and ds["sst"].attrs["source_units"] == "degC"
    # January 2010 (the file's first month): stamped at its middle, bounded by the month
    assert ds.sizes["time"] == 128 and str(ds.time.values[0])[:19] == "2010-01-16T12:00:00"
    assert [str(b)[:10] for b in ds.time_bnds.values[0]] == ["2010-01-01", "2010-02-01"]


def test_soil_moisture_days_rounded(samples: Path) -> None:
    path = samples / "soil_moisture" / "sm_esacci_combined_v02.2_19781114.nc"
    ds = harmonise_file(path, match_recipe(path))
    assert str(ds.time.values[0])[:19] == "1978-11-14T00:00:00"
    sm = ds["sm"].values
    assert 20_000 < int(np.isfinite(sm).sum()) < 60_000  # sparse early SMMR record
    assert np.nanmax(sm) <= 1.0 and np.nanmin(sm) >= 0.0


def test_nsidc_extent_series_matches_csv(samples: Path) -> None:
    path = samples / "sea_ice" / "nsidc_seaice_index_extent_daily_N_v3.0.csv"
    ds = harmonise_file(path, match_recipe(path))
    with path.open() as fh:
        rows = list(csv.reader(fh))[2:]
    wanted = next(
        r for r in rows if r[0].strip() == "2012" and r[1].strip() == "09" and r[2].strip() == "16"
    )
    got = ds["sea_ice_extent"].sel(time="2012-09-16").item()  # the day's step (12:00)
    assert got == pytest.approx(float(wanted[3]), abs=1e-6)
    assert ds["sea_ice_extent"].attrs["units"] == "1e6 km2"


def test_rutgers_regions_stacked(samples: Path) -> None:
    path = samples / "snow" / "snow_rutgers_nh_snow_cover_extent_monthly_1966-2014.txt"
    ds = harmonise_file(path, match_recipe(path))
    sce = ds["snow_cover_extent"]
    assert set(sce.dims) == {"time", "region"}
    # the month's step (stamped at the middle of December 2014)
    assert sce.sel(region="northern_hemisphere", time="2014-12").item() == pytest.approx(43.65)
    assert sce.sel(region="eurasia", time="2014-12").item() == pytest.approx(27.22)


def test_cf_acdd_and_provenance(samples: Path) -> None:
    from spaceclimate.catalog.base import SourceRecord
    from spaceclimate.ecv import recipe_digest
    from spaceclimate.harmonise import finalize

    path = samples / "ozone" / "o3_esacci_total_column_merged_200505_subset.nc"
    recipe = match_recipe(path)
    ds = harmonise_file(path, recipe)
    src = SourceRecord(path.name, "ab" * 32, path.stat().st_size, path.stem)
    out = finalize(ds, recipe, [src], recipe_digest(recipe), 1)
    for key in (
        "Conventions",
        "title",
        "summary",
        "license",
        "time_coverage_start",
        "history",
        "geospatial_lat_min",
        "references",
        "provenance",
    ):
        assert key in out.attrs, key
    assert "ACDD-1.3" in out.attrs["Conventions"]
    prov = json.loads(out.attrs["provenance"])
    assert prov["sources"][0]["sha256"] == "ab" * 32 and prov["recipe"] == recipe.id
    assert out["toz"].attrs["standard_name"] == "atmosphere_mole_content_of_ozone"
    assert out["toz"].attrs["units"] == "mol m-2"  # CF's canonical units, not DU


def test_aquarius_v2_fill_and_psu(samples: Path) -> None:
    path = samples / "ocean_salinity" / "sss_aquarius_cap_v2.0_7day_20140107_1deg.nc"
    ds = harmonise_file(path, get_recipe("nasa-aquarius-cap-sss-7day-v2"))
    sss = ds["sss"].values
    assert np.nanmin(sss) > 0 and np.nanmax(sss) < 45
    bounds = ds["time_bnds"].values[0]
    # the map covers 7-13 January 2014 (the file's Map_Time_Range attribute)
    assert str(bounds[0])[:10] == "2014-01-07" and str(bounds[1])[:10] == "2014-01-14"


def _general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make harmonise_file take the general (xarray) path for every recipe."""
    from spaceclimate.harmonise import fast

    monkeypatch.setattr(fast, "applies", lambda _recipe: False)


def _fast_path_files(samples: Path) -> list[Path]:
    from spaceclimate.harmonise import fast

    files = sorted(p for p in samples.rglob("*.nc") if ".zarr" not in str(p))
    return [p for p in files if all(fast.applies(r) for r in match_recipes(p))]


def test_fast_path_covers_the_ostia_samples(samples: Path) -> None:
    from spaceclimate.harmonise import fast

    ostia = sorted((samples / "sst").glob("sst_ostia_l4_anom_daily_*.nc"))
    assert len(ostia) == 3
    assert set(ostia) <= set(_fast_path_files(samples))
    for path in ostia:  # the fast path really runs on them (it does not fall back)
        assert fast.harmonise_packed(path, match_recipe(path)) is not None


def test_fast_path_identical_to_general_path(
    samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values (to the bit, NaN where missing), dtypes, attributes, coordinates, their order."""
    import xarray as xr

    files = _fast_path_files(samples)
    assert len(files) >= 8
    quick = {p: harmonise_file(p, match_recipe(p)) for p in files}
    _general_path(monkeypatch)
    for path, got in quick.items():
        want = harmonise_file(path, match_recipe(path))
        xr.testing.assert_identical(got, want)
        assert list(got.variables) == list(want.variables), path.name
        assert got.attrs == want.attrs, path.name
        for name, var in want.variables.items():
            other = got.variables[name]
            assert other.dims == var.dims and other.dtype == var.dtype, (path.name, name)
            assert other.attrs == var.attrs and other.encoding == var.encoding, (path.name, name)
            assert np.array_equal(other.values, var.values, equal_nan=var.dtype.kind == "f")


def test_fast_path_falls_back_on_other_layouts(tmp_path: Path, samples: Path) -> None:
    """A file the fast path cannot read its way goes the general path, with its errors."""
    from spaceclimate.errors import InputError
    from spaceclimate.harmonise import fast

    src = samples / "sst" / "sst_ostia_l4_anom_daily_20170605.nc"
    recipe = match_recipe(src)
    bad = tmp_path / src.name
    with netCDF4.Dataset(src) as nc_in, netCDF4.Dataset(bad, "w") as nc_out:
        for dim, size in nc_in.dimensions.items():
            nc_out.createDimension(dim, len(size))
        for name in ("time", "lat", "lon", "analysed_sst"):  # no sst_anomaly
            var = nc_in.variables[name]
            var.set_auto_maskandscale(False)
            attrs = {k: var.getncattr(k) for k in var.ncattrs()}
            out = nc_out.createVariable(name, var.dtype, var.dimensions, fill_value=False)
            out.setncatts(attrs)
            out[:] = var[:]
    assert fast.applies(recipe)
    assert fast.harmonise_packed(bad, recipe) is None
    with pytest.raises(InputError, match="sst_anomaly"):
        harmonise_file(bad, recipe)


def test_unit_spellings_of_one_unit_need_no_registry() -> None:
    from spaceclimate.harmonise import units

    units.registry.cache_clear()
    units.linear_conversion.cache_clear()
    assert units.linear_conversion("kelvin", "K") == (1.0, 0.0)  # an alias of the table
    assert units.linear_conversion("PSU", "1e-3") == (1.0, 0.0)
    assert units.registry.cache_info().currsize == 0  # the half-second registry is not built
    scale, offset = units.linear_conversion("degC", "kelvin")  # a real conversion builds it
    assert (scale, offset) == pytest.approx((1.0, 273.15))
    assert units.registry.cache_info().currsize == 1
    with pytest.raises(UnitError):
        units.linear_conversion("kelvin", "m")
