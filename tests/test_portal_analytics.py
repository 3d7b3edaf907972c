"""The portal's climate analytics in a real browser (Debian's headless Chromium, playwright)
against a private ``sco serve``: anomaly and trend maps run as jobs and shown as the derived
collections they publish, regional series as anomalies against a baseline, and the trend of a
gridless series. Every value shown is checked against an independent calculation made here
with numpy/xarray on the cubes opened directly.

The hub is a private copy of the session hub (jobs publish derived collections into it).
Like the other browser tests, a test fails when the page requests anything outside the hub or
logs a console error; screenshots go to ``tests/artifacts/portal/analysis-*.png``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from playwright.sync_api import Browser, Page
from scipy import stats
from shapely import contains_xy
from shapely.geometry import shape

from spaceclimate.access import Access
from spaceclimate.config import Settings

from .conftest import start_server, stop_server
from .profile import hub_settings
from .test_portal_browser import (
    ACCESSIBILITY_CHECK,
    Guard,
    browser,  # noqa: F401  (the module-scoped Chromium fixture)
    chart_series,
    cube,
    goto,
    map_point,
    open_page,
    shot,
    wait_basemap,
    wait_tiles,
)

MONTHLY = "ukmo-ostia-sst-monthly"
ARCTIC_INDEX = "nsidc-sea-ice-index-north"
DAYS_PER_YEAR = 365.2425


# -- fixtures ---------------------------------------------------------------------------------
def admin_key(home: Path) -> dict[str, str]:
    """The Authorization header of a new admin key of the hub at *home* (sees every job)."""
    access = Access(hub_settings(home))
    try:
        _key, token = access.keys.create(["admin"], "operators")
    finally:
        access.close()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def private_home(hub_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the session hub (jobs write derived collections)."""
    home = tmp_path_factory.mktemp("analytics") / "hub"
    shutil.copytree(hub_home, home)
    return home


@pytest.fixture(scope="module")
def admin(private_home: Path) -> dict[str, str]:
    """An admin key of the private hub: the portal's jobs are anonymous, an admin sees them."""
    return admin_key(private_home)


@pytest.fixture(scope="module")
def private_hub(private_home: Path) -> Iterator[str]:
    """A server on the private copy of the session hub."""
    url, proc = start_server(private_home)
    try:
        yield url
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def settings(hub_home: Path) -> Settings:
    return Settings(home=hub_home)  # the source cubes, read directly


@pytest.fixture()
def laptop(browser: Browser, private_hub: str) -> Iterator[tuple[Page, Guard, list[str]]]:  # noqa: F811
    context, page, guard = open_page(browser, private_hub)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        yield page, guard, requests
    finally:
        context.close()


# -- independent calculations ------------------------------------------------------------------
def decimal_years(times: Any) -> np.ndarray:
    stamps = pd.DatetimeIndex(times).values.astype("datetime64[ns]")
    days = (stamps - np.datetime64("1970-01-01T00:00:00", "ns")) / np.timedelta64(1, "D")
    return 1970.0 + np.asarray(days, dtype="float64") / DAYS_PER_YEAR


def monthly_anomalies(da: xr.DataArray, start: str, end: str) -> xr.DataArray:
    """x minus the mean of its calendar month over the baseline years."""
    clim = da.sel(time=slice(start, end)).groupby("time.month").mean("time")
    return da.groupby("time.month") - clim


def cursor_reading(page: Page, lon: float, lat: float, units: str) -> dict[str, Any]:
    """Move the pointer to (lon, lat) and return the cell, time and value the page shows."""
    page.locator(".cursor-value").evaluate("n => { delete n.dataset.value; }")
    x, y = map_point(page, "viewer-map", lon, lat)
    page.mouse.move(x, y)
    page.wait_for_function(
        "(u) => { const n = document.querySelector('.cursor-value');"
        " return n.dataset.value !== undefined && n.innerText.endsWith(u); }",
        arg=units,
    )
    data = page.locator(".cursor-value").evaluate("n => ({...n.dataset, text: n.innerText})")
    return {
        "lon": float(data["lon"]),
        "lat": float(data["lat"]),
        "value": float(data["value"]),
        "time": data.get("time", ""),
        "text": data["text"],
    }


def shown_number(text: str) -> float:
    match = re.search(r": (−?-?[\d.]+(?:e-?\d+)?) ", text)
    assert match, text
    return float(match.group(1).replace("−", "-"))


