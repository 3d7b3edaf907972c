"""Territories: places, station uploads (checked line by line) and match-ups with pooled records.

The match-ups are checked against independent calculations: the cube read with xarray (the
nearest cell with ``sel``, area means with spherical cell areas ``sin(lat_n) - sin(lat_s)``),
the station series grouped by month with pandas, and the statistics with numpy.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely.geometry import shape

from spaceclimate.errors import InputError
from spaceclimate.territories.localdata import parse_csv
from spaceclimate.territories.places import parse_place

from .hubutil import key_headers, run_sco
from .profile import copy_hub, cube_location, hub_settings

MLO = "counterparts/co2_noaa_mlo_monthly_insitu.csv"
OCO2 = "nasa-oco2-xco2-california"
CALIFORNIA = {
    "type": "Polygon",
    "coordinates": [[[-126, 31], [-113, 31], [-113, 43], [-126, 43], [-126, 31]]],
}
NINO34 = {
    "type": "Polygon",
    "coordinates": [[[-170, -5], [-120, -5], [-120, 5], [-170, 5], [-170, -5]]],
}


@pytest.fixture(scope="module")
def own_hub(tmp_path_factory: pytest.TempPathFactory, hub_home: Path) -> Path:
    """A private copy of the shared hub (these tests add territories and uploads)."""
    home = tmp_path_factory.mktemp("territories") / "hub"
    copy_hub(hub_home, home)
    return home


@pytest.fixture(scope="module")
def client(own_hub: Path) -> Iterator[TestClient]:
    from spaceclimate.api.app import create_app

    with TestClient(create_app(hub_settings(own_hub))) as c:
        yield c


@pytest.fixture(scope="module")
def keys(own_hub: Path) -> dict[str, dict[str, str]]:
    """Two ordinary keys and an admin key, as Authorization headers."""
    return key_headers(
        own_hub, {"a": ["provider:Alice Lab"], "b": ["provider:Bob Lab"], "admin": ["admin"]}
    )


def _feature(name: str, geometry: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"name": name, **props}}


def mlo_monthly(samples: Path) -> pd.DataFrame:
    """The bundled Mauna Loa monthly record (time, ppm), read here with pandas."""
    lines = [x for x in (samples / MLO).read_text().splitlines() if not x.startswith('"')]
    table = pd.read_csv(io.StringIO("\n".join(lines[3:])), header=None, skipinitialspace=True)
    table = table.iloc[:, [0, 1, 4]].set_axis(["year", "month", "co2"], axis=1)
    table = table[table["co2"] > 0]
    table["time"] = pd.to_datetime({"year": table.year, "month": table.month, "day": 1})
    return table[["time", "co2"]].reset_index(drop=True)


def mlo_csv(samples: Path) -> bytes:
    """The Mauna Loa record as a station upload (monthly values, ppm)."""
    table = mlo_monthly(samples)
    lines = ["station,lon,lat,time,value,units,variable"]
    lines += [
        f"MLO,-155.576,19.536,{t:%Y-%m},{v:.2f},ppm,co2"
        for t, v in zip(table.time, table.co2, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def _create(client: TestClient, headers: dict[str, str], feature: dict[str, Any]) -> str:
    made = client.post("/territories", json=feature, headers=headers)
    assert made.status_code == 201, made.text
    assert made.headers["location"].endswith(f"/territories/{made.json()['id']}")
    return str(made.json()["id"])


# -- places -------------------------------------------------------------------------------------
def test_a_circle_territory_has_the_geodesic_area_of_its_radius() -> None:
    place = parse_place(
        _feature("Brest", {"type": "Point", "coordinates": [-4.49, 48.39]}, radius_km=30)
    )
    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(place.geometry)
    assert place.kind == "circle"
    assert abs(area) == pytest.approx(math.pi * 30_000.0**2, rel=0.005)
    region = parse_place(_feature("France", None, region="country:FRA"))
    assert region.kind == "region" and region.extra["region"].startswith("country:FRA")
    assert region.geometry.contains(shape({"type": "Point", "coordinates": [2.35, 48.86]}))


@pytest.mark.parametrize(
    ("feature", "words"),
    [
        ({"type": "Feature", "geometry": CALIFORNIA, "properties": {}}, "name"),
        (_feature("P", {"type": "Point", "coordinates": [0, 0]}), "radius_km"),
        (_feature("P", {"type": "Point", "coordinates": [0, 0]}, radius_km=5000), "radius_km"),
        (_feature("L", {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}), "Polygon"),
        (_feature("R", None, region="Atlantis"), "Atlantis"),
        ({"type": "FeatureCollection", "features": []}, "Feature"),
    ],
)
def test_a_bad_territory_is_refused_with_its_reason(feature: dict[str, Any], words: str) -> None:
    with pytest.raises(InputError, match=words):
        parse_place(feature)


# -- the API: ownership -------------------------------------------------------------------------
def test_a_territory_belongs_to_its_key_until_published(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    feature = _feature(
        "Brest roadstead", {"type": "Point", "coordinates": [-4.49, 48.39]}, radius_km=30
    )
    assert client.post("/territories", json=feature).status_code == 401
    tid = _create(client, keys["a"], feature)
    assert client.get(f"/territories/{tid}", headers=keys["a"]).json()["properties"]["kind"] == (
        "circle"
    )
    assert client.get(f"/territories/{tid}").status_code == 404
    assert client.get(f"/territories/{tid}", headers=keys["b"]).status_code == 404
    assert client.get(f"/territories/{tid}", headers=keys["admin"]).status_code == 200
    listed = {f["id"] for f in client.get("/territories", headers=keys["a"]).json()["features"]}
    assert tid in listed
    assert tid not in {f["id"] for f in client.get("/territories").json()["features"]}
    assert client.delete(f"/territories/{tid}", headers=keys["b"]).status_code == 404
    published = _create(
        client, keys["a"], {**feature, "properties": {**feature["properties"], "published": True}}
    )
    assert published in {f["id"] for f in client.get("/territories").json()["features"]}
    assert client.delete(f"/territories/{tid}", headers=keys["a"]).status_code == 204
    assert client.get(f"/territories/{tid}", headers=keys["a"]).status_code == 404


# -- uploads ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        (
            [
                "MLO,-155.576,19.536,2015-01,399.9,ppm,co2",
                "MLO,-155.576,19.536,2015-13,400,ppm,co2",
            ],
            3,
            "time",
        ),
        (["MLO,-155.576,19.536,2015-01,399.9,parts per zillion,co2"], 2, "units"),
        (
            ["MLO,-155.576,19.536,2015-01,399.9,ppm,co2", "MLO,-155.0,19.536,2015-02,400,ppm,co2"],
            3,
            "station 'MLO'",
        ),
        (
            [
                "MLO,-155.576,19.536,2015-01,399.9,ppm,co2",
                "MLO,-155.576,19.536,2015-01,401,ppm,co2",
            ],
            3,
            "already has",
        ),
        (
            [
                "MLO,-155.576,19.536,2015-01,399.9,ppm,co2",
                "MLO,-155.576,19.536,2015-02,4x0,ppm,co2",
            ],
            3,
            "not a number",
        ),
        (
            ["MLO,-155.576,19.536,2015-01,399.9,ppm,co2", "MLO,-155.576,19.536,2015-02,400,K,co2"],
            3,
            "differ",
        ),
        (["MLO,-155.576,99,2015-01,399.9,ppm,co2"], 2, "latitude"),
        (["MLO,-155.576,19.536,2015-01,399.9,ppm"], 2, "fields"),
    ],
)
def test_a_bad_line_is_refused_naming_it(lines: list[str], line: int, words: str) -> None:
    text = "\n".join(["station,lon,lat,time,value,units,variable", *lines]) + "\n"
    with pytest.raises(InputError, match=rf"^line {line}: .*{words}"):
        parse_csv(text.encode())


def test_a_bad_upload_stores_nothing_and_a_good_one_stores_every_value(
    client: TestClient, keys: dict[str, dict[str, str]], samples: Path
) -> None:
    tid = _create(client, keys["a"], _feature("California", CALIFORNIA))
    good = mlo_csv(samples)
    bad = good.replace(b"MLO,-155.576,19.536,2015-06,", b"MLO,-155.576,19.536,2015-06-31,")
    bad_line = 1 + good.decode().splitlines().index(
        next(x for x in good.decode().splitlines() if ",2015-06," in x)
    )
    refused = client.post(
        f"/territories/{tid}/data", content=bad, headers={**keys["a"], "Content-Type": "text/csv"}
    )
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith(f"line {bad_line}: time '2015-06-31'")
    assert client.get(f"/territories/{tid}/data", headers=keys["a"]).json()["datasets"] == []
    assert (
        client.post(
            f"/territories/{tid}/data",
            content=good,
            headers={**keys["b"], "Content-Type": "text/csv"},
        ).status_code
        == 404
    )
    stored = client.post(
        f"/territories/{tid}/data?name=Mauna%20Loa",
        content=good,
        headers={**keys["a"], "Content-Type": "text/csv"},
    )
    assert stored.status_code == 201, stored.text
    (doc,) = stored.json()["datasets"]
    expected = mlo_monthly(samples)
    assert doc["rows"] == len(expected) and doc["units"] == "ppm" and doc["variable"] == "co2"
    assert doc["stations"][0]["inside"] is False  # Hawaii is not in California
    values = pd.read_csv(
        io.StringIO(
            client.get(f"/territories/{tid}/data/{doc['id']}?f=csv", headers=keys["a"]).text
        )
    )
    np.testing.assert_allclose(values["value"], expected["co2"].round(2), atol=1e-9)


def test_a_cf_netcdf_time_series_upload(
    client: TestClient, keys: dict[str, dict[str, str]], samples: Path, tmp_path: Path
) -> None:
    tid = _create(client, keys["a"], _feature("California NC", CALIFORNIA))
    table = mlo_monthly(samples)
    values = table["co2"].to_numpy()[np.newaxis, :].copy()
    values[0, 5] = np.nan  # a fill
    ds = xr.Dataset(
        {
            "co2": (
                ("station", "time"),
                values,
                {"units": "1e-6", "standard_name": "mole_fraction_of_carbon_dioxide_in_air"},
            ),
            "station_name": (("station",), np.array(["MLO"]), {"cf_role": "timeseries_id"}),
            "lat": (
                ("station",),
                [19.536],
                {"standard_name": "latitude", "units": "degrees_north"},
            ),
            "lon": (
                ("station",),
                [-155.576],
                {"standard_name": "longitude", "units": "degrees_east"},
            ),
        },
        coords={"time": table["time"].to_numpy()},
        attrs={"featureType": "timeSeries", "Conventions": "CF-1.8"},
    )
    path = tmp_path / "mlo.nc"
    ds.to_netcdf(path)
    stored = client.post(
        f"/territories/{tid}/data?filename=mlo.nc",
        content=path.read_bytes(),
        headers={**keys["a"], "Content-Type": "application/x-netcdf"},
    )
    assert stored.status_code == 201, stored.text
    (doc,) = stored.json()["datasets"]
    assert doc["rows"] == len(table) - 1 and doc["missing"] == 1
    assert doc["stations"][0]["id"] == "MLO"
    corrupt = client.post(
        f"/territories/{tid}/data?filename=x.nc",
        content=b"CDF\x01broken",
        headers={**keys["a"], "Content-Type": "application/x-netcdf"},
    )
    assert corrupt.status_code == 400 and "NetCDF" in corrupt.json()["detail"]


# -- match-ups ----------------------------------------------------------------------------------
def _stats(local: np.ndarray, product: np.ndarray) -> dict[str, float]:
    diff = product - local
    slope, intercept = np.polyfit(local, product, 1)
    return {
        "n": local.size,
        "bias": diff.mean(),
        "rmsd": np.sqrt((diff**2).mean()),
        "correlation": np.corrcoef(local, product)[0, 1],
        "slope": slope,
        "intercept": intercept,
    }


def _check(stats: dict[str, Any], expected: dict[str, float]) -> None:
    assert stats["n"] == expected["n"]
    for key in ("bias", "rmsd", "correlation", "slope", "intercept"):
        assert stats[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-9), key


def test_station_upload_against_oco2_over_california_equals_independent_calculation(
    client: TestClient, keys: dict[str, dict[str, str]], samples: Path, own_hub: Path
) -> None:
    tid = _create(client, keys["a"], _feature("California match", CALIFORNIA))
    stored = client.post(
        f"/territories/{tid}/data",
        content=mlo_csv(samples),
        headers={**keys["a"], "Content-Type": "text/csv"},
    )
    dataset = stored.json()["datasets"][0]["id"]
    answer = client.get(
        f"/territories/{tid}/matchups",
        headers=keys["a"],
        params={"local": dataset, "collection": OCO2, "method": "area"},
    )
    assert answer.status_code == 200, answer.text
    (m,) = answer.json()["matchups"]
    # independent: the served cube's monthly cells, weighted by spherical cell area
    cube = xr.open_zarr(cube_location(hub_settings(own_hub), OCO2))
    xco2 = cube["xco2"].load()
    weights = np.sin(np.deg2rad(cube["lat"] + 0.125)) - np.sin(np.deg2rad(cube["lat"] - 0.125))
    w = (weights * xr.ones_like(cube["lon"])).where(xco2.notnull())
    product = (xco2 * w).sum(("lat", "lon")) / w.sum(("lat", "lon"))
    months = pd.DatetimeIndex(cube["time"].values).to_period("M")
    station = mlo_monthly(samples)
    by_month = station.assign(month=station.time.dt.to_period("M")).set_index("month")["co2"]
    local = by_month.reindex(months).to_numpy()
    ok = np.isfinite(local) & np.isfinite(product.values)
    expected = _stats(local[ok], product.values[ok])
    _check(m["statistics"], expected)
    assert expected["n"] >= 15
    assert [p["time_start"][:7] for p in m["pairs"]] == [str(x) for x in months[ok]]
    # the growth rate of both (ppm per year) and the offset are there to read
    assert 1.5 < m["statistics"]["trend_local_per_year"] < 3.5
    assert m["local"]["units"] == "ppm" and m["product"]["units"] == "1e-6"
    png = client.get(
        f"/territories/{tid}/matchups",
        headers=keys["a"],
        params={
            "local": dataset,
            "collection": OCO2,
            "method": "area",
            "f": "png",
            "plot": "series",
        },
    )
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    table = pd.read_csv(
        io.StringIO(
            client.get(
                f"/territories/{tid}/matchups",
                headers=keys["a"],
                params={"local": dataset, "collection": OCO2, "method": "area", "f": "csv"},
            ).text
        )
    )
    np.testing.assert_allclose(table["product"], product.values[ok], rtol=1e-7)


def test_ersst_against_ostia_at_a_point_equals_independent_calculation(
    client: TestClient, keys: dict[str, dict[str, str]], own_hub: Path
) -> None:
    tid = _create(client, keys["a"], _feature("Nino 3.4", NINO34))
    answer = client.get(
        f"/territories/{tid}/matchups",
        headers=keys["a"],
        params={
            "local": "collection:noaa-ersst-v5",
            "collection": "ukmo-ostia-sst-monthly",
            "method": "nearest",
        },
    )
    assert answer.status_code == 200, answer.text
    (m,) = answer.json()["matchups"]
    centre = shape(NINO34).representative_point()
    settings = hub_settings(own_hub)
    series = {}
    for cid in ("noaa-ersst-v5", "ukmo-ostia-sst-monthly"):
        cube = xr.open_zarr(cube_location(settings, cid))
        at = cube["sst"].sel(lon=centre.x, lat=centre.y, method="nearest").load()
        series[cid] = pd.Series(at.values, index=pd.DatetimeIndex(at.time.values).to_period("M"))
    joined = pd.concat(series, axis=1).dropna()
    expected = _stats(
        joined["noaa-ersst-v5"].to_numpy(), joined["ukmo-ostia-sst-monthly"].to_numpy()
    )
    _check(m["statistics"], expected)
    assert m["statistics"]["units"] == "K"


def test_bad_matchup_requests_are_4xx(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    tid = _create(client, keys["a"], _feature("Nino box", NINO34))
    base = {"local": "collection:noaa-ersst-v5", "collection": "ukmo-ostia-sst-monthly"}
    for params, status in [
        ({**base, "method": "kriging"}, 400),
        ({**base, "window": "P1M"}, 400),
        ({**base, "window": "soon"}, 400),
        ({**base, "collection": "nope"}, 404),
        ({**base, "local": "no-such-dataset"}, 404),
        (
            {**base, "collection": "scripps-noaa-mlo-co2", "local": "collection:nasa-aura-mls-co"},
            400,
        ),
    ]:
        got = client.get(f"/territories/{tid}/matchups", headers=keys["a"], params=params)
        assert got.status_code == status, (params, got.text)
        assert got.json()["detail"]


def test_sco_territory_commands(own_hub: Path) -> None:
    added = run_sco(
        own_hub,
        "territory",
        "add",
        "--name",
        "Gulf of Lion",
        "--point",
        "4.0,43.0",
        "--radius-km",
        "60",
        "--publish",
    )
    assert added.returncode == 0, added.stderr
    territory_id = added.stdout.split()[2]
    listed = run_sco(own_hub, "territory", "list")
    assert territory_id in listed.stdout
    wrong = run_sco(own_hub, "territory", "add", "--name", "X", "--point", "4,43")
    assert wrong.returncode != 0 and "--radius-km" in wrong.stderr
    ran = run_sco(own_hub, "compute", "sst-annual-mean", "--territory", territory_id, "--quiet")
    assert ran.returncode == 0, ran.stderr
    series = json.loads(ran.stdout)["series"]
    assert series["provenance"]["territory"]["id"] == territory_id
    assert series["provenance"]["read"][0]["collection"] == "noaa-ersst-v5"
    exported = run_sco(own_hub, "indicator", "export", "sst-warming-trend")
    package = json.loads(exported.stdout)
    assert package["indicator"]["id"] == "sst-warming-trend"


def test_tropomi_methane_against_the_noaa_global_record_with_a_window(
    client: TestClient, keys: dict[str, dict[str, str]], own_hub: Path, samples: Path
) -> None:
    """A daily product against a monthly record: the window lets the month's middle meet it."""
    box = {"type": "Polygon", "coordinates": [[[0, 15], [30, 15], [30, 30], [0, 30], [0, 15]]]}
    tid = _create(client, keys["a"], _feature("Central Sahara", box))
    params = {
        "local": "collection:noaa-gml-ch4-global",
        "collection": "esa-s5p-tropomi-ch4",
        "method": "area",
    }
    bare = client.get(f"/territories/{tid}/matchups", headers=keys["a"], params=params)
    assert bare.json()["matchups"][0]["statistics"]["n"] == 0  # March's middle is not 19 March
    answer = client.get(
        f"/territories/{tid}/matchups", headers=keys["a"], params={**params, "window": "P16D"}
    )
    (m,) = answer.json()["matchups"]
    (pair,) = m["pairs"]
    assert pair["time_start"] == "2019-03-19T00:00:00Z"
    rows = [
        line.split()
        for line in (samples / "counterparts/ch4_noaa_gml_global_monthly_insitu.txt")
        .read_text()
        .splitlines()
        if not line.startswith("#")
    ]
    march = next(float(r[3]) for r in rows if r[0] == "2019" and r[1] == "3")
    assert pair["local"] == pytest.approx(march, abs=1e-3)
    cube = xr.open_zarr(cube_location(hub_settings(own_hub), "esa-s5p-tropomi-ch4"))
    day = cube["xch4"].sel(time="2019-03-19").squeeze().load()
    inside = day.sel(lon=slice(0, 30), lat=slice(15, 30))
    w = np.sin(np.deg2rad(inside.lat + 0.125)) - np.sin(np.deg2rad(inside.lat - 0.125))
    w2 = (w * xr.ones_like(inside.lon)).where(inside.notnull())
    expected = float((inside * w2).sum() / w2.sum())
    assert pair["product"] == pytest.approx(expected, rel=1e-6)
    assert m["statistics"]["bias"] == pytest.approx(expected - pair["local"], rel=1e-9)


