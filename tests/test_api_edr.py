"""OGC API EDR at /edr: documents, position/area/cube queries and their formats, on real data.

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
import xarray as xr
from fastapi.testclient import TestClient
from matplotlib.path import Path as MplPath

from spaceclimate.api import create_app
from spaceclimate.api.edr.params import output_format, parse_z
from spaceclimate.ecv import get_variable
from spaceclimate.errors import InputError

from .profile import hub_settings
from .sourcedata import (
    BUNDLED_COLLECTIONS,
    ersst_source,
    ostia_nearest,
    ostia_source,
    seaice_lonlat,
    seaice_nearest,
    seaice_source,
)

OSTIA = "/edr/collections/ukmo-ostia-sst-daily"
SEAICE = "/edr/collections/nsidc-seaice-cdr-nh-monthly"
ERSST = "/edr/collections/noaa-ersst-v5"
GRIDLESS = {
    "csiro-gmsl-altimetry",
    "nsidc-sea-ice-index-north",
    "nsidc-sea-ice-index-south",
    "nasa-grace-ice-mass-antarctica",
    "nasa-grace-ice-mass-greenland",
    "rutgers-snow-cover-extent",
    "scripps-noaa-mlo-co2",
    "noaa-gml-ch4-global",
    "epa-sea-level-csiro",
    "epa-sea-level-noaa",
    "nasa-ozonewatch-sh-hole-area",
    "nasa-ozonewatch-sh-min-ozone",
}
SMALL_LIMIT = 100_000


def values(coverage: dict[str, Any], name: str) -> np.ndarray:
    """Return a CoverageJSON range as a float array shaped by its ``shape`` (null -> NaN)."""
    rng = coverage["ranges"][name]
    flat = np.array([np.nan if v is None else v for v in rng["values"]], dtype="float64")
    return flat.reshape(rng["shape"])


@pytest.fixture(scope="module")
def small_api(hub_home: Path) -> Iterator[TestClient]:
    """An app on the shared hub whose synchronous limit is 100 kB."""
    settings = hub_settings(hub_home, max_request_bytes=SMALL_LIMIT)
    with TestClient(create_app(settings)) as client:
        yield client


# -- the headline: a real server answers the source's values --------------------------------------
def test_position_on_ostia_equals_the_source_files(live_hub: str, samples: Path) -> None:
    r = httpx.get(f"{live_hub}{OSTIA}/position", params={"coords": "POINT(-30.1 40.3)"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/prs.coverage+json")
    cov = r.json()
    domain = cov["domain"]
    assert cov["type"] == "Coverage" and domain["domainType"] == "PointSeries"
    lat, lon360, sst = ostia_source(samples)
    _, _, anomaly = ostia_source(samples, "sst_anomaly")
    i, j = ostia_nearest(lat, lon360, -30.1, 40.3)
    assert domain["axes"]["x"]["values"] == [pytest.approx(lon360[j] - 360)]
    assert domain["axes"]["y"]["values"] == [pytest.approx(lat[i])]
    assert domain["axes"]["t"]["values"] == [
        "2017-06-05T12:00:00Z",
        "2017-06-06T12:00:00Z",
        "2017-06-07T12:00:00Z",
    ]
    assert cov["ranges"]["sst"]["axisNames"] == ["t"]
    np.testing.assert_allclose(values(cov, "sst"), sst[:, i, j], atol=1e-4)
    np.testing.assert_allclose(values(cov, "sst_anomaly"), anomaly[:, i, j], atol=1e-4)
    sst_param = cov["parameters"]["sst"]
    assert sst_param["unit"]["symbol"] == "K"
    # the source's own, more precise standard name (analysed_sst's in the OSTIA files)
    assert sst_param["observedProperty"]["id"].endswith(
        "/standard_name/sea_surface_foundation_temperature/"
    )
    assert sst_param["observedProperty"]["label"]["en"] == get_variable("sst").long_name


def test_position_on_the_polar_stereographic_grid(live_hub: str, samples: Path) -> None:
    x, y, conc = seaice_source(samples)
    lon_src, lat_src = seaice_lonlat(x, y)
    for lon, lat in [(-150.0, 80.0), (100.0, 78.0)]:
        r = httpx.get(f"{live_hub}{SEAICE}/position", params={"coords": f"POINT({lon} {lat})"})
        assert r.status_code == 200, r.text
        cov = r.json()
        i, j = seaice_nearest(x, y, lon, lat)
        np.testing.assert_allclose(values(cov, "sic"), [conc[i, j]], atol=1e-6)
        axes = cov["domain"]["axes"]
        assert axes["x"]["values"][0] == pytest.approx(lon_src[i, j], abs=1e-3)
        assert axes["y"]["values"][0] == pytest.approx(lat_src[i, j], abs=1e-3)
        assert axes["t"]["values"] == ["2021-12-16T12:00:00Z"]  # the middle of December
    assert values(cov, "sic").size == 1


# -- documents ------------------------------------------------------------------------------------
def test_landing_and_conformance(api: Any) -> None:
    landing = api.get("/edr").json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["data"].endswith("/edr/collections")
    assert rels["conformance"].endswith("/edr/conformance")
    assert api.get("/edr/").status_code == 200
    classes = api.get("/edr/conformance").json()["conformsTo"]
    for name in ("core", "collections", "json", "covjson"):
        assert f"http://www.opengis.net/spec/ogcapi-edr-1/1.1/conf/{name}" in classes
    hub_classes = api.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-edr-1/1.1/conf/core" in hub_classes


def test_collections_are_the_gridded_ones_with_their_queries(api: Any) -> None:
    body = api.get("/edr/collections").json()
    ids = {c["id"] for c in body["collections"]}
    all_ids = {c["id"] for c in api.app.state.ctx.catalog.list_collections()}
    assert ids == all_ids - GRIDLESS and len(ids) == BUNDLED_COLLECTIONS - len(GRIDLESS)
    for coll in body["collections"]:
        queries = coll["data_queries"]
        assert set(queries) == {"position", "area", "cube"}
        for kind, param in (("position", "coords"), ("area", "coords"), ("cube", "bbox")):
            link = queries[kind]["link"]
            assert link["templated"] is True
            assert link["href"].endswith(
                f"/edr/collections/{coll['id']}/{kind}?{param}={{{param}}}"
            )
            assert link["variables"]["query_type"] == kind
        assert coll["output_formats"] == ["CoverageJSON", "CSV", "NetCDF"]
        assert coll["crs"] == ["CRS84"]
        assert len(coll["extent"]["spatial"]["bbox"][0]) == 4
        assert coll["parameter_names"], coll["id"]
        for param in coll["parameter_names"].values():
            assert param["type"] == "Parameter" and "label" in param["observedProperty"]
            assert "symbol" in param["unit"]
    ostia = next(c for c in body["collections"] if c["id"] == "ukmo-ostia-sst-daily")
    assert ostia["extent"]["temporal"]["interval"] == [
        ["2017-06-05T00:00:00Z", "2017-06-07T23:59:59Z"]
    ]
    sst = ostia["parameter_names"]["sst"]
    assert sst["unit"]["label"] == "K"
    assert sst["observedProperty"]["id"].endswith("/sea_surface_foundation_temperature/")
    sic = api.get(SEAICE).json()["parameter_names"]["sic"]
    assert sic["observedProperty"]["id"].endswith("/sea_ice_area_fraction/")
    assert sic["unit"]["symbol"] == "1"
    static = api.get("/edr/collections/cnes-cls-mss").json()
    assert "temporal" not in static["extent"]


# -- area and cube --------------------------------------------------------------------------------
def test_area_polygon_answers_the_cells_inside(api: Any, samples: Path) -> None:
    ring = [(-40.05, 30.02), (-30.03, 31.07), (-35.01, 37.04), (-40.05, 30.02)]
    wkt = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    r = api.get(f"{OSTIA}/area", params={"coords": wkt, "parameter-name": "sst"})
    assert r.status_code == 200, r.text
    cov = r.json()
    assert cov["domain"]["domainType"] == "Grid" and list(cov["ranges"]) == ["sst"]
    xs = np.array(cov["domain"]["axes"]["x"]["values"])
    ys = np.array(cov["domain"]["axes"]["y"]["values"])
    got = values(cov, "sst")
    assert cov["ranges"]["sst"]["axisNames"] == ["t", "y", "x"]
    assert got.shape == (3, ys.size, xs.size)
    lat, lon360, sst = ostia_source(samples)
    lon_grid, lat_grid = np.meshgrid(xs, ys)
    inside = MplPath(ring).contains_points(np.column_stack([lon_grid.ravel(), lat_grid.ravel()]))
    inside = inside.reshape(lon_grid.shape)
    rows = np.searchsorted(lat, ys)
    cols = np.array([int(np.argmin(np.abs(lon360 - (v % 360)))) for v in xs])
    expected = sst[:, rows][:, :, cols]
    np.testing.assert_allclose(got[:, inside], expected[:, inside], atol=1e-4)
    assert np.all(np.isnan(got[:, ~inside]))
    assert int(inside.sum()) > 300  # cells, not a mean
    table = api.get(f"{OSTIA}/area", params={"coords": wkt, "parameter-name": "sst", "f": "csv"})
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert len(rows) == 3 * int(inside.sum())  # a row for each cell inside, each day
    served = np.array([float(row["sst [K]"] or "nan") for row in rows])
    np.testing.assert_allclose(np.sort(served), np.sort(expected[:, inside].ravel()), atol=1e-4)


def test_area_bbox_on_the_sea_ice_grid(api: Any, samples: Path) -> None:
    r = api.get(f"{SEAICE}/area", params={"bbox": "-10,70,10,75"})
    assert r.status_code == 200, r.text
    cov = r.json()
    ref = cov["domain"]["referencing"][0]["system"]
    assert ref["type"] == "ProjectedCRS" and ref["id"].endswith("/EPSG/0/3411")
    x, y, conc = seaice_source(samples)
    lon, lat = seaice_lonlat(x, y)
    inside = (lon >= -10) & (lon <= 10) & (lat >= 70) & (lat <= 75)
    got = values(cov, "sic")[0]
    xs = np.array(cov["domain"]["axes"]["x"]["values"])
    ys = np.array(cov["domain"]["axes"]["y"]["values"])
    rows = [int(np.flatnonzero(y == v)[0]) for v in ys]
    cols = [int(np.flatnonzero(x == v)[0]) for v in xs]
    expected = np.where(inside, conc, np.nan)[np.ix_(rows, cols)]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert int(np.isfinite(got).sum()) == int((inside & np.isfinite(conc)).sum()) > 100


def test_cube_on_ersst_equals_the_source(api: Any, samples: Path) -> None:
    r = api.get(
        f"{ERSST}/cube",
        params={"bbox": "-30,-10,10,10", "datetime": "2015-01-01/2015-03-31T23:59:59Z"},
    )
    assert r.status_code == 200, r.text
    cov = r.json()
    axes = cov["domain"]["axes"]
    assert axes["x"]["values"] == list(np.arange(-30.0, 12.0, 2.0))
    assert axes["y"]["values"] == list(np.arange(-10.0, 12.0, 2.0))
    # each month stamped at its middle (the source stamps the 1st)
    assert axes["t"]["values"] == [
        "2015-01-16T12:00:00Z",
        "2015-02-15T00:00:00Z",
        "2015-03-16T12:00:00Z",
    ]
    times, lat, lon, sst = ersst_source(samples)
    t0 = int(np.flatnonzero(times == np.datetime64("2015-01-01T00:00:00"))[0])
    rows = [int(np.flatnonzero(lat == v)[0]) for v in axes["y"]["values"]]
    cols = [int(np.flatnonzero(lon == v % 360)[0]) for v in axes["x"]["values"]]
    expected = sst[t0 : t0 + 3][:, rows][:, :, cols]
    np.testing.assert_allclose(values(cov, "sst"), expected, atol=1e-3, equal_nan=True)
    assert np.isfinite(expected).sum() > 500


# -- formats --------------------------------------------------------------------------------------
def test_csv_answers_tidy_rows_with_units(api: Any, samples: Path) -> None:
    r = api.get(f"{OSTIA}/position", params={"coords": "POINT(-30.1 40.3)", "f": "CSV"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["time", "lon", "lat", "sst [K]", "sst_anomaly [K]"]
    lat, lon360, sst = ostia_source(samples)
    i, j = ostia_nearest(lat, lon360, -30.1, 40.3)
    assert [row[0] for row in rows[1:]] == [
        "2017-06-05T12:00:00Z",
        "2017-06-06T12:00:00Z",
        "2017-06-07T12:00:00Z",
    ]
    np.testing.assert_allclose([float(row[3]) for row in rows[1:]], sst[:, i, j], atol=1e-4)
    assert {float(row[1]) for row in rows[1:]} == {lon360[j] - 360}

    area = api.get(f"{OSTIA}/cube", params={"bbox": "-10,40,-9,41", "f": "csv"})
    table = list(csv.DictReader(io.StringIO(area.text)))
    assert len(table) == 3 * 4 * 4  # three days of 4 x 4 cells
    first = table[0]
    a, b = ostia_nearest(lat, lon360, float(first["lon"]), float(first["lat"]))
    assert float(first["sst [K]"]) == pytest.approx(sst[0, a, b], abs=1e-4)


def test_netcdf_round_trip_carries_values_and_citation(api: Any, samples: Path) -> None:
    r = api.get(
        f"{OSTIA}/cube",
        params={"bbox": "-10,40,0,45", "datetime": "2017-06-06", "f": "netcdf"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-netcdf"
    assert (
        'filename="ukmo-ostia-sst-daily_sst-sst_anomaly_20170606.nc"'
        in (r.headers["content-disposition"])
    )
    collection = api.get("/edr/collections/ukmo-ostia-sst-daily").json()
    lat, lon360, sst = ostia_source(samples)
    with xr.open_dataset(io.BytesIO(r.content), engine="h5netcdf") as ds:
        assert ds.sizes["time"] == 1 and ds.sizes["lat"] == 20 and ds.sizes["lon"] == 40
        rows = np.searchsorted(lat, ds["lat"].values)
        cols = np.array([int(np.argmin(np.abs(lon360 - v % 360))) for v in ds["lon"].values])
        np.testing.assert_allclose(
            ds["sst"].values[0], sst[1][np.ix_(rows, cols)], atol=1e-4, equal_nan=True
        )
        assert ds["sst"].attrs["units"] == "K"
        assert ds["sst"].attrs["standard_name"] == "sea_surface_foundation_temperature"
        assert ds.attrs["citation"].startswith("Donlon, C. J.")
        assert "EDR cube query" in ds.attrs["history"]
        assert ds.attrs["source_collection"] == "ukmo-ostia-sst-daily"
        assert "provenance" in ds.attrs and ds.attrs["license"]
        assert str(ds["time"].values[0])[:10] == "2017-06-06"
    assert collection["id"] == "ukmo-ostia-sst-daily"
    sea = api.get(f"{SEAICE}/area", params={"bbox": "-10,70,10,75", "f": "NetCDF"})
    with xr.open_dataset(io.BytesIO(sea.content), engine="h5netcdf") as ds:
        assert ds.attrs["doi"] == "10.7265/efmz-2t65"
        assert ds["crs"].attrs["crs_wkt"].startswith("PROJCRS")


def test_format_by_accept_header(api: Any) -> None:
    url = f"{OSTIA}/position"
    point = {"coords": "POINT(-30.1 40.3)"}
    assert api.get(url, params=point, headers={"Accept": "text/csv"}).text.startswith("time,")
    nc = api.get(url, params=point, headers={"Accept": "application/x-netcdf"})
    assert nc.headers["content-type"] == "application/x-netcdf" and nc.content[:4] == b"\x89HDF"
    cov = api.get(url, params=point, headers={"Accept": "text/html, */*"})
    assert cov.json()["type"] == "Coverage"
    forced = api.get(url, params={**point, "f": "coveragejson"}, headers={"Accept": "text/csv"})
    assert forced.json()["domain"]["domainType"] == "PointSeries"


def test_static_collection_answers_a_point(api: Any, samples: Path) -> None:
    import netCDF4

    r = api.get("/edr/collections/cnes-cls-mss/position", params={"coords": "POINT(10.3 43.1)"})
    assert r.status_code == 200, r.text
    cov = r.json()
    assert cov["domain"]["domainType"] == "Point" and "t" not in cov["domain"]["axes"]
    with netCDF4.Dataset(samples / "sea_level" / "mss_cnes_cls_v2_quarterdeg.nc") as nc:
        nc.set_auto_maskandscale(False)
        lat, lon = nc["lat"][:], nc["lon"][:]
        i, j = int(np.argmin(np.abs(lat - 43.1))), int(np.argmin(np.abs(lon - 10.3)))
        expected = float(nc["mss"][i, j])  # whole metres (the recipe ignores the scale factor)
    assert cov["ranges"]["mss"]["values"] == [pytest.approx(expected)]
    table = api.get(
        "/edr/collections/cnes-cls-mss/position", params={"coords": "POINT(10.3 43.1)", "f": "csv"}
    )
    assert table.status_code == 200
    header, row = table.text.splitlines()
    assert header == "lon,lat,mss [m]" and float(row.split(",")[2]) == pytest.approx(expected)


def test_parameter_parsing() -> None:
    assert parse_z("10") == ([10.0], None)
    assert parse_z("10,20") == ([10.0, 20.0], None)
    assert parse_z("5/60") == (None, (5.0, 60.0))
    assert parse_z("R3/0/5") == ([0.0, 5.0, 10.0], None)
    for bad in ("R0/1/1", "1e400", "a/b", "R2/1"):
        with pytest.raises(InputError, match="'z'"):
            parse_z(bad)
    assert output_format("NetCDF", None) == "netcdf"
    assert output_format(None, "text/csv;q=0.5, application/x-netcdf;q=0.9") == "netcdf"
    assert output_format(None, None) == "coveragejson"


# -- limits and errors ----------------------------------------------------------------------------
def test_large_queries_get_413_with_the_estimate(small_api: TestClient) -> None:
    r = small_api.get(f"{OSTIA}/cube", params={"bbox": "-180,-90,180,90"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    data_bytes = 2 * 3 * 720 * 1440 * 4
    assert data_bytes <= problem["estimate_bytes"] < data_bytes * 1.01
    assert problem["limit_bytes"] == SMALL_LIMIT
    area = small_api.get(f"{OSTIA}/area", params={"coords": "POLYGON((0 0, 40 0, 40 40, 0 0))"})
    assert area.status_code == 413
    small = small_api.get(f"{OSTIA}/position", params={"coords": "POINT(-30.1 40.3)"})
    assert small.status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        (f"{OSTIA}/position", {"coords": "POINT(-30.1"}, 400, "'coords'"),
        (f"{OSTIA}/position", {"coords": "POLYGON((0 0, 1 0, 1 1, 0 0))"}, 400, "'coords'"),
        (f"{OSTIA}/position", {}, 400, "'coords'"),
        (f"{OSTIA}/position", {"coords": "POINT(200 40)"}, 400, "'coords'"),
        (f"{SEAICE}/position", {"coords": "POINT(20 10)"}, 400, "outside the grid"),
        (f"{OSTIA}/area", {"coords": "POINT(1 2)"}, 400, "'coords'"),
        (f"{OSTIA}/area", {"coords": "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"}, 400, "invalid"),
        (f"{OSTIA}/area", {}, 400, "'coords'"),
        (f"{OSTIA}/cube", {}, 400, "'bbox'"),
        (f"{OSTIA}/cube", {"bbox": "1,2,3"}, 400, "'bbox'"),
        (f"{OSTIA}/cube", {"bbox": "0,100,1,101"}, 400, "'bbox'"),
        (f"{OSTIA}/cube", {"bbox": "0,0,1,1", "datetime": "yesterday"}, 400, "'datetime'"),
        (f"{OSTIA}/cube", {"bbox": "0,0,1,1", "datetime": "2020-01-01"}, 400, "'datetime'"),
        (f"{OSTIA}/cube", {"bbox": "0,0,1,1", "datetime": "9999-01-01/.."}, 400, "'datetime'"),
        (
            f"{OSTIA}/cube",
            {"bbox": "0,0,1,1", "datetime": "0001-01-01T00:00+14:00"},
            400,
            "'datetime'",
        ),
        (f"{OSTIA}/cube", {"bbox": "0,0,1,1", "z": "10"}, 400, "'z'"),
        (f"{OSTIA}/cube", {"bbox": "0,0,1,1", "f": "xml"}, 400, "'f'"),
        (f"{OSTIA}/cube", {"bbox": "0,0,1,1", "crs": "EPSG:3857"}, 400, "'crs'"),
        (f"{OSTIA}/cube", {"bbox": "0,0,1,1", "parameter-name": "chl"}, 404, "known: sst"),
        ("/edr/collections/no-such/cube", {"bbox": "0,0,1,1"}, 404, "known:"),
        ("/edr/collections/no-such", {}, 404, "known:"),
        ("/edr/collections/csiro-gmsl-altimetry", {}, 400, "gridded"),
        (
            "/edr/collections/rutgers-snow-cover-extent/position",
            {"coords": "POINT(0 50)"},
            400,
            "gridded",
        ),
    ],
)
def test_bad_queries_are_problems(
    api: Any, path: str, params: dict[str, str], status: int, needle: str
) -> None:
    r = api.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert needle in r.json()["detail"]
