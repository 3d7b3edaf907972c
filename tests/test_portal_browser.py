"""The web portal in a real browser (Debian's headless Chromium driven by playwright) against a
real ``sco serve`` process: every view is used as a person would, values shown are checked
against the cubes read here with xarray, and screenshots of each view are saved to
``tests/artifacts/portal/``.

Every test fails when the page requests anything outside the hub's own origin (no CDN, no
internet) or logs a console error or an uncaught exception.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import netCDF4
import numpy as np
import pytest
import xarray as xr
import yaml
from playwright.sync_api import Browser, Page, sync_playwright
from pyproj import CRS, Transformer

from spaceclimate.catalog import open_catalog
from spaceclimate.config import Settings

from .conftest import start_server, stop_server
from .sourcedata import BUNDLED_COLLECTIONS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "portal"
RECIPES = Path(__file__).resolve().parents[1] / "src" / "spaceclimate" / "ecv" / "recipes"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 20_000
OSTIA = "ukmo-ostia-sst-daily"
ARCTIC = "nsidc-seaice-cdr-nh-monthly"


# -- fixtures ---------------------------------------------------------------------------------
@dataclass
class Guard:
    """Records what a page must never do: leave the hub's origin, log errors, throw."""

    origin: str
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_request(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "data":
            return
        if parts.scheme == "blob":
            parts = urlsplit(url[len("blob:") :])
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.outside.append(url)

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests outside the hub: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make system' (installs Debian's chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(
    browser: Browser, base: str, viewport: dict[str, int] = LAPTOP
) -> tuple[Any, Page, Guard]:
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    guard = Guard(base.rstrip("/"))
    page.on("request", lambda r: guard.on_request(r.url))
    page.on("console", lambda m: guard.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: guard.errors.append(f"uncaught: {e}"))
    return context, page, guard


@pytest.fixture()
def laptop(browser: Browser, live_hub: str) -> Iterator[tuple[Page, Guard]]:
    context, page, guard = open_page(browser, live_hub)
    try:
        yield page, guard
    finally:
        context.close()


@pytest.fixture(scope="module")
def settings(hub_home: Path) -> Settings:
    return Settings(home=hub_home)


def cube(settings: Settings, cid: str) -> xr.Dataset:
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        href = catalog.get_collection(cid)["assets"]["zarr"]["href"]
    finally:
        catalog.close()
    return xr.open_zarr(settings.resolved_store_path / href, zarr_format=3)


def shot(page: Page, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.wait_for_timeout(350)  # let tiles finish fading in
    page.screenshot(path=str(path), full_page=full_page)
    return path


# -- helpers driving the page ------------------------------------------------------------------
def goto(page: Page, base: str, route: str) -> None:
    page.goto(f"{base}/{route}")
    try:
        page.wait_for_selector("main h1")
    except Exception as exc:  # name what the page said when it did not render
        errors = page.evaluate("() => document.querySelector('main').innerText")
        raise AssertionError(f"{route} did not render: {errors[:300]}") from exc


def wait_basemap(page: Page, map_id: str) -> None:
    page.wait_for_selector(f"#{map_id}[data-basemap='ready']")


def wait_tiles(page: Page, map_id: str, contains: str = "") -> None:
    """Wait until every tile of the map's data layer has loaded (at least one)."""
    page.wait_for_function(
        """([id, text]) => {
            const sel = `#${id} .data-layer img, #${id} img.data-layer`;
            const imgs = [...document.querySelectorAll(sel)].filter((i) => i.src.includes(text));
            return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
        }""",
        arg=[map_id, contains],
    )


def map_point(page: Page, map_id: str, lon: float, lat: float) -> tuple[float, float]:
    """Page coordinates of (lon, lat) on a map of the portal."""
    point = page.evaluate(
        """([id, lon, lat]) => {
            const node = document.getElementById(id);
            const p = node.scMap.latLngToContainerPoint(node.scLatLng(lon, lat));
            const r = node.getBoundingClientRect();
            return [r.left + node.clientLeft + p.x, r.top + node.clientTop + p.y];
        }""",
        [map_id, lon, lat],
    )
    return float(point[0]), float(point[1])


def chart_series(page: Page, selector: str = ".chart-panel canvas") -> list[dict[str, Any]]:
    """The datasets drawn by the chart: label and (ms, value) points."""
    return page.evaluate(
        """(sel) => {
            const chart = window.Chart.getChart(document.querySelector(sel));
            const y = (d) => d.data.map((p) => (Number.isNaN(p.y) ? null : p.y));
            return chart ? chart.data.datasets.map((d) => ({
                label: d.label, x: d.data.map((p) => p.x), y: y(d)})) : [];
        }""",
        selector,
    )


def parse_lonlat(label: str) -> tuple[float, float]:
    """(lon, lat) from a label such as 'point 0.13°S 140.13°W'."""
    m = re.search(r"([\d.]+)°([NS]) ([\d.]+)°([EW])", label)
    assert m, label
    lat = float(m.group(1)) * (1 if m.group(2) == "N" else -1)
    lon = float(m.group(3)) * (1 if m.group(4) == "E" else -1)
    return lon, lat


# -- the views --------------------------------------------------------------------------------
def test_catalog_search_filters_like_the_api(laptop: tuple[Page, Guard], live_hub: str) -> None:
    page, guard = laptop
    goto(page, live_hub, "")  # the portal at / (a browser prefers HTML)
    assert page.title().startswith("Catalog")
    page.wait_for_selector(f".results[data-count='{BUNDLED_COLLECTIONS}']")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card .thumb')].slice(0, 4)"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    wait_basemap(page, "catalog-map")
    shot(page, "catalog")

    def ids() -> set[str]:
        return set(page.eval_on_selector_all(".card", "cs => cs.map((c) => c.dataset.collection)"))

    api = httpx.get(f"{live_hub}/stac/collections", params={"q": "sea ice", "limit": 100}).json()
    page.get_by_label("Free text").fill("sea ice")
    page.get_by_label("Free text").press("Enter")
    page.wait_for_selector(f".results[data-count='{len(api['collections'])}']")
    assert ids() == {c["id"] for c in api["collections"]} and len(ids()) >= 5

    page.get_by_label("Free text").fill("")
    page.get_by_label("Essential climate variable").select_option("sea_surface_temperature")
    sst_ids = {OSTIA, "ukmo-ostia-sst-monthly", "noaa-ersst-v5"}
    sst_ids |= {"noaa-navo-viirs-npp-l2p-sst", "jaxa-amsr2-remss-l2p-sst"}  # binned swaths
    page.wait_for_selector(f".results[data-count='{len(sst_ids)}']")
    assert ids() == sst_ids
    page.get_by_label("Mission").select_option("TRMM")
    sst = httpx.get(f"{live_hub}/stac/collections", params={"ecv": "sea_surface_temperature"})
    expected = [c for c in sst.json()["collections"] if "TRMM" in c["summaries"]["platform"]]
    page.wait_for_selector(f".results[data-count='{len(expected)}']")
    assert ids() == {c["id"] for c in expected} == {OSTIA}

    page.get_by_role("button", name="Reset").click()
    page.wait_for_selector(f".results[data-count='{BUNDLED_COLLECTIONS}']")
    page.get_by_label("Agency").select_option("NSIDC")
    page.get_by_label("From", exact=True).fill("2021-12-01")
    page.get_by_label("From", exact=True).dispatch_event("change")
    expected = httpx.get(
        f"{live_hub}/stac/collections",
        params={"agency": "NSIDC", "datetime": "2021-12-01T00:00:00Z/..", "limit": 100},
    ).json()["collections"]
    page.wait_for_selector(f".results[data-count='{len(expected)}']")
    assert ids() == {c["id"] for c in expected}

    # a box drawn on the small map becomes the bbox filter
    page.get_by_role("button", name="Reset").click()
    page.wait_for_selector(f".results[data-count='{BUNDLED_COLLECTIONS}']")
    page.get_by_role("button", name="Draw box").click()
    x0, y0 = map_point(page, "catalog-map", -5.0, 48.0)
    x1, y1 = map_point(page, "catalog-map", 8.0, 57.0)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('input[name=bbox]').value !== ''")
    box = page.get_by_label("Box (lon/lat)").input_value()
    west, south, east, north = (float(v) for v in box.split(","))
    # the mini map is at zoom 1: a pixel is 0.7 degrees
    assert west == pytest.approx(-5, abs=2.5) and north == pytest.approx(57, abs=2.5), box
    expected = httpx.get(f"{live_hub}/stac/collections", params={"bbox": box, "limit": 100}).json()
    page.wait_for_selector(f".results[data-count='{len(expected['collections'])}']")
    assert "esa-olci-c2rcc-north-sea" in ids()
    assert "esa-cci-ozone-tc" not in ids()
    guard.assert_clean()


def test_ostia_map_time_slider_and_point_series(
    laptop: tuple[Page, Guard], live_hub: str, settings: Settings
) -> None:
    page, guard = laptop
    goto(page, live_hub, "#/catalog")
    page.locator(f".card[data-collection='{OSTIA}']").get_by_role("link", name="Open map").click()
    page.wait_for_selector("#viewer-map")
    wait_basemap(page, "viewer-map")
    wait_tiles(page, "viewer-map", "datetime=2017-06-07")
    legend = page.locator(".legend").inner_text()
    assert "271" in legend and "305" in legend and "K" in legend
    shot(page, "map-ostia")

    slider = page.get_by_role("slider", name="Time step")
    slider.focus()
    slider.press("ArrowLeft")
    page.wait_for_selector("#viewer-map[data-time='2017-06-06T12:00:00Z']")
    wait_tiles(page, "viewer-map", "datetime=2017-06-06")
    assert "2017-06-06" in page.locator(".time-label").inner_text()

    ds = cube(settings, OSTIA)
    x, y = map_point(page, "viewer-map", -140.0, 0.5)
    page.mouse.move(x, y)
    page.wait_for_function("() => /K$/.test(document.querySelector('.cursor-value').innerText)")
    hover = page.locator(".cursor-value").inner_text()
    shown = float(re.search(r": ([\d.]+) K", hover).group(1))
    near = ds["sst"].sel(time="2017-06-06T12:00").sel(lon=-140.0, lat=0.5, method="nearest")
    assert shown == pytest.approx(float(near), abs=0.15)  # within a cell or two of the pointer

    page.mouse.click(x, y)
    page.wait_for_selector(".chart-panel[data-series='1']")
    series = chart_series(page)
    lon, lat = parse_lonlat(series[0]["label"])
    expected = ds["sst"].sel(lon=lon, lat=lat, method="nearest").values
    assert series[0]["y"] == pytest.approx(expected.tolist(), abs=1e-4)
    assert page.locator(".chart-panel").get_by_text("K").count() > 0
    shot(page, "map-ostia-point-series", full_page=True)

    with page.expect_download() as info:
        page.get_by_role("button", name="Save CSV").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "time" and rows[0][1].endswith("[K]")
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(expected.tolist(), abs=1e-4)
    with page.expect_download() as info:
        page.get_by_role("button", name="Save PNG").click()
    png = Path(info.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    guard.assert_clean()


def test_box_gives_area_weighted_mean_series(
    laptop: tuple[Page, Guard], live_hub: str, settings: Settings
) -> None:
    page, guard = laptop
    goto(page, live_hub, f"#/map/{OSTIA}")
    wait_basemap(page, "viewer-map")
    wait_tiles(page, "viewer-map")
    page.get_by_role("button", name="Draw a box").click()
    x0, y0 = map_point(page, "viewer-map", -150.0, -10.0)
    x1, y1 = map_point(page, "viewer-map", -120.0, 10.0)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    page.wait_for_selector(".chart-panel[data-series='1']")
    series = chart_series(page)
    assert series[0]["label"].startswith("mean over box")
    west, south, east, north = (float(v) for v in series[0]["label"].split("box ")[1].split(","))
    assert west == pytest.approx(-150, abs=1) and north == pytest.approx(10, abs=1)
    sst = cube(settings, OSTIA)["sst"]
    inside = sst.where(
        (sst.lon >= west) & (sst.lon <= east) & (sst.lat >= south) & (sst.lat <= north), drop=True
    )
    weights = np.cos(np.deg2rad(inside.lat)) * xr.ones_like(inside.isel(time=0))
    expected = inside.weighted(weights.fillna(0)).mean(("lat", "lon")).values
    assert series[0]["y"] == pytest.approx(expected.tolist(), abs=0.02)
    assert "cells" in page.locator(".controls").inner_text()
    # a region from the hub's list: its outline is drawn and its mean joins the chart
    regions = httpx.get(f"{live_hub}/regions").json()["regions"]
    epo = next(r for r in regions if r["id"] == "ar6:EPO")
    page.get_by_label("Region").select_option(epo["id"])
    page.wait_for_selector(".chart-panel[data-series='2']")
    second = chart_series(page)[1]
    assert second["label"] == f"mean over {epo['name']}"
    assert len(second["y"]) == 3 and all(296 < v < 304 for v in second["y"])
    assert page.locator("#viewer-map path.leaflet-interactive, #viewer-map svg path").count() >= 2
    shot(page, "map-ostia-area-series", full_page=True)
    guard.assert_clean()


def test_profile_map_has_a_level_choice(laptop: tuple[Page, Guard], live_hub: str) -> None:
    """A profile product's map offers its pressure levels; the tiles follow the choice."""
    page, _guard = laptop
    goto(page, live_hub, "#/map/nasa-aura-mls-co")
    wait_basemap(page, "viewer-map")
    level = page.get_by_label("Level", exact=True)
    options = level.locator("option").all_inner_texts()
    assert len(options) == 27 and options[0] == "215.4 hPa" and "10 hPa" in options
    wait_tiles(page, "viewer-map", "level=215.4")
    level.select_option(label="10 hPa")
    wait_tiles(page, "viewer-map", "level=10")  # the last parameter of the tile URLs
    assert "lvl=10" in page.url


def test_sea_ice_map_is_polar_stereographic(
    laptop: tuple[Page, Guard], live_hub: str, settings: Settings
) -> None:
    page, guard = laptop
    goto(page, live_hub, f"#/map/{ARCTIC}")
    page.wait_for_selector("#viewer-map[data-projection='north-polar-stereographic']")
    wait_basemap(page, "viewer-map")
    wait_tiles(page, "viewer-map", "/portal/native/")
    ds = cube(settings, ARCTIC)
    crs = CRS.from_wkt(ds["crs"].attrs["crs_wkt"])
    to_grid = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    # the browser's projection of the basemap agrees with PROJ to the metre
    for lon, lat in [(0.0, 90.0), (-45.0, 70.0), (135.0, 55.0), (-170.0, 80.0), (20.0, 35.0)]:
        got = page.evaluate(
            "([lon, lat]) => { const ll = document.getElementById('viewer-map').scLatLng(lon, lat);"
            " return [ll.lng, ll.lat]; }",
            [lon, lat],
        )
        assert got == pytest.approx(list(to_grid.transform(lon, lat)), abs=1.0)
    # the value under the pointer in the Beaufort Sea is the cube's
    lon, lat = -140.0, 76.0
    x, y = map_point(page, "viewer-map", lon, lat)
    page.mouse.move(x, y)
    page.wait_for_function(
        "() => /fraction/.test(document.querySelector('.cursor-value').textContent)"
    )
    hover = page.locator(".cursor-value").inner_text()
    shown = float(re.search(r": ([\d.]+) fraction", hover).group(1))
    gx, gy = to_grid.transform(lon, lat)
    value = float(ds["sic"].isel(time=-1).sel(x=gx, y=gy, method="nearest"))
    assert shown == pytest.approx(value, abs=0.02)
    assert value > 0.9  # December: the Beaufort Sea is ice-covered
    shot(page, "map-sea-ice-arctic")
    goto(page, live_hub, "#/map/nsidc-seaice-cdr-sh-monthly")
    page.wait_for_selector("#viewer-map[data-projection='south-polar-stereographic']")
    wait_basemap(page, "viewer-map")
    wait_tiles(page, "viewer-map", "/portal/native/")
    shot(page, "map-sea-ice-antarctic")
    guard.assert_clean()


def test_gridless_series_opens_as_a_chart(
    laptop: tuple[Page, Guard], live_hub: str, settings: Settings
) -> None:
    page, guard = laptop
    goto(page, live_hub, "#/catalog")
    page.locator(".card[data-collection='csiro-gmsl-altimetry']").get_by_role(
        "link", name="Open chart"
    ).click()
    page.wait_for_selector(".chart-panel[data-series='1']")
    series = chart_series(page)
    gmsl = cube(settings, "csiro-gmsl-altimetry")["gmsl"]
    expected = [None if np.isnan(v) else float(v) for v in gmsl.values]
    assert series[0]["y"] == pytest.approx(expected, abs=1e-4)  # float32 in the cube
    assert "mm" in page.locator(".chart-summary").inner_text()
    shot(page, "series-gmsl")
    goto(page, live_hub, "#/series/rutgers-snow-cover-extent")
    page.wait_for_selector(".chart-panel[data-series='4']")
    shot(page, "series-snow")
    guard.assert_clean()


def test_ozone_map_shows_dobson_units(
    laptop: tuple[Page, Guard], live_hub: str, samples: Path
) -> None:
    """Ozone is stored in CF's mol m-2; the legend and the value under the pointer are in DU,
    the unit the source file (read here) gives them in."""
    page, guard = laptop
    with netCDF4.Dataset(
        samples / "ozone" / "o3_esacci_total_column_merged_200505_subset.nc"
    ) as nc:
        nc.set_auto_maskandscale(False)
        assert nc["atmosphere_mole_content_of_ozone"].units == "DU"
        du = np.asarray(nc["atmosphere_mole_content_of_ozone"][0], dtype="float64")
        lat, lon = np.asarray(nc["lat"][:]), np.asarray(nc["lon"][:])
    goto(page, live_hub, "#/map/esa-cci-ozone-tc")
    wait_basemap(page, "viewer-map")
    wait_tiles(page, "viewer-map")
    page.wait_for_function("() => /DU/.test(document.querySelector('.legend').innerText)")
    legend = page.locator(".legend").inner_text()
    assert "200" in legend and "450" in legend and "mol" not in legend  # ecvs.yaml's range
    low, high = page.get_by_label("Minimum", exact=True), page.get_by_label("Maximum", exact=True)
    assert (low.input_value(), high.input_value()) == ("200", "450")  # edited in DU too
    low.fill("250")
    low.dispatch_event("change")
    page.wait_for_function("() => document.querySelector('.legend-min').innerText === '250'")
    tiles = page.locator("#viewer-map .data-layer img").first.get_attribute("src") or ""
    rescale = re.search(r"rescale=([^&]+)", tiles)
    assert rescale, tiles
    stored_low = float(rescale.group(1).replace("%2C", ",").split(",")[0])
    assert stored_low == pytest.approx(250 * 4.4615e-4, rel=1e-6)  # sent in mol m-2 (ecvs.yaml)

    x, y = map_point(page, "viewer-map", 30.5, 30.5)
    page.mouse.move(x, y)
    page.wait_for_function("() => /DU$/.test(document.querySelector('.cursor-value').innerText)")
    cursor = page.locator(".cursor-value")
    shown = float(re.search(r": ([\d.]+) DU", cursor.inner_text()).group(1))
    cell_lon, cell_lat = (
        float(cursor.get_attribute("data-lon")),
        float(cursor.get_attribute("data-lat")),
    )
    j, i = int(np.argmin(np.abs(lat - cell_lat))), int(np.argmin(np.abs(lon - cell_lon)))
    assert shown == pytest.approx(du[j, i], abs=0.05)  # four significant digits shown
    shot(page, "map-ozone-dobson-units")
    guard.assert_clean()


def test_compare_side_by_side_and_difference(laptop: tuple[Page, Guard], live_hub: str) -> None:
    page, guard = laptop
    goto(page, live_hub, "#/compare")
    wait_basemap(page, "compare-map-a")
    wait_tiles(page, "compare-map-a", "2010-")
    wait_tiles(page, "compare-map-b", "2010-")
    srcs = page.eval_on_selector_all(
        "#compare-map-a img.leaflet-tile, #compare-map-b img.leaflet-tile",
        "imgs => imgs.map((i) => new URL(i.src).searchParams.get('rescale'))",
    )
    assert set(srcs) == {"271,305"}
    assert "ukmo-ostia-sst-monthly" in page.locator("#compare-map-a").evaluate(
        "n => n.querySelector('img.leaflet-tile').src"
    )
    shot(page, "compare-side-by-side", full_page=True)
    page.get_by_label("Difference A − B").check()
    wait_basemap(page, "compare-map-diff")
    wait_tiles(page, "compare-map-diff", "datetime_b=2010-")
    src = page.locator("#compare-map-diff img.leaflet-tile").first.get_attribute("src")
    query = dict(p.split("=", 1) for p in urlsplit(src).query.split("&"))
    assert query["a"] == "ukmo-ostia-sst-monthly%3Asst" and query["b"] == "noaa-ersst-v5%3Asst"
    shot(page, "compare-difference", full_page=True)
    guard.assert_clean()


def test_dataset_page_has_provenance_citation_and_snippets(
    laptop: tuple[Page, Guard], live_hub: str, samples: Path
) -> None:
    page, guard = laptop
    goto(page, live_hub, "#/dataset/noaa-ersst-v5")
    page.wait_for_selector("table")
    text = page.locator("main").inner_text()
    assert "10.7289/V5T72FNM" in text and "Huang" in text
    assert page.get_by_role("link", name="10.7289/V5T72FNM").get_attribute("href") == (
        "https://doi.org/10.7289/V5T72FNM"
    )
    source = samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc"
    checksum = "1220" + hashlib.sha256(source.read_bytes()).hexdigest()
    assert checksum in text and source.name in text
    assert f'xr.open_zarr("{live_hub}/zarr/noaa-ersst-v5", zarr_format=3)' in text
    assert "from spaceclimate.client import Hub" in text
    assert f"{live_hub}/edr/collections/noaa-ersst-v5/position?coords=POINT(" in text
    rows = page.locator("table").first.inner_text()
    assert "sst" in rows and "K" in rows and "sea_surface_temperature" in rows
    shot(page, "dataset-ersst", full_page=True)
    guard.assert_clean()


def test_download_builder_estimates_then_downloads_csv(
    laptop: tuple[Page, Guard], live_hub: str, settings: Settings
) -> None:
    page, guard = laptop
    goto(page, live_hub, f"#/download/{OSTIA}")
    page.wait_for_selector(".estimate[data-fits]")
    page.get_by_label("Box (lon/lat)").fill("-10,40,0,45")
    page.get_by_label("Box (lon/lat)").dispatch_event("change")
    for label in ("From", "To"):
        page.get_by_label(label, exact=True).fill("2017-06-06")
        page.get_by_label(label, exact=True).dispatch_event("change")
    page.get_by_label("sst_anomaly", exact=False).uncheck()
    page.get_by_label("CSV", exact=True).check()
    estimate = httpx.get(
        f"{live_hub}/download/{OSTIA}/estimate",
        params={
            "bbox": "-10,40,0,45",
            "datetime": "2017-06-06T00:00:00Z/2017-06-06T23:59:59Z",
            "variables": "sst",
            "format": "csv",
        },
    ).json()
    page.wait_for_selector(f".estimate[data-bytes='{estimate['estimate_bytes']}']")
    link = page.locator("a.download-link")
    assert "CSV" in link.inner_text()
    shot(page, "download-builder")
    with page.expect_download() as info:
        link.click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    sst = cube(settings, OSTIA)["sst"].sel(time="2017-06-06", lat=slice(40, 45), lon=slice(-10, 0))
    valid = sst.values[~np.isnan(sst.values)]
    got = np.array([float(r["sst [K]"]) for r in rows if r["sst [K]"] not in ("", "nan")])
    assert got.size == valid.size and got.size > 100
    assert np.sort(got) == pytest.approx(np.sort(valid), abs=1e-4)
    guard.assert_clean()


def test_too_large_download_is_explained(browser: Browser, hub_home: Path) -> None:
    url, proc = start_server(hub_home, env={"SCO_MAX_REQUEST_BYTES": "1000000"})
    try:
        context, page, guard = open_page(browser, url)
        goto(page, url, f"#/download/{OSTIA}")
        page.wait_for_selector(".estimate[data-fits='false']")
        explain = page.locator(".explain").inner_text()
        assert "413" in explain and "1.0 MB" in explain and "Narrow the box" in explain
        link = page.locator("a.download-link")
        assert link.get_attribute("href") is None and link.get_attribute("aria-disabled") == "true"
        shot(page, "download-too-large")
        page.get_by_label("Box (lon/lat)").fill("-10,40,0,45")
        page.get_by_label("Box (lon/lat)").dispatch_event("change")
        page.wait_for_selector(".estimate[data-fits='true']")
        assert link.get_attribute("href").startswith(f"/download/{OSTIA}?")
        guard.assert_clean()
        context.close()
    finally:
        stop_server(proc)


XSS_TITLE = 'Ozone <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'


def test_markup_in_metadata_is_shown_as_text(
    browser: Browser, tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spaceclimate.ingest import Ingestor

    recipes = tmp_path / "recipes"
    recipes.mkdir()
    recipe = yaml.safe_load((RECIPES / "esa-cci-ozone-tc.yaml").read_text(encoding="utf-8"))
    recipe.update(
        id="xss-ozone",
        title=XSS_TITLE,
        description='<b onmouseover="window.__xss=3">b</b><a href="javascript:__xss=4">a</a>',
        match=["never-matches-*.nc"],
        keywords=["<svg onload=window.__xss=5>"],
        citation="<iframe src=javascript:window.__xss=6></iframe>",
    )
    recipe["providers"][0]["url"] = "javascript:window.__xss=7"
    (recipes / "xss.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    monkeypatch.setenv("SCO_RECIPE_PATH", str(recipes))
    home = tmp_path / "hub"
    source = tmp_path / "o3.nc"
    shutil.copy(samples / "ozone" / "o3_esacci_total_column_merged_200505_subset.nc", source)
    ingestor = Ingestor(Settings(home=home))
    try:
        assert [r.status for r in ingestor.ingest([source], "xss-ozone")] == ["published"]
    finally:
        ingestor.close()
    url, proc = start_server(home)
    try:
        context, page, guard = open_page(browser, url)
        goto(page, url, "#/catalog")
        page.wait_for_selector(".results[data-count='1']")
        assert page.locator(".card h2").inner_text() == XSS_TITLE
        goto(page, url, "#/dataset/xss-ozone")
        page.wait_for_selector("table")
        page.locator(".description").hover()
        assert page.locator("h1").inner_text() == XSS_TITLE
        assert "<iframe" in page.locator(".citation").inner_text()
        provider = page.get_by_text("ESA Climate Change Initiative")
        assert provider.evaluate("n => n.tagName") == "SPAN"  # no javascript: link
        goto(page, url, "#/map/xss-ozone")
        wait_basemap(page, "viewer-map")
        wait_tiles(page, "viewer-map")
        assert page.evaluate("() => window.__xss") is None
        injected = "main img[src='x'], main script, main iframe, main svg[onload]"
        assert page.locator(injected).count() == 0
        shot(page, "xss-dataset-title-as-text")
        guard.assert_clean()
        context.close()
    finally:
        stop_server(proc)


def test_phone_sized_window_and_accessibility(browser: Browser, live_hub: str) -> None:
    context, page, guard = open_page(browser, live_hub, PHONE)
    try:
        for route, name in [("#/catalog", "phone-catalog"), (f"#/map/{OSTIA}", "phone-map")]:
            goto(page, live_hub, route)
            page.wait_for_load_state("networkidle")
            if route.startswith("#/map"):
                wait_basemap(page, "viewer-map")
                wait_tiles(page, "viewer-map")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{route}: the page scrolls sideways ({width} px)"
            problems = page.evaluate(ACCESSIBILITY_CHECK)
            assert problems == [], f"{route}: {problems}"
            shot(page, name)
        # the keyboard reaches the skip link first, and it moves focus to the content
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "skip-link"
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"
        guard.assert_clean()
    finally:
        context.close()


#: Labels, names, alt text and WCAG AA contrast of the visible controls and text.
ACCESSIBILITY_CHECK = """() => {
  const problems = [];
  const visible = (n) => n.offsetParent !== null || n.getClientRects().length > 0;
  for (const n of document.querySelectorAll("input, select, textarea")) {
    if (!visible(n) || n.type === "hidden") continue;
    const named = (n.labels && n.labels.length) || n.getAttribute("aria-label")
      || n.getAttribute("aria-labelledby");
    if (!named) problems.push(`unlabelled ${n.tagName} ${n.name || n.id}`);
  }
  for (const n of document.querySelectorAll("button, a[href]")) {
    const name = n.textContent.trim() || n.getAttribute("aria-label") || n.title;
    if (visible(n) && !name) problems.push(`nameless ${n.outerHTML.slice(0, 80)}`);
  }
  for (const n of document.querySelectorAll("main img")) {
    if (n.closest(".leaflet-container")) continue;
    if (n.getAttribute("alt") === null) problems.push(`no alt ${n.src}`);
  }
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const linear = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  const lum = (c) => c.map(linear).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (n) => {
    for (let e = n; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      const v = rgb(c);
      if (v.length < 4 || v[3] > 0.5) return v.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const texts = "main h1, main h2, main label, main p, main dt, main dd, main a, main button, "
    + "header a, main legend";
  for (const n of document.querySelectorAll(texts)) {
    if (!visible(n) || !n.textContent.trim() || n.closest(".leaflet-container")) continue;
    const fg = lum(rgb(getComputedStyle(n).color).slice(0, 3));
    const bg = lum(background(n));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const what = `${n.tagName} '${n.textContent.trim().slice(0, 30)}'`;
    if (ratio < 4.5 && !n.disabled) problems.push(`contrast ${ratio.toFixed(2)} for ${what}`);
  }
  if (!document.querySelector("main h1")) problems.push("no h1");
  return problems;
}"""