# -- indicators that travel ---------------------------------------------------------------------
# boxes whose edges fall between the 2-degree grid's cell centres (no centre on an edge)
BISCAY = {
    "type": "Polygon",
    "coordinates": [[[-11, 43], [-1, 43], [-1, 49], [-11, 49], [-11, 43]]],
}
PACIFIC = {
    "type": "Polygon",
    "coordinates": [[[-171, -5], [-119, -5], [-119, 5], [-171, 5], [-171, -5]]],
}


def _ersst_box_mean(own_hub: Path, box: dict[str, Any]) -> pd.Series:
    """ERSST over a lon/lat box read with xarray: spherical cell areas, cells centred inside."""
    west, south, east, north = shape(box).bounds
    cube = xr.open_zarr(cube_location(hub_settings(own_hub), "noaa-ersst-v5"))
    sst = cube["sst"].sel(lon=slice(west, east), lat=slice(south, north)).load()
    half = 1.0  # the 2-degree grid
    w = np.sin(np.deg2rad(sst.lat + half)) - np.sin(np.deg2rad(sst.lat - half))
    w2 = (w * xr.ones_like(sst.lon)).where(sst.notnull())
    mean = (sst * w2).sum(("lat", "lon")) / w2.sum(("lat", "lon"))
    return pd.Series(mean.values, index=pd.DatetimeIndex(cube["time"].values))


