"""The portal's places: a point's dossier, a territory's dossier, a match-up with its plots and
an indicator run, in a real browser, each figure equal to what the API answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from .conftest import start_server, stop_server
from .hubutil import run_sco
from .profile import copy_hub
from .test_portal_browser import (
    browser,  # noqa: F401  (the module-scoped Chromium fixture)
    goto,
    open_page,
    shot,
)

PACIFIC = '{"type":"Polygon","coordinates":[[[-171,-5],[-119,-5],[-119,5],[-171,5],[-171,-5]]]}'


@pytest.fixture(scope="module")
def places_hub(
    tmp_path_factory: pytest.TempPathFactory, hub_home: Path
) -> Iterator[tuple[str, str]]:
    """A live copy of the shared hub with one published territory: (URL, territory id)."""
    home = tmp_path_factory.mktemp("places") / "hub"
    copy_hub(hub_home, home)
    outline = home.parent / "pacific.json"
    outline.write_text(PACIFIC)
    made = run_sco(
        home,
        "territory",
        "add",
        "--name",
        "Equatorial Pacific",
        "--geojson",
        str(outline),
        "--publish",
    )
    assert made.returncode == 0, made.stderr
    url, proc = start_server(home)
    try:
        yield url, made.stdout.split()[2]
    finally:
        stop_server(proc)


def test_the_places_page_lists_territories_and_reads_a_point_dossier(
    browser: Browser,  # noqa: F811
    places_hub: tuple[str, str],
) -> None:
    url, territory = places_hub
    context, page, guard = open_page(browser, url)
    goto(page, url, "#/places")
    page.wait_for_selector(".places-list[data-count='1']")
    assert page.locator(".places-list a").inner_text() == "Equatorial Pacific"
    page.fill("#dossier-lon", "-30")
    page.fill("#dossier-lat", "45")
    page.click("button:text-is('Read the dossier')")
    page.wait_for_selector(".dossier-table[data-rows]")
    expected = httpx.get(f"{url}/dossier", params={"lon": -30, "lat": 45}, timeout=60).json()
    rows = sum(len(c["variables"]) for c in expected["collections"])
    assert page.locator(".dossier-table").get_attribute("data-rows") == str(rows)
    assert "NOAA ERSST" in page.locator(".dossier-table").inner_text()
    assert "lon=-30" in page.url and "lat=45" in page.url  # the address keeps the point
    shot(page, "places-point")
    guard.assert_clean()
    context.close()


def test_a_territory_page_shows_its_dossier_a_matchup_and_an_indicator(
    browser: Browser,  # noqa: F811
    places_hub: tuple[str, str],
) -> None:
    url, territory = places_hub
    context, page, guard = open_page(browser, url)
    goto(page, url, f"#/places/{territory}")
    page.wait_for_selector(".dossier-table[data-rows]")
    assert "NOAA ERSST v5" in page.locator(".dossier-table").inner_text()
    page.select_option("#match-local", "collection:noaa-ersst-v5")
    page.select_option("#match-product", "ukmo-ostia-sst-monthly")
    page.select_option("#match-method", "area")
    page.click("button:text-is('Match')")
    page.wait_for_selector(".match-plots[data-loaded]", timeout=60_000)
    api = httpx.get(
        f"{url}/territories/{territory}/matchups",
        timeout=60,
        params={
            "local": "collection:noaa-ersst-v5",
            "collection": "ukmo-ostia-sst-monthly",
            "method": "area",
        },
    ).json()["matchups"][0]["statistics"]
    shown = page.locator(".match-table").inner_text()
    assert page.locator(".match-result").get_attribute("data-pairs") == str(api["n"]) == "9"
    assert f"{api['correlation']:.3f}" in shown
    widths = page.eval_on_selector_all(".match-plot", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == 2 and all(w > 300 for w in widths)  # both plots drawn
    page.select_option("#indicator-choice", "sst-warming-trend")
    page.click("button:text-is('Run')")
    page.wait_for_selector(".indicator-result[data-indicator='sst-warming-trend']", timeout=60_000)
    run = httpx.post(
        f"{url}/processes/sst-warming-trend/execution",
        timeout=120,
        json={"inputs": {"territory": territory}},
    ).json()["summary"]
    value = page.locator(".indicator-value").inner_text()
    assert value.startswith(f"{run['slope']:+.3g}")
    assert "version 1.0.0" in page.locator(".provenance").inner_text()
    shot(page, "places-territory", full_page=True)
    guard.assert_clean()
    context.close()
    # the same page in French
    context, page, guard = open_page(browser, url)
    page.goto(f"{url}/?lang=fr#/places/{territory}")
    page.wait_for_selector(".dossier-table[data-rows]")
    assert "Dossier : tous les jeux de données sur le territoire" in page.inner_text("main")
    assert page.locator("nav [data-nav='places']").inner_text() == "Territoires"
    guard.assert_clean()
    context.close()