# -- the tests --------------------------------------------------------------------------------
def test_anomaly_map_job_switches_to_the_derived_layer(
    laptop: tuple[Page, Guard, list[str]],
    private_hub: str,
    settings: Settings,
    admin: dict[str, str],
) -> None:
    page, guard, requests = laptop
    goto(page, private_hub, f"#/map/{MONTHLY}")
    wait_basemap(page, "viewer-map")
    wait_tiles(page, "viewer-map")
    panel = page.get_by_role("group", name="Analysis")
    # the form is made from the process description: the baseline is a period, From/Until
    baseline = panel.get_by_role("group", name="Baseline", exact=True)
    start, end = baseline.get_by_label("From"), baseline.get_by_label("Until")
    # the default baseline: the full years of the 2006-04 to 2010-09 record
    assert start.input_value() == "2007" and end.input_value() == "2009"
    assert page.evaluate(ACCESSIBILITY_CHECK) == []

    # a job that fails shows its one-line message
    start.fill("1990")
    end.fill("1995")
    panel.get_by_role("button", name="Compute the anomaly map").click()
    page.wait_for_selector(".analysis .error:not(:empty)")
    failed = page.locator(".analysis .error").inner_text()
    assert failed.startswith("The job failed:") and "1990" in failed and "\n" not in failed
    shot(page, "analysis-anomaly-failed")

    start.fill("2007")
    end.fill("2009")
    end.press("Enter")  # runs it, like the button
    page.wait_for_selector("#viewer-map[data-layer^='anomaly-ukmo-ostia-sst-monthly-']")
    wait_basemap(page, "viewer-map")
    wait_tiles(page, "viewer-map", "/tiles/anomaly-")
    layer = page.locator("#viewer-map").get_attribute("data-layer")
    cid, variable = layer.split(":")
    assert variable == "sst_anomaly"
    tiles = [u for u in requests if "/tiles/anomaly-" in u and u.split("?")[0].endswith(".png")]
    assert tiles and all(f"/tiles/{cid}/sst_anomaly/" in u for u in tiles)
    assert all("colormap=RdBu_r" in u for u in tiles)  # the derived layer's diverging colours
    assert page.locator(".derived-label").inner_text() == "Anomaly of sst against 2007–2009"
    assert "K" in page.locator(".legend").inner_text()
    # the job ran on the hub, asynchronously, and its results name the collection
    listed = httpx.get(f"{private_hub}/jobs", params={"processID": "anomaly"}, headers=admin)
    jobs = listed.json()["jobs"]
    done = [j for j in jobs if j["status"] == "successful"]
    assert [j["status"] for j in jobs].count("failed") == 1 and len(done) == 1
    # the page's jobs are anonymous: no one else lists or reads them
    assert httpx.get(f"{private_hub}/jobs").json()["jobs"] == []
    assert httpx.get(f"{private_hub}/jobs/{done[0]['jobID']}/results").status_code == 401
    results = httpx.get(f"{private_hub}/jobs/{done[0]['jobID']}/results", headers=admin).json()
    assert results["collection"]["collection"] == cid

    # the value under the pointer is x minus its 2007-2009 calendar-month mean
    reading = cursor_reading(page, -120.0, 0.3, "K")
    sst = cube(settings, MONTHLY)["sst"]
    expected = monthly_anomalies(sst, "2007", "2009").sel(
        time=np.datetime64(reading["time"].rstrip("Z")), method="nearest"
    )
    cell = expected.sel(lon=reading["lon"], lat=reading["lat"], method="nearest")
    assert abs(float(cell.lon) - reading["lon"]) < 1e-3
    assert abs(float(cell.lat) - reading["lat"]) < 1e-3
    assert reading["value"] == pytest.approx(float(cell), abs=1e-3)
    assert shown_number(reading["text"]) == pytest.approx(float(cell), abs=1e-3)
    assert reading["time"].startswith("2010-09")  # the time step shown before the switch
    shot(page, "analysis-anomaly-map", full_page=True)

    page.get_by_role("link", name="Back to the source layer").click()
    page.wait_for_selector(f"#viewer-map[data-layer='{MONTHLY}:sst']")
    wait_tiles(page, "viewer-map", f"/tiles/{MONTHLY}/sst/")
    guard.assert_clean()


