"""An operation from a plugin appears everywhere the built-ins do, with no other edit.

``tests/plugins`` holds a distribution of its own (``sco_range_map`` and its dist-info) that
registers one operation, ``range-map``, under the ``spaceclimate.operations`` entry points.
With that folder on ``PYTHONPATH`` and nothing else changed, the operation is listed and
described at ``/processes``, has its own ``sco compute`` command with its inputs, is a method
of the Python client, and is offered by the portal's analysis panel; each run's values equal
an independent calculation on the source cube. Without the folder, it is nowhere.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import xarray as xr
from playwright.sync_api import Browser

from spaceclimate.client import Hub, HubBadRequest
from spaceclimate.config import Settings

from .conftest import start_server, stop_server
from .hubutil import run_sco
from .test_portal_browser import (
    browser,  # noqa: F401  (the module-scoped Chromium fixture)
    cube,
    goto,
    open_page,
    shot,
    wait_basemap,
    wait_tiles,
)

PLUGINS = Path(__file__).resolve().parent / "plugins"
MONTHLY = "ukmo-ostia-sst-monthly"


def _with_plugin() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


@pytest.fixture(scope="module")
def plugin_hub(hub_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the plugin on its path, on a private copy of the session hub."""
    home = tmp_path_factory.mktemp("plugin") / "hub"
    shutil.copytree(hub_home, home)
    url, proc = start_server(home, env=_with_plugin())
    try:
        yield url
    finally:
        stop_server(proc)


def expected_range(settings: Settings, variable: str = "sst") -> np.ndarray:
    """Maximum minus minimum over time, computed here with numpy on the source cube."""
    values = np.asarray(cube(settings, MONTHLY)[variable].values, dtype="float64")
    valid = np.isfinite(values).any(axis=0)  # land cells stay missing
    filled_max = np.where(np.isfinite(values), values, -np.inf).max(axis=0)
    filled_min = np.where(np.isfinite(values), values, np.inf).min(axis=0)
    return np.where(valid, filled_max - filled_min, np.nan)


def test_listed_and_described_at_processes(plugin_hub: str, live_hub: str) -> None:
    ids = [p["id"] for p in httpx.get(f"{plugin_hub}/processes").json()["processes"]]
    assert "range-map" in ids and "anomaly" in ids
    doc = httpx.get(f"{plugin_hub}/processes/range-map").json()
    assert doc["title"] == "Range over time of each cell"
    assert set(doc["inputs"]) == {"collection", "variable", "datetime"}
    assert doc["inputs"]["collection"]["minOccurs"] == 1
    assert doc["inputs"]["datetime"]["schema"]["x-sco-kind"] == "interval"
    assert doc["outputs"]["collection"]["sco:kind"] == "collection"
    # the session's own server has no such plugin on its path: nothing else names it
    plain = [p["id"] for p in httpx.get(f"{live_hub}/processes").json()["processes"]]
    assert "range-map" not in plain
    assert httpx.get(f"{live_hub}/processes/range-map").status_code == 404


def test_has_its_own_cli_command(hub_home: Path, tmp_path: Path, settings: Settings) -> None:
    listed = run_sco(hub_home, "compute", "--help", env=_with_plugin())
    assert listed.returncode == 0, listed.stderr
    assert "range-map" in listed.stdout and "Range over time of each cell" in listed.stdout
    helped = run_sco(hub_home, "compute", "range-map", "--help", env=_with_plugin())
    assert "--collection" in helped.stdout and "--datetime" in helped.stdout
    assert "range-map" not in run_sco(hub_home, "compute", "--help").stdout

    home = tmp_path / "hub"
    shutil.copytree(hub_home, home)
    ran = run_sco(home, "compute", "range-map", "-q", "--collection", MONTHLY, env=_with_plugin())
    assert ran.returncode == 0, ran.stderr
    derived = json.loads(ran.stdout)["collection"]
    assert derived["collection"].startswith(f"range-map-{MONTHLY}-")
    assert derived["variables"] == ["sst_range"]
    result = cube(Settings(home=home), derived["collection"])["sst_range"]
    np.testing.assert_allclose(result.values, expected_range(settings), rtol=1e-6, equal_nan=True)
    assert result.attrs["units"] == "K"
    bad = run_sco(home, "compute", "range-map", "--colour", "red", env=_with_plugin())
    assert bad.returncode != 0 and "colour" in bad.stderr


def test_is_a_method_of_the_client(plugin_hub: str) -> None:
    with Hub(plugin_hub) as hub:
        assert "range_map" in dir(hub.ops)
        method = hub.ops.range_map
        assert "collection : string" in (method.__doc__ or "")
        with pytest.raises(HubBadRequest, match="known: collection, variable, datetime"):
            method(collection=MONTHLY, colour="red")  # refused before anything is sent
        with pytest.raises(HubBadRequest, match="inputs.collection: required"):
            method(variable="sst")


@pytest.fixture(scope="module")
def settings(hub_home: Path) -> Settings:
    return Settings(home=hub_home)


def test_offered_by_the_portal_analysis_panel(
    browser: Browser,  # noqa: F811
    plugin_hub: str,
    settings: Settings,
) -> None:
    context, page, guard = open_page(browser, plugin_hub)
    try:
        goto(page, plugin_hub, f"#/map/{MONTHLY}")
        wait_basemap(page, "viewer-map")
        panel = page.get_by_role("group", name="Analysis")
        panel.get_by_label("Range map").check()
        # its only own input, the time range, is a From/Until pair; nothing else is asked
        assert panel.get_by_role("group", name="Time range (optional)").count() == 1
        run = panel.get_by_role("button", name="Compute the range map")
        run.click()
        page.wait_for_selector(
            f"#viewer-map[data-layer^='range-map-{MONTHLY}-'][data-layer$=':sst_range']"
        )
        wait_tiles(page, "viewer-map", "/tiles/range-map-")
        shot(page, "analysis-plugin-range-map")
        cid = page.locator("#viewer-map").get_attribute("data-layer").split(":")[0]
        result = xr.open_zarr(f"{plugin_hub}/zarr/{cid}")["sst_range"]
        np.testing.assert_allclose(
            result.values, expected_range(settings), rtol=1e-6, equal_nan=True
        )
        guard.assert_clean()
    finally:
        context.close()
