"""Downloads at /download: NetCDF, CSV and GeoTIFF of real collections, and size estimates.

Values are checked against independent reads of the agencies' source files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio
import xarray as xr
from fastapi.testclient import TestClient

from spaceclimate.api import create_app
from spaceclimate.config import Settings

from .sourcedata import (
    BUNDLED_COLLECTIONS,
    ostia_nearest,
    ostia_source,
    seaice_lonlat,
    seaice_nearest,
    seaice_source,
)

SMALL_LIMIT = 100_000


@pytest.fixture(scope="module")
def small_api(hub_home: Path) -> Iterator[TestClient]:
    """An app on the shared hub whose synchronous limit is 100 kB."""
    with TestClient(create_app(Settings(home=hub_home, max_request_bytes=SMALL_LIMIT))) as c:
        yield c


def read_text_series(path: Path, skip_until: str | None = None) -> list[list[str]]:
    """Return the rows of a whitespace- or comma-separated text series (after a header)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if skip_until is not None:
        lines = lines[[i for i, line in enumerate(lines) if line.startswith(skip_until)][0] + 1 :]
    else:
        lines = lines[1:]
    return [line.replace(",", " ").split() for line in lines if line.strip()]


# -- NetCDF -------------------------------------------------------------------------------------
def test_netcdf_download_over_a_real_server(live_hub: str, samples: Path) -> None:
    r = httpx.get(
        f"{live_hub}/download/ukmo-ostia-sst-daily",
        params={
            "bbox": "-10,40,0,45",
            "datetime": "2017-06-05/2017-06-06T23:00:00Z",
            "variables": "sst",
            "format": "netcdf",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-netcdf"
    disposition = r.headers["content-disposition"]
    assert disposition == 'attachment; filename="ukmo-ostia-sst-daily_sst_20170605-20170606.nc"'
    lat, lon360, sst = ostia_source(samples)
    # bounds are variables of their own (CF 7.1), read as coordinates with decode_coords="all"
    with xr.open_dataset(io.BytesIO(r.content), engine="h5netcdf", decode_coords="all") as ds:
        assert list(ds.data_vars) == ["sst"]
        assert dict(ds["sst"].sizes) == {"time": 2, "lat": 20, "lon": 40}
        rows = np.searchsorted(lat, ds["lat"].values)
        cols = np.array([int(np.argmin(np.abs(lon360 - v % 360))) for v in ds["lon"].values])
        expected = sst[:2][:, rows][:, :, cols]
        np.testing.assert_allclose(ds["sst"].values, expected, atol=1e-4, equal_nan=True)
        assert ds["lat_bnds"].shape == (20, 2) and ds["lat"].encoding["bounds"] == "lat_bnds"
        assert ds.attrs["Conventions"].startswith("CF-")
        assert ds.attrs["citation"].startswith("Donlon")
        assert ds.attrs["license"] and "provenance" in ds.attrs
        assert "download" in ds.attrs["history"].splitlines()[-1]


def test_netcdf_download_of_a_gridless_series(api: Any, samples: Path) -> None:
    r = api.get("/download/nasa-grace-ice-mass-greenland")
    assert r.status_code == 200, r.text
    source = read_text_series(
        samples / "ice_sheets" / "grace_greenland_mass_200204_202112.txt", "HDR Header_End"
    )
    with xr.open_dataset(io.BytesIO(r.content), engine="h5netcdf") as ds:
        mass = ds["ice_mass_change"].values
        assert mass.shape == (len(source),)
        np.testing.assert_allclose(mass, [float(row[1]) for row in source], atol=1e-3)
        sigma = ds["ice_mass_change_sigma"].values
        np.testing.assert_allclose(sigma, [float(row[2]) for row in source], atol=1e-3)
        assert ds["ice_mass_change"].attrs["units"] == "Gt"
    rutgers = api.get("/download/rutgers-snow-cover-extent", params={"format": "netcdf"})
    with xr.open_dataset(io.BytesIO(rutgers.content), engine="h5netcdf") as ds:
        assert list(ds["region"].values)[0] == "northern_hemisphere"
        assert ds.attrs["doi"] == "10.7289/V5N014G9"


# -- CSV ----------------------------------------------------------------------------------------
def test_csv_of_a_gridless_series_equals_the_source(api: Any, samples: Path) -> None:
    r = api.get("/download/csiro-gmsl-altimetry", params={"format": "CSV"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(r.text)))
    source = read_text_series(samples / "sea_level" / "gmsl_csiro_altimetry_monthly_1993-2020.csv")
    assert list(rows[0]) == ["time", "gmsl [mm]", "gmsl_smoothed [mm]"]
    assert len(rows) == len(source)
    np.testing.assert_allclose([float(r["gmsl [mm]"]) for r in rows], [float(s[1]) for s in source])
    smoothed = [float("nan") if s[2] == "#N/A" else float(s[2]) for s in source]
    served = [float(r["gmsl_smoothed [mm]"] or "nan") for r in rows]
    np.testing.assert_allclose(served, smoothed, equal_nan=True)
    assert rows[0]["time"].startswith("1993-01")


def test_csv_gives_a_row_for_every_selected_cell(api: Any, samples: Path) -> None:
    r = api.get(
        "/download/nsidc-seaice-cdr-nh-monthly", params={"bbox": "-10,70,10,75", "format": "csv"}
    )
    assert r.status_code == 200, r.text
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert list(table[0]) == ["time", "lon", "lat", "x [m]", "y [m]", "sic [1]"]
    x, y, conc = seaice_source(samples)
    lon, lat = seaice_lonlat(x, y)
    inside = (lon >= -10) & (lon <= 10) & (lat >= 70) & (lat <= 75)
    assert len(table) == int(inside.sum())
    for row in table[:: max(1, len(table) // 25)]:
        i = int(np.flatnonzero(y == float(row["y [m]"]))[0])
        j = int(np.flatnonzero(x == float(row["x [m]"]))[0])
        assert inside[i, j]
        assert float(row["lon"]) == pytest.approx(lon[i, j], abs=1e-3)
        served = float(row["sic [1]"]) if row["sic [1]"] else float("nan")
        np.testing.assert_allclose(served, conc[i, j], atol=1e-6, equal_nan=True)
    ostia = api.get(
        "/download/ukmo-ostia-sst-daily",
        params={"bbox": "-10,40,-9,41", "format": "csv", "variables": "sst_anomaly"},
    )
    rows = list(csv.DictReader(io.StringIO(ostia.text)))
    assert len(rows) == 3 * 4 * 4 and list(rows[0]) == ["time", "lon", "lat", "sst_anomaly [K]"]


# -- GeoTIFF ------------------------------------------------------------------------------------
def test_geotiff_of_a_regular_grid(api: Any, samples: Path) -> None:
    r = api.get(
        "/download/ukmo-ostia-sst-daily",
        params={"bbox": "-10,40,0,45", "datetime": "2017-06-07", "format": "geotiff"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/tiff")
    lat, lon360, sst = ostia_source(samples)
    _, _, anomaly = ostia_source(samples, "sst_anomaly")
    with rasterio.MemoryFile(r.content) as mem, mem.open() as tif:
        assert tif.crs.to_epsg() == 4326
        assert tif.count == 2 and tif.descriptions == ("sst", "sst_anomaly")
        assert tif.width == 40 and tif.height == 20
        assert tif.transform.a == pytest.approx(0.25) and tif.transform.e == pytest.approx(-0.25)
        assert (tif.transform.c, tif.transform.f) == (pytest.approx(-10.0), pytest.approx(45.0))
        assert np.isnan(tif.nodata)
        bands = tif.read()
        expected = np.full(bands.shape, np.nan)
        for row in range(tif.height):
            for col in range(tif.width):
                lon_c, lat_c = tif.xy(row, col)
                i, j = ostia_nearest(lat, lon360, lon_c, lat_c)
                assert lat[i] == pytest.approx(lat_c) and lon360[j] - 360 == pytest.approx(lon_c)
                expected[:, row, col] = sst[2, i, j], anomaly[2, i, j]
        np.testing.assert_allclose(bands, expected, atol=1e-4, equal_nan=True)
        assert 300 < np.isfinite(bands[0]).sum() < 800  # the sea, not Iberia
        assert tif.tags(1)["units"] == "K"


def test_geotiff_of_the_sea_ice_grid_is_in_its_projection(api: Any, samples: Path) -> None:
    r = api.get("/download/nsidc-seaice-cdr-nh-monthly", params={"format": "GeoTIFF"})
    assert r.status_code == 200, r.text
    x, y, conc = seaice_source(samples)
    with rasterio.MemoryFile(r.content) as mem, mem.open() as tif:
        assert tif.crs.to_epsg() == 3411
        assert (tif.width, tif.height) == (x.size, y.size)
        assert tif.transform.c == pytest.approx(-3850000.0)
        assert tif.transform.f == pytest.approx(5850000.0)
        assert tif.transform.a == pytest.approx(25000.0)
        band = tif.read(1)
    # the source's rows run north to south, as a GeoTIFF's do
    np.testing.assert_allclose(band, conc, atol=1e-6, equal_nan=True)
    i, j = seaice_nearest(x, y, -150.0, 80.0)
    assert band[i, j] == pytest.approx(0.99, abs=1e-6)


def test_geotiff_needs_a_single_time_step_and_a_grid(api: Any) -> None:
    r = api.get("/download/ukmo-ostia-sst-daily", params={"bbox": "0,0,1,1", "format": "tiff"})
    assert r.status_code == 400 and "'datetime'" in r.json()["detail"]
    gridless = api.get("/download/csiro-gmsl-altimetry", params={"format": "geotiff"})
    assert gridless.status_code == 400 and "'format'" in gridless.json()["detail"]


# -- estimates and limits -----------------------------------------------------------------------
def test_estimate_sizes_without_reading(api: Any) -> None:
    r = api.get(
        "/download/esa-cci-sm-combined/estimate",
        params={"bbox": "0,40,20,50", "variables": "sm", "format": "csv"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shape"] == {"time": 4, "lat": 40, "lon": 80}
    data = 4 * 40 * 80 * 4
    coords = (40 + 80 + 4) * 8 + (40 + 80 + 4) * 2 * 8  # centres and bounds, float64
    assert body["decoded_bytes"] == data + coords
    assert body["rows"] == 4 * 40 * 80  # a CSV row a cell and time step
    assert 20 * body["rows"] < body["estimate_bytes"] < 200 * body["rows"]
    assert body["fits"] is True and body["limit_bytes"] == 256_000_000
    assert body["variables"] == ["sm"] and body["dtypes"] == {"sm": "float32"}
    assert body["format"] == "csv" and body["time"][0].startswith("1978-11-14")


def test_over_the_limit_is_413_with_the_same_estimate(small_api: TestClient) -> None:
    query = {"bbox": "-180,-90,180,90", "variables": "sst"}
    estimate = small_api.get("/download/ukmo-ostia-sst-daily/estimate", params=query).json()
    assert estimate["fits"] is False and estimate["limit_bytes"] == SMALL_LIMIT
    assert estimate["decoded_bytes"] >= 3 * 720 * 1440 * 4  # read in memory to write NetCDF
    assert SMALL_LIMIT < estimate["estimate_bytes"] < estimate["decoded_bytes"]  # deflated
    r = small_api.get("/download/ukmo-ostia-sst-daily", params=query)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    # a NetCDF is built in memory: the limit applies to the larger of served and decoded
    assert r.json()["estimate_bytes"] == estimate["decoded_bytes"]
    ok = small_api.get("/download/ukmo-ostia-sst-daily", params={"bbox": "0,0,1,1"})
    assert ok.status_code == 200


#: Selections (small, medium, whole) downloaded in every format they allow.
SIZED = [
    ("ukmo-ostia-sst-daily", {"bbox": "-10,40,0,45", "datetime": "2017-06-05"}),
    ("ukmo-ostia-sst-daily", {"bbox": "-40,20,0,50", "datetime": "2017-06-05"}),
    ("esa-cci-sm-combined", {"bbox": "0,40,20,50", "variables": "sm"}),
    ("nsidc-seaice-cdr-nh-monthly", {"bbox": "-10,70,10,75"}),
    ("nsidc-seaice-cdr-nh-monthly", {}),
    ("noaa-ersst-v5", {"bbox": "-30,0,0,30"}),
    ("nasa-modis-snow-mod10a2", {"bbox": "-104,35,-103.5,35.5"}),
    ("csiro-gmsl-altimetry", {}),
    ("rutgers-snow-cover-extent", {}),
]


def test_estimates_match_the_bytes_served(api: Any) -> None:
    checked: dict[str, list[float]] = {"csv": [], "netcdf": [], "geotiff": []}
    for cid, query in SIZED:
        for fmt in checked:
            params = {**query, "format": fmt}
            estimate = api.get(f"/download/{cid}/estimate", params=params)
            if estimate.status_code == 400:  # GeoTIFF of a series or of several steps
                continue
            assert estimate.status_code == 200, estimate.text
            r = api.get(f"/download/{cid}", params=params)
            assert r.status_code == 200, r.text
            ratio = len(r.content) / estimate.json()["estimate_bytes"]
            assert 1 / 1.5 <= ratio <= 1.5, f"{cid} {params}: served/estimate {ratio:.2f}"
            checked[fmt].append(ratio)
    assert [len(v) for v in checked.values()] == [9, 9, 5]


def test_csv_is_refused_by_its_served_size(small_api: TestClient) -> None:
    # about 15 kB decoded but ten times that as text: over the 100 kB limit as CSV only
    query = {"bbox": "-20,40,0,50", "variables": "sst", "datetime": "2017-06-05"}
    netcdf = small_api.get("/download/ukmo-ostia-sst-daily/estimate", params=query).json()
    assert netcdf["decoded_bytes"] < SMALL_LIMIT and netcdf["fits"] is True
    csv_query = {**query, "format": "csv"}
    estimate = small_api.get("/download/ukmo-ostia-sst-daily/estimate", params=csv_query).json()
    assert estimate["decoded_bytes"] == netcdf["decoded_bytes"]
    assert estimate["estimate_bytes"] > SMALL_LIMIT and estimate["fits"] is False
    r = small_api.get("/download/ukmo-ostia-sst-daily", params=csv_query)
    assert r.status_code == 413 and len(r.content) < SMALL_LIMIT
    assert r.json()["estimate_bytes"] == estimate["estimate_bytes"]
    assert small_api.get("/download/ukmo-ostia-sst-daily", params=query).status_code == 200


def test_a_csv_stream_stops_at_the_limit(api: Any, hub_home: Path) -> None:
    from spaceclimate.api.downloads import _capped
    from spaceclimate.compute.export import iter_csv
    from spaceclimate.services.context import HubContext

    ctx = HubContext(Settings(home=hub_home))
    cube = ctx.cube("ukmo-ostia-sst-daily").isel(lat=slice(300, 420), lon=slice(0, 600))
    whole = b"".join(s.encode() for s in iter_csv(cube))
    limit = len(whole) // 3
    cut = b"".join(_capped(iter_csv(cube), limit, "this download"))
    assert len(cut) <= limit < len(whole)
    lines = cut.decode().splitlines()
    assert lines[-1].startswith("# error: this download passed the limit of")
    assert whole.startswith(cut[: -len(lines[-1]) - 1])  # whole blocks of the real text


def test_index_lists_every_collection(api: Any) -> None:
    for path in ("/download", "/download/"):
        body = api.get(path).json()
        assert len(body["collections"]) == BUNDLED_COLLECTIONS
        assert body["formats"] == ["csv", "geotiff", "netcdf"]


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        ("/download/no-such", {}, 404, "known:"),
        ("/download/no-such/estimate", {}, 404, "known:"),
        ("/download/ukmo-ostia-sst-daily", {"variables": "sst,chl"}, 404, "known: sst"),
        ("/download/ukmo-ostia-sst-daily", {"bbox": "0,0,1"}, 400, "'bbox'"),
        ("/download/ukmo-ostia-sst-daily", {"bbox": "5,0,1,1"}, 400, "'bbox'"),
        ("/download/ukmo-ostia-sst-daily", {"datetime": "2017-13-01"}, 400, "'datetime'"),
        ("/download/ukmo-ostia-sst-daily", {"datetime": "1990-01-01"}, 400, "'datetime'"),
        ("/download/ukmo-ostia-sst-daily", {"format": "zip"}, 400, "'format'"),
        ("/download/csiro-gmsl-altimetry", {"bbox": "0,0,1,1"}, 400, "'bbox'"),
        ("/download/esa-olci-c2rcc-north-sea", {"bbox": "20,10,30,20"}, 400, "'bbox'"),
    ],
)
def test_bad_downloads_are_problems(
    api: Any, path: str, params: dict[str, str], status: int, needle: str
) -> None:
    r = api.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert needle in r.json()["detail"]