def test_trend_map_job_shows_the_slope_in_rate_units(
    laptop: tuple[Page, Guard, list[str]], private_hub: str, settings: Settings
) -> None:
    page, guard, _requests = laptop
    goto(page, private_hub, f"#/map/{MONTHLY}")
    wait_basemap(page, "viewer-map")
    panel = page.get_by_role("group", name="Analysis")
    panel.get_by_label("Trend map").check()
    assert panel.get_by_role("group", name="Baseline", exact=True).count() == 0  # hidden
    panel.get_by_label("Method").select_option("ols")
    panel.get_by_label("Rate").select_option("decade")
    panel.get_by_role("button", name="Compute the trend map").click()
    page.wait_for_selector(
        "#viewer-map[data-layer^='trend-ukmo-ostia-sst-monthly-'][data-layer$=':slope']"
    )
    wait_basemap(page, "viewer-map")
    wait_tiles(page, "viewer-map", "/tiles/trend-")
    legend = page.locator(".legend").inner_text()
    assert "K / (10 year)" in legend
    label = page.locator(".derived-label").inner_text()
    assert label == "Trend of sst (least squares (OLS), per decade)"
    assert page.locator(".time-field").is_hidden()  # a trend map has no time axis

    # the slope under the pointer is the least-squares slope of that cell's series
    reading = cursor_reading(page, -150.0, 1.0, "K / (10 year)")
    series = cube(settings, MONTHLY)["sst"].sel(
        lon=reading["lon"], lat=reading["lat"], method="nearest"
    )
    valid = np.isfinite(series.values)
    years = decimal_years(series["time"].values)[valid]
    slope = np.polyfit(years, series.values[valid].astype("float64"), 1)[0] * 10.0
    assert reading["value"] == pytest.approx(slope, abs=1e-3)
    shot(page, "analysis-trend-map", full_page=True)
    guard.assert_clean()


def test_september_sea_ice_trend_of_the_index(
    laptop: tuple[Page, Guard, list[str]], private_hub: str, settings: Settings
) -> None:
    page, guard, _requests = laptop
    goto(page, private_hub, f"#/series/{ARCTIC_INDEX}")
    page.wait_for_selector(".chart-panel[data-series='1']")
    page.get_by_label("Months").select_option("9")
    reference = page.get_by_role("group", name="Relative to the mean of")
    reference.get_by_label("From").fill("1981")
    reference.get_by_label("Until").fill("2010")
    page.get_by_role("button", name="Trend", exact=True).click()
    page.wait_for_selector(".trend-result:not(:empty)")
    text = page.locator(".trend-result").inner_text()

    # independently: September means, least squares on decimal years, in % of 1981-2010
    extent = cube(settings, ARCTIC_INDEX)["sea_ice_extent"].load()
    september = extent.where(extent["time"].dt.month == 9, drop=True)
    means = september.groupby("time.year").mean()
    years = decimal_years(pd.to_datetime([f"{y}-09-01" for y in means["year"].values]))
    values = means.values.astype("float64")
    fit = stats.linregress(years, values)
    base = means.sel(year=slice(1981, 2010)).mean().item()
    n = len(values)
    # the interval counts the effective sample size of autocorrelated residuals (the default)
    resid = values - (fit.intercept + fit.slope * years)
    r1 = min(max(float(np.sum(resid[1:] * resid[:-1]) / np.sum(resid**2)), 0.0), 1.0)
    n_eff = n * (1 - r1) / (1 + r1)
    stderr = np.sqrt(np.sum(resid**2) / (n_eff - 2) / np.sum((years - years.mean()) ** 2))
    half = stats.t.ppf(0.975, n_eff - 2) * stderr
    p_value = 2 * stats.t.sf(abs(fit.slope / stderr), n_eff - 2)
    pct = [100 * 10 * v / base for v in (fit.slope, fit.slope - half, fit.slope + half)]
    # three significant digits, as the page writes them
    fmt = [("−" if v < 0 else "") + f"{float(f'{abs(v):.3g}'):g}" for v in pct]
    expected = f"{fmt[0]} % per decade (95 % CI {fmt[1]} to {fmt[2]}), p < 0.001"
    assert p_value < 0.001 and pct[0] < -12 and pct[0] > -13 and n_eff < n
    assert expected in text, (expected, text)
    assert text.startswith("September trend: −12.")
    assert f"effective sample size {float(f'{n_eff:.3g}'):g} (autocorrelation)" in text

    drawn = {s["label"]: s for s in chart_series(page)}
    line = next(s for label, s in drawn.items() if label.startswith("trend: "))
    assert line["label"] == f"trend: {expected}"
    assert len(line["y"]) == n
    assert line["y"] == pytest.approx((fit.intercept + fit.slope * years).tolist(), abs=1e-3)
    points = drawn["September means"]
    assert points["y"] == pytest.approx(values.tolist(), abs=1e-4)
    assert page.evaluate(ACCESSIBILITY_CHECK) == []
    shot(page, "analysis-sea-ice-september-trend", full_page=True)

    # a trend of the sea-level series, relative to nothing: in the data's units
    goto(page, private_hub, "#/series/csiro-gmsl-altimetry")
    page.wait_for_selector(".chart-panel[data-series='1']")
    page.get_by_label("Method").select_option("sen")
    page.get_by_role("button", name="Trend", exact=True).click()
    page.wait_for_selector(".trend-result:not(:empty)")
    gmsl = page.locator(".trend-result").inner_text()
    assert re.search(r"Trend: [\d.]+ mm per decade \(95 % CI [\d.]+ to [\d.]+\), p < 0\.001", gmsl)
    shot(page, "analysis-gmsl-trend", full_page=True)
    guard.assert_clean()


