"""A place's dossier (``GET /dossier``, :mod:`spaceclimate.services.dossier`), checked against
independent readings: the cubes opened with xarray, the EDR position query of the same live
server, and numpy's own climatology, anomaly and least-squares trend."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from pyproj import CRS, Transformer

from spaceclimate.compute.dossier import summarise
from spaceclimate.services.context import HubContext
from spaceclimate.services.dossier import build_dossier

from .profile import cube_location, hub_env, hub_settings

#: Ocean points: the open North Atlantic, the southern North Sea (ocean colour), the eastern
#: Mediterranean (ocean colour, ozone, sea state). None sits on a cell edge of any grid.
OCEAN = [(-30.33, 45.33), (2.9011, 51.6011), (25.33, 34.33)]
ATLANTIC = OCEAN[0]
PARIS = (2.35, 48.85)
SST = "sea_surface_temperature"


@pytest.fixture(scope="module")
def ctx(hub_home: Path) -> Iterator[HubContext]:
    """The hub with every bundled sample, in process."""
    context = HubContext(hub_settings(hub_home))
    try:
        yield context
    finally:
        context.close()


def get_dossier(url: str, lon: float, lat: float) -> dict[str, Any]:
    response = httpx.get(f"{url}/dossier", params={"lon": lon, "lat": lat}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def open_cube(hub_home: Path, collection_id: str) -> xr.Dataset:
    return xr.open_zarr(cube_location(hub_settings(hub_home), collection_id))


def nearest(cube: xr.Dataset, lon: float, lat: float) -> dict[str, int] | None:
    """The cell holding a point, found independently: argmin of the distance to the centres."""
    if "lat" in cube.dims:
        xs, ys, x, y = cube["lon"].values, cube["lat"].values, lon, lat
        dx = (xs - x + 180.0) % 360.0 - 180.0
        i, j = int(np.argmin(np.abs(ys - y))), int(np.argmin(np.abs(dx)))
        inside = abs(ys[i] - y) <= abs(np.diff(ys)).max() and abs(dx[j]) <= abs(np.diff(xs)).max()
        return {"lat": i, "lon": j} if inside else None
    crs = CRS.from_wkt(cube["crs"].attrs["crs_wkt"])
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    xs, ys = cube["x"].values, cube["y"].values
    i, j = int(np.argmin(np.abs(ys - y))), int(np.argmin(np.abs(xs - x)))
    inside = abs(ys[i] - y) <= abs(np.diff(ys)).max() and abs(xs[j] - x) <= abs(np.diff(xs)).max()
    return {"y": i, "x": j} if inside else None


def cell_values(cube: xr.Dataset, cell: dict[str, int]) -> dict[str, np.ndarray]:
    """Every float variable of the cube at the cell (the vertical ones left out)."""
    return {
        str(name): np.asarray(var.isel(cell).values, dtype="float64").reshape(-1)
        for name, var in cube.data_vars.items()
        if var.dtype.kind == "f" and set(cell) <= set(var.dims) and "plev" not in var.dims
    }


def as_list(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in values]


def decimal_years(times: np.ndarray) -> np.ndarray:
    days = (times.astype("datetime64[s]") - np.datetime64("1970-01-01")) / np.timedelta64(1, "D")
    return 1970.0 + days.astype("float64") / 365.2425


def check_monthly_statistics(variable: dict[str, Any], times: np.ndarray, y: np.ndarray) -> None:
    """Climatology, latest anomaly and trend of a monthly record, recomputed with numpy."""
    months = pd.DatetimeIndex(times).month.values
    valid = np.isfinite(y)
    clim = np.array([y[valid & (months == m)].mean() for m in range(1, 13)])
    assert variable["climatology"]["period"] == "month"
    np.testing.assert_allclose(variable["climatology"]["value"], clim, rtol=1e-6)
    assert variable["climatology"]["count"] == [
        int((valid & (months == m)).sum()) for m in range(1, 13)
    ]
    last = int(np.flatnonzero(valid)[-1])
    anomaly = variable["anomaly"]
    assert anomaly["time"][:10] == str(times[last])[:10]
    np.testing.assert_allclose(anomaly["value"], y[last] - clim[months[last] - 1], rtol=1e-5)
    # the trend of the anomalies, time in decades; its standard error with the sample size
    # reduced by the lag-1 autocorrelation of the residuals
    anomalies = (y - clim[months - 1])[valid]
    decades = decimal_years(times[valid]) / 10.0
    slope, intercept = np.polyfit(decades, anomalies, 1)
    residuals = anomalies - (slope * decades + intercept)
    r1 = max(0.0, float((residuals[1:] * residuals[:-1]).sum() / (residuals**2).sum()))
    n = anomalies.size
    n_eff = n * (1 - r1) / (1 + r1)
    sxx = ((decades - decades.mean()) ** 2).sum()
    stderr = np.sqrt((residuals**2).sum() / (n_eff - 2) / sxx)
    trend = variable["trend"]
    assert trend["of"] == "anomalies" and trend["n"] == n
    np.testing.assert_allclose(trend["slope"], slope, rtol=1e-6)
    np.testing.assert_allclose(trend["n_eff"], n_eff, rtol=1e-6)
    np.testing.assert_allclose(trend["stderr"], stderr, rtol=1e-6)
    assert trend["ci_lower"] < trend["slope"] < trend["ci_upper"]
    assert "(10 year)" in trend["units"]


@pytest.mark.parametrize("point", OCEAN, ids=["atlantic", "north-sea", "mediterranean"])
def test_every_collection_with_a_value_at_the_cell_is_listed_with_its_record(
    live_hub: str, hub_home: Path, ctx: HubContext, point: tuple[float, float]
) -> None:
    lon, lat = point
    dossier = get_dossier(live_hub, lon, lat)
    docs = ctx.catalog.list_collections()
    assert dossier["considered"] == len(docs)
    listed = {c["id"]: c for c in dossier["collections"]}
    absent = {m["id"]: m["reason"] for m in dossier["no_data"]}
    assert len(listed) == dossier["with_data"]
    assert set(listed) | set(absent) == {d["id"] for d in docs}
    assert not set(listed) & set(absent)
    expected = set()
    for doc in docs:
        cube = open_cube(hub_home, doc["id"])
        if not {"lat", "lon"} <= set(cube.dims) and not {"x", "y"} <= set(cube.dims):
            assert "without a spatial grid" in absent[doc["id"]]
            continue
        cell = nearest(cube, lon, lat)
        if "plev" in cube.dims:
            assert "profile" in absent[doc["id"]]
            continue
        if cell is None:
            assert doc["id"] in absent, doc["id"]
            continue
        values = cell_values(cube, cell)
        if any(np.isfinite(v).any() for v in values.values()):
            expected.add(doc["id"])
        for variable in listed.get(doc["id"], {}).get("variables", []):
            got, want = variable["record"]["value"], as_list(values[variable["name"]])
            assert got == want, (doc["id"], variable["name"])
            assert variable["units"] == cube[variable["name"]].attrs["units"]
            assert variable["record"]["valid_steps"] == int(
                np.isfinite(values[variable["name"]]).sum()
            )
    assert set(listed) == expected
    assert len(listed) >= 6  # the samples hold SST, sea level, salinity... at each point


def test_records_equal_the_edr_position_query_of_the_same_point(live_hub: str) -> None:
    lon, lat = ATLANTIC
    dossier = get_dossier(live_hub, lon, lat)
    assert {"noaa-ersst-v5", "ukmo-ostia-sst-daily", "nasa-ssh-simple-grid"} <= {
        c["id"] for c in dossier["collections"]
    }
    with httpx.Client(timeout=60) as client:
        for entry in dossier["collections"]:
            for variable in entry["variables"]:
                answer = client.get(
                    f"{live_hub}/edr/collections/{entry['id']}/position",
                    params={"coords": f"POINT({lon} {lat})", "parameter-name": variable["name"]},
                )
                assert answer.status_code == 200, answer.text
                coverage = answer.json()
                edr = coverage["ranges"][variable["name"]]["values"]
                assert variable["record"]["value"] == edr, (entry["id"], variable["name"])
                times = coverage["domain"]["axes"].get("t", {}).get("values")
                if times:
                    assert variable["record"]["time"] == times
                assert entry["cell"]["lon"] == pytest.approx(
                    coverage["domain"]["axes"]["x"]["values"][0]
                )
            assert entry["citation"] and entry["license"]["id"]
            assert any("/edr/" in link["href"] for link in entry["links"])


def test_monthly_statistics_equal_numpy_at_two_places(live_hub: str, hub_home: Path) -> None:
    for cid, (lon, lat) in (
        ("noaa-ersst-v5", ATLANTIC),  # in situ reconstruction, 2 degrees, 2010-2020
        ("ukmo-ostia-sst-monthly", (-150.2, 0.3)),  # satellite analysis, equatorial band
    ):
        dossier = get_dossier(live_hub, lon, lat)
        entry = next(c for c in dossier["collections"] if c["id"] == cid)
        cube = open_cube(hub_home, cid)
        cell = nearest(cube, lon, lat)
        assert cell is not None
        y = np.asarray(cube["sst"].isel(cell).values, dtype="float64")
        check_monthly_statistics(entry["variables"][0], cube["time"].values, y)


def test_short_records_say_why_there_is_no_climatology_nor_trend(live_hub: str) -> None:
    dossier = get_dossier(live_hub, *ATLANTIC)
    daily = next(c for c in dossier["collections"] if c["id"] == "ukmo-ostia-sst-daily")
    sst = next(v for v in daily["variables"] if v["name"] == "sst")
    assert sst["record"]["cadence_days"] == pytest.approx(1.0)
    assert sst["climatology"] is None and sst["anomaly"] is None and sst["trend"] is None
    assert "1 calendar year" in sst["notes"]["climatology"]
    assert "a trend needs" in sst["notes"]["trend"]
    static = next(c for c in dossier["collections"] if c["id"] == "cnes-cls-mss")
    assert static["variables"][0]["notes"]["trend"] == "a static field (no time axis)"


def test_a_long_daily_and_an_annual_series_are_summarised_as_numpy_does(
    hub_home: Path,
) -> None:
    """The summary on two real gridless records: 38 years of daily values, 42 annual ones."""
    daily = open_cube(hub_home, "nsidc-sea-ice-index-north")["sea_ice_extent"].load()
    summary = summarise(daily)
    assert summary is not None
    y, times = daily.values.astype("float64"), daily["time"].values
    check_monthly_statistics(summary, times, y)
    annual = open_cube(hub_home, "nasa-ozonewatch-sh-hole-area")["ozone_hole_area"].load()
    summary = summarise(annual)
    assert summary is not None
    y = annual.values.astype("float64")
    valid = np.isfinite(y)
    assert summary["climatology"]["period"] == "all"
    assert summary["climatology"]["value"] == pytest.approx(y[valid].mean(), rel=1e-6)
    assert summary["anomaly"]["value"] == pytest.approx(y[valid][-1] - y[valid].mean(), rel=1e-5)
    slope = np.polyfit(decimal_years(annual["time"].values[valid]) / 10.0, y[valid], 1)[0]
    assert summary["trend"]["of"] == "values"
    assert summary["trend"]["slope"] == pytest.approx(slope, rel=1e-6)


def test_a_land_point_lists_no_sea_surface_temperature(live_hub: str) -> None:
    dossier = get_dossier(live_hub, *PARIS)
    assert SST not in {c["ecv"] for c in dossier["collections"]}
    sst = [m for m in dossier["no_data"] if m["ecv"] == SST]
    assert len(sst) >= 4
    assert all("no valid value" in m["reason"] or "outside" in m["reason"] for m in sst), sst
    assert dossier["considered"] == len(dossier["collections"]) + len(dossier["no_data"])


@pytest.mark.parametrize(
    "query",
    [
        {"lat": "45"},
        {"lon": "-30"},
        {"lon": "abc", "lat": "45"},
        {"lon": "-30", "lat": "north"},
        {"lon": "181", "lat": "45"},
        {"lon": "-30", "lat": "-90.5"},
        {"lon": "inf", "lat": "45"},
        {"lon": "nan", "lat": "45"},
        {"lon": "", "lat": "45"},
        {"lon": "-30", "lat": "45", "f": "xml"},
    ],
)
def test_bad_parameters_are_a_400_with_a_one_line_reason(
    live_hub: str, query: dict[str, str]
) -> None:
    response = httpx.get(f"{live_hub}/dossier", params=query, timeout=30)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "\n" not in detail
    assert re.search(r"parameter '(lon|lat|f)'", detail), detail


def test_the_report_is_self_contained_html_and_a_pdf(live_hub: str) -> None:
    lon, lat = ATLANTIC
    params = {"lon": lon, "lat": lat}
    dossier = get_dossier(live_hub, lon, lat)
    page = httpx.get(f"{live_hub}/dossier", params={**params, "f": "html"}, timeout=60)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert text.count("<section") == dossier["with_data"]
    assert text.count("<svg") >= 1  # ERSST's 128 months are drawn
    assert not re.search(r"<(script|link|img|iframe)\b", text)
    assert not re.search(r"(src|href)=\"(https?:)?//", text)  # nothing fetched from outside
    for entry in dossier["collections"]:
        assert f'id="{entry["id"]}"' in text
    for missing in dossier["no_data"]:
        assert missing["id"] in text
    pdf = httpx.get(f"{live_hub}/dossier", params={**params, "f": "pdf"}, timeout=60)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type /Page\b", pdf.content))
    assert pages == 1 + dossier["with_data"]


def test_an_area_dossier_is_the_area_weighted_mean_of_the_cells_inside(
    ctx: HubContext, hub_home: Path
) -> None:
    box = shapely.box(-35.0, 41.0, -25.0, 49.0)  # no 2-degree cell centre on its edges
    dossier = build_dossier(ctx, box)
    assert dossier["place"]["type"] == "Polygon"
    entry = next(c for c in dossier["collections"] if c["id"] == "noaa-ersst-v5")
    cube = open_cube(hub_home, "noaa-ersst-v5")
    inside = cube.where(
        (cube.lon > -35) & (cube.lon < -25) & (cube.lat > 41) & (cube.lat < 49), drop=True
    )
    assert entry["area"]["cells_in_area"] == inside.sizes["lat"] * inside.sizes["lon"]
    bounds = np.radians(inside["lat_bnds"].values)
    weights = (np.sin(bounds[:, 1]) - np.sin(bounds[:, 0]))[:, None] * np.ones(inside.sizes["lon"])
    values = inside["sst"].values.astype("float64")
    valid = np.isfinite(values)
    mean = (np.where(valid, values, 0) * weights).sum(axis=(1, 2)) / (valid * weights).sum(
        axis=(1, 2)
    )
    np.testing.assert_allclose(entry["variables"][0]["record"]["value"], mean, rtol=1e-6)
    assert "area-weighted" in dossier["method"]["place"]
    land = build_dossier(ctx, shapely.box(1.5, 45.5, 3.5, 46.5))  # inland France
    assert SST not in {c["ecv"] for c in land["collections"]}


def test_the_command_writes_the_same_dossier(
    live_hub: str, hub_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from spaceclimate.cli.main import app

    monkeypatch.delenv("SCO_CATALOG_URL", raising=False)
    monkeypatch.delenv("SCO_STORE_PATH", raising=False)
    for name, value in {"SCO_HOME": str(hub_home), **hub_env(hub_home)}.items():
        monkeypatch.setenv(name, value)
    lon, lat = ATLANTIC
    runner = CliRunner()
    target = tmp_path / "dossier.json"
    result = runner.invoke(
        app, ["dossier", "--lon", str(lon), "--lat", str(lat), "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(target.read_text())
    served = get_dossier(live_hub, lon, lat)
    assert written["considered"] == served["considered"]
    assert [c["variables"] for c in written["collections"]] == [
        c["variables"] for c in served["collections"]
    ]
    page = tmp_path / "dossier.html"
    result = runner.invoke(
        app, ["dossier", "--lon", str(lon), "--lat", str(lat), "-f", "html", "-o", str(page)]
    )
    assert result.exit_code == 0 and page.read_text().startswith("<!DOCTYPE html>")
    bad = runner.invoke(app, ["dossier", "--lon", "200", "--lat", str(lat)])
    assert bad.exit_code == 2 and "lon" in bad.output