def _run(client: TestClient, headers: dict[str, str], process: str, **inputs: Any) -> Any:
    got = client.post(f"/processes/{process}/execution", json={"inputs": inputs}, headers=headers)
    assert got.status_code == 200, got.text
    return got.json()


def test_an_indicator_defined_as_data_runs_on_two_territories(
    client: TestClient, keys: dict[str, dict[str, str]], own_hub: Path
) -> None:
    listed = client.get("/indicators").json()["indicators"]
    assert {
        "sst-warming-trend",
        "sst-warm-months",
        "sst-warmest-month",
        "sst-annual-mean",
        "xco2-growth-rate",
    } <= {i["id"] for i in listed}
    process = client.get("/processes/sst-warming-trend").json()
    assert process["inputs"]["territory"]["minOccurs"] == 1
    biscay = _create(client, keys["a"], _feature("Bay of Biscay", BISCAY))
    nino = _create(client, keys["a"], _feature("Equatorial Pacific", PACIFIC))
    for territory, box in ((biscay, BISCAY), (nino, PACIFIC)):
        out = _run(client, keys["a"], "sst-warming-trend", territory=territory)["summary"]
        series = _ersst_box_mean(own_hub, box)
        days = (series.index - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        years = 1970.0 + days.to_numpy() / 365.2425
        slope = np.polyfit(years, series.to_numpy(), 1)[0] * 10.0
        assert out["slope"] == pytest.approx(slope, rel=1e-6)
        assert out["n"] == len(series)
        provenance = out["provenance"]
        assert provenance["indicator"] == {
            "id": "sst-warming-trend",
            "version": "1.0.0",
            "title": provenance["indicator"]["title"],
            "citation": provenance["indicator"]["citation"],
        }
        assert provenance["territory"]["id"] == territory
        assert provenance["read"][0]["collection"] == "noaa-ersst-v5"
        assert provenance["read"][0]["version"] is not None
        assert provenance["parameters"]["method"] == "ols"
    # warm months over the equatorial Pacific box: an independent count per year above 28 degC
    outputs = _run(client, keys["a"], "sst-warm-months", territory=nino)
    warm = outputs["series"]
    # catalogued as a derived collection: labelled, with its provenance, private to key a
    derived = outputs["collection"]["collection"]
    doc = client.get(f"/stac/collections/{derived}", headers=keys["a"]).json()
    assert doc["sco:kind"] == "derived" and doc["sco:owner"].startswith("key:")
    assert doc["sco:derived_from"]["process"] == "sst-warm-months"
    assert doc["sco:derived_from"]["process_version"] == "1.0.0"
    assert doc["sco:derived_from"]["parameters"]["territory"] == nino
    assert doc["sco:derived_from"]["inputs"][0]["collection"] == "noaa-ersst-v5"
    assert client.get(f"/stac/collections/{derived}").status_code == 404
    series = _ersst_box_mean(own_hub, PACIFIC)
    counts = (series > 301.15).groupby(series.index.year).sum()
    complete = series.groupby(series.index.year).count() >= 0.8 * 12
    expected = [float(c) if ok else None for c, ok in zip(counts, complete, strict=True)]
    assert warm["values"] == expected and warm["units"] == "months per year"
    assert sum(v for v in expected if v) > 0  # the box does have warm months


def test_a_private_territory_is_not_anyone_elses_indicator_input(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    mine = _create(client, keys["a"], _feature("Private Biscay", BISCAY))
    other = client.post(
        "/processes/sst-annual-mean/execution",
        json={"inputs": {"territory": mine}},
        headers=keys["b"],
    )
    assert other.status_code == 404 and "territory" in other.json()["detail"]
    anonymous = client.post(
        "/processes/sst-annual-mean/execution", json={"inputs": {"territory": mine}}
    )
    assert anonymous.status_code == 404


def test_an_indicator_package_exports_and_imports(
    client: TestClient, keys: dict[str, dict[str, str]], own_hub: Path
) -> None:
    package = client.get("/indicators/sst-annual-mean").json()
    assert package["format"] == "spaceclimate-indicator/1"
    assert package["requires"]["operations"][0]["id"] == "resample"
    assert client.post("/indicators", json=package, headers=keys["admin"]).status_code == 400
    package["indicator"] = {
        **package["indicator"],
        "id": "sst-annual-mean-lenient",
        "version": "1.1.0",
    }
    package["indicator"]["parameters"]["min_valid_fraction"]["default"] = 0.5
    assert client.post("/indicators", json=package, headers=keys["a"]).status_code == 403
    bad = {**package, "indicator": {**package["indicator"], "operation": "kriging"}}
    refused = client.post("/indicators", json=bad, headers=keys["admin"])
    assert refused.status_code == 400 and "kriging" in refused.json()["detail"]
    made = client.post("/indicators", json=package, headers=keys["admin"])
    assert made.status_code == 201, made.text
    pacific = _create(client, keys["a"], _feature("Equatorial Pacific lenient", PACIFIC))
    lenient = _run(client, keys["a"], "sst-annual-mean-lenient", territory=pacific)["series"]
    bundled = _run(client, keys["a"], "sst-annual-mean", territory=pacific)["series"]
    assert lenient["provenance"]["indicator"]["version"] == "1.1.0"
    assert lenient["provenance"]["parameters"]["min_valid_fraction"] == 0.5
    # the record ends in August 2020: 8 of 12 months, under the bundled 0.75, over 0.5
    assert bundled["values"][:-1] == lenient["values"][:-1]
    assert bundled["values"][-1] is None
    year_2020 = _ersst_box_mean(own_hub, PACIFIC)["2020"]
    assert len(year_2020) == 8
    assert lenient["values"][-1] == pytest.approx(float(year_2020.mean()), rel=1e-9)


def test_a_territory_dossier_equals_the_area_means(
    client: TestClient, keys: dict[str, dict[str, str]], own_hub: Path
) -> None:
    tid = _create(client, keys["a"], _feature("Biscay dossier", BISCAY))
    body = client.get(f"/territories/{tid}/dossier", headers=keys["a"]).json()
    assert body["territory"]["id"] == tid
    ersst = next(c for c in body["collections"] if c["id"] == "noaa-ersst-v5")
    (sst,) = [v for v in ersst["variables"] if v["name"] == "sst"]
    expected = _ersst_box_mean(own_hub, BISCAY)
    values = np.array([np.nan if v is None else v for v in sst["record"]["value"]])
    np.testing.assert_allclose(values, expected.to_numpy(), rtol=1e-6)
    assert client.get(f"/territories/{tid}/dossier").status_code == 404  # private
    html = client.get(f"/territories/{tid}/dossier?f=html", headers=keys["a"])
    assert html.status_code == 200 and "Biscay dossier" in html.text