def test_regional_series_as_anomalies_against_a_baseline(
    laptop: tuple[Page, Guard, list[str]], private_hub: str, settings: Settings
) -> None:
    page, guard, _requests = laptop
    goto(page, private_hub, f"#/map/{MONTHLY}")
    wait_basemap(page, "viewer-map")
    page.get_by_label("Show series as anomalies against a baseline").check()
    page.get_by_label("Series baseline start").fill("2007")
    page.get_by_label("Series baseline end").fill("2009")
    page.get_by_label("Series baseline end").dispatch_event("change")
    page.get_by_label("Region").select_option("ar6:EAO")
    page.wait_for_selector(".chart-panel[data-series='1']")
    series = chart_series(page)[0]
    assert series["label"] == "mean over Equatorial.Atlantic-Ocean, anomaly against 2007–2009"
    assert "K" in page.locator(".chart-summary").inner_text()

    # independently: cells whose centre is inside the region, true cell areas as weights,
    # missing cells out of each step's weights; then minus the 2007-2009 monthly means
    feature = httpx.get(f"{private_hub}/regions/ar6:EAO").json()
    region = shape(feature["geometry"])
    ds = cube(settings, MONTHLY)
    sst = ds["sst"].load()
    lon2, lat2 = np.meshgrid(sst["lon"].values, sst["lat"].values)
    inside = contains_xy(region, lon2, lat2)
    assert inside.sum() > 100
    lat_b = np.deg2rad(ds["lat_bnds"].values.astype("float64"))
    band = np.abs(np.sin(lat_b[:, 1]) - np.sin(lat_b[:, 0]))
    weights = xr.DataArray(np.where(inside, band[:, None], 0.0), dims=("lat", "lon"))
    weights = weights * sst.notnull()
    mean = (sst.fillna(0) * weights).sum(("lat", "lon")) / weights.sum(("lat", "lon"))
    expected = monthly_anomalies(mean, "2007", "2009").values
    assert series["y"] == pytest.approx(expected.tolist(), abs=1e-3)
    assert np.nanmax(np.abs(expected)) > 0.1  # anomalies, not a flat line
    shot(page, "analysis-regional-anomalies", full_page=True)

    # back to plain values: the chart is redrawn with the region's mean in kelvin
    page.get_by_label("Show series as anomalies against a baseline").uncheck()
    page.wait_for_function(
        "() => { const c = window.Chart.getChart(document.querySelector('.chart-panel canvas'));"
        " return c && c.data.datasets.length === 1"
        " && c.data.datasets[0].label === 'mean over Equatorial.Atlantic-Ocean'; }"
    )
    plain = chart_series(page)[0]
    assert plain["y"] == pytest.approx(mean.values.tolist(), abs=1e-3)
    guard.assert_clean()


def test_job_progress_and_cancel(browser: Browser, hub_home: Path, tmp_path: Path) -> None:  # noqa: F811
    """On a hub that only queues jobs (its runners elsewhere), a job waits: cancel it."""
    home = tmp_path / "hub"
    shutil.copytree(hub_home, home)
    admin = admin_key(home)
    url, proc = start_server(home, env={"SCO_JOB_WORKERS": "0"})
    try:
        earlier = {j["jobID"] for j in httpx.get(f"{url}/jobs", headers=admin).json()["jobs"]}
        context, page, guard = open_page(browser, url)
        goto(page, url, f"#/map/{MONTHLY}")
        wait_basemap(page, "viewer-map")
        panel = page.get_by_role("group", name="Analysis")
        run = panel.get_by_role("button", name="Compute the anomaly map")
        run.click()
        page.wait_for_function(
            "() => /Job accepted: queued \\(0 %\\)/.test(document.querySelector('.analysis')"
            ".innerText)"
        )
        bar = panel.get_by_label("Job progress")
        assert bar.is_visible() and bar.get_attribute("aria-valuetext") == "0 %: queued"
        assert run.is_disabled()
        shot(page, "analysis-job-progress")
        panel.get_by_role("button", name="Cancel").click()
        page.wait_for_function(
            "() => document.querySelector('.analysis').innerText.includes('The job was cancelled.')"
        )
        assert bar.is_hidden() and run.is_enabled()
        listed = httpx.get(f"{url}/jobs", headers=admin).json()["jobs"]
        jobs = [j for j in listed if j["jobID"] not in earlier]
        assert [(j["processID"], j["status"]) for j in jobs] == [("anomaly", "dismissed")]
        assert jobs[0]["sco:inputs"]["baseline"] == "2007/2009"
        guard.assert_clean()
        context.close()
    finally:
        stop_server(proc)
