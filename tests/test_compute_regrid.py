"""Regridding and intercomparison of OSTIA and ERSST, against independent area sums."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer

from spaceclimate.compute.compare import compare, summary
from spaceclimate.compute.regrid import regrid
from spaceclimate.errors import InputError
from tests import compute_samples as cs

R = 6_371_008.8


def _areas(lat_edges: np.ndarray, lon_edges: np.ndarray) -> np.ndarray:
    band = np.diff(np.sin(np.deg2rad(lat_edges)))
    return R**2 * np.outer(band, np.deg2rad(np.diff(lon_edges)))


def test_conservative_regridding_conserves_the_area_integral() -> None:
    ostia = cs.harmonised(cs.OSTIA_FILES[0])
    ersst = cs.harmonised(cs.ERSST)
    out = regrid(ostia, ersst, variable="sst", min_coverage=0.0, keep_coverage=True)
    assert isinstance(out, xr.Dataset)
    target = out["sst"].isel(time=0).values
    cover = out["coverage"].isel(time=0).values
    # independent source integral over the target's domain (89° S to 89° N)
    lat, _, raw = cs.ostia_raw("analysed_sst")
    lat_edges = np.arange(-90.0, 90.01, 0.25)
    src_area = _areas(lat_edges, np.arange(-180.0, 180.01, 0.25))
    inside = (np.abs(lat) < 89.0)[:, None] & np.isfinite(raw[0])
    source_integral = np.sum(np.where(inside, src_area * raw[0], 0.0))
    tgt_area = _areas(np.arange(-89.0, 89.01, 2.0), np.arange(-181.0, 179.01, 2.0))
    target_integral = np.nansum(tgt_area * cover * target)
    assert target_integral == pytest.approx(source_integral, rel=1e-7)  # float32 storage
    harmonised = ostia["sst"].isel(time=0).values.astype("float64")
    exact = np.nansum(np.where((np.abs(lat) < 89.0)[:, None], src_area * harmonised, 0.0))
    assert target_integral == pytest.approx(exact, rel=1e-12)
    source_mean = source_integral / np.sum(np.where(inside, src_area, 0.0))
    assert np.nansum(tgt_area * cover * target) / np.nansum(tgt_area * cover) == pytest.approx(
        source_mean, rel=1e-7
    )
    # with the default 50 % coverage the plain area-weighted mean moves by a few hundredths
    default = regrid(ostia, ersst, variable="sst").isel(time=0).values
    ok = np.isfinite(default)
    assert np.sum(tgt_area[ok] * default[ok]) / np.sum(tgt_area[ok]) == pytest.approx(
        source_mean, abs=0.05
    )


def test_conservative_cells_are_area_means_including_the_dateline_cell() -> None:
    ostia = cs.harmonised(cs.OSTIA_FILES[0])
    ersst = cs.harmonised(cs.ERSST)
    out = regrid(ostia, ersst, variable="sst").isel(time=0)
    lat, lon, raw = cs.ostia_raw("analysed_sst")
    rows = (lat > -1) & (lat < 1)
    weights = np.cos(np.deg2rad(lat[rows]))[:, None]
    centre = raw[0][rows][:, (lon > -1) & (lon < 1)]
    expected = np.sum(weights * centre) / np.sum(weights * np.ones_like(centre))
    assert float(out.sel(lat=0.0, lon=0.0)) == pytest.approx(expected, abs=1e-5)
    # the ERSST cell centred on 180° spans 179° E to 179° W
    dateline = raw[0][rows][:, (lon > 179) | (lon < -179)]
    expected = np.sum(weights * dateline) / np.sum(weights * np.ones_like(dateline))
    assert float(out.sel(lat=0.0, lon=-180.0)) == pytest.approx(expected, abs=1e-5)


def test_bilinear_and_nearest_regridding() -> None:
    ersst = cs.harmonised(cs.ERSST).isel(time=slice(0, 2))
    same = regrid(ersst, ersst, method="bilinear", variable="sst")
    xr.testing.assert_allclose(same, ersst["sst"].transpose(*same.dims), atol=1e-5)
    # half-way between two ERSST centres: the mean of the two (or the one valid neighbour)
    mid = xr.Dataset(coords={"lat": [1.0], "lon": [-140.0, 178.0 + 1.0]})
    out = regrid(ersst, mid, method="bilinear", variable="sst").isel(time=0)
    pair = ersst["sst"].isel(time=0).sel(lat=[0.0, 2.0], lon=-140.0).values
    assert float(out.isel(lat=0, lon=0)) == pytest.approx(pair.astype(float).mean(), abs=1e-5)
    wrap = ersst["sst"].isel(time=0).sel(lat=[0.0, 2.0], lon=[178.0, -180.0]).values
    assert float(out.isel(lat=0, lon=1)) == pytest.approx(wrap.astype(float).mean(), abs=1e-5)
    # nearest from the polar stereographic sea-ice grid onto a 1° grid
    sic = cs.harmonised(cs.CDR_NH_MONTHLY)
    grid = xr.Dataset(coords={"lat": np.arange(60.5, 90.0, 1.0), "lon": np.arange(-179.5, 180.0)})
    out = regrid(sic, grid, method="nearest", variable="sic")
    x, y, codes = cs.raw_cdr(cs.CDR_NH_MONTHLY, "cdr_seaice_conc_monthly")
    to_xy = Transformer.from_crs("EPSG:4326", "EPSG:3411", always_xy=True)
    for lon_c, lat_c in [(-150.5, 75.5), (0.5, 85.5), (40.5, 70.5)]:
        px, py = to_xy.transform(lon_c, lat_c)
        code = codes[np.argmin(np.abs(y - py)), np.argmin(np.abs(x - px))]
        expected = code / 100.0 if code <= 100 else np.nan
        got = float(out.isel(time=0).sel(lat=lat_c, lon=lon_c))
        assert got == pytest.approx(expected, abs=1e-6, nan_ok=True)


def test_ostia_monthly_against_ersst_in_2010() -> None:
    ostia = cs.harmonised(cs.OSTIA_MONTHLY).sel(time="2010")
    ersst = cs.harmonised(cs.ERSST).sel(time=slice("2010-01", "2010-09"))
    result = compare(ostia, cs.harmonised(cs.ERSST).sel(time="2010"))
    stats = summary(result)
    assert stats["common_times"] == 9  # OSTIA monthly ends in September 2010
    assert stats["units"] == "K"
    assert -0.5 < stats["bias_mean"] < 0.5
    assert stats["rmsd_total"] < 1.0
    assert stats["pattern_correlation"] > 0.9
    assert stats["mean_temporal_correlation"] > 0.8
    # independent statistics on the same regridded field
    on_ersst = regrid(ostia, ersst, variable="sst").values.astype("float64")
    reference = ersst["sst"].values.astype("float64")
    both = np.isfinite(on_ersst) & np.isfinite(reference)
    assert stats["common_cells"] == int(both.any(axis=0).sum())
    area = _areas(np.arange(-89.0, 89.01, 2.0), np.arange(-181.0, 179.01, 2.0))
    weights = np.broadcast_to(area, on_ersst.shape)[both]
    diff = (on_ersst - reference)[both]
    assert stats["bias_mean"] == pytest.approx(np.sum(weights * diff) / weights.sum(), abs=1e-9)
    assert stats["rmsd_total"] == pytest.approx(
        np.sqrt(np.sum(weights * diff**2) / weights.sum()), abs=1e-9
    )
    a, b = on_ersst[both], reference[both]
    ma, mb = np.average(a, weights=weights), np.average(b, weights=weights)
    corr = np.sum(weights * (a - ma) * (b - mb)) / np.sqrt(
        np.sum(weights * (a - ma) ** 2) * np.sum(weights * (b - mb) ** 2)
    )
    assert stats["pattern_correlation"] == pytest.approx(corr, abs=1e-9)
    j, i = np.argwhere(both.all(axis=0))[0]
    cell = {"lat": j, "lon": i}
    assert float(result["bias"].isel(cell)) == pytest.approx(
        np.mean(on_ersst[:, j, i] - reference[:, j, i]), abs=1e-6
    )
    assert float(result["correlation"].isel(cell)) == pytest.approx(
        np.corrcoef(on_ersst[:, j, i], reference[:, j, i])[0, 1], abs=1e-6
    )


def test_regrid_and_compare_reject_bad_input() -> None:
    ersst = cs.harmonised(cs.ERSST)
    sic = cs.harmonised(cs.CDR_NH_MONTHLY)
    with pytest.raises(InputError, match="conservative"):
        regrid(sic, ersst, variable="sic")
    with pytest.raises(InputError, match="target"):
        regrid(ersst, sic, variable="sst")
    with pytest.raises(InputError, match="method"):
        regrid(ersst, ersst, method="spline", variable="sst")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="min_coverage"):
        regrid(ersst, ersst, min_coverage=2.0, variable="sst")
    ostia = cs.harmonised(cs.OSTIA_MONTHLY).sel(time="2007")
    with pytest.raises(InputError, match="no time step in common"):
        compare(ostia, ersst)
