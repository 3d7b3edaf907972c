"""OGC API Processes and jobs against real servers: sync, async, cancel, crash, 413 → job."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import netCDF4
import numpy as np
import pytest
import shapely
import xarray as xr
from shapely.geometry import shape

from spaceclimate.client import Hub, HubNotFound, HubTooLarge
from spaceclimate.compute.regions import DATA as REGION_DATA

from .conftest import start_server, stop_server
from .hubutil import run_sco
from .profile import copy_hub

OSTIA = "ukmo-ostia-sst-daily"
OSTIA_FILES = [f"sst/sst_ostia_l4_anom_daily_2017060{d}.nc" for d in (5, 6, 7)]


def _wait(job_url: str, states: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
    """Poll a job at the URL the hub gave for it (its Location: with its access token)."""
    deadline = time.monotonic() + timeout
    while True:
        info = httpx.get(job_url).json()
        if info["status"] in states:
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.2)


def _access(created: httpx.Response) -> dict[str, str]:
    """The access token of a job created without an API key, as a query parameter."""
    return {"access": created.json()["sco:access"]}


@pytest.fixture()
def own_hub(tmp_path: Path, hub_home: Path) -> Path:
    """A private copy of the shared hub (these tests publish derived collections)."""
    home = tmp_path / "hub"
    copy_hub(hub_home, home)
    return home


def test_processes_are_described(live_hub: str) -> None:
    listing = httpx.get(f"{live_hub}/processes").json()
    ids = {p["id"] for p in listing["processes"]}
    assert {"area-mean", "trend", "anomaly", "sea-ice-extent", "compare", "subset"} <= ids
    desc = httpx.get(f"{live_hub}/processes/area-mean").json()
    assert desc["inputs"]["collection"]["minOccurs"] == 1
    assert "async-execute" in desc["jobControlOptions"]
    conf = httpx.get(f"{live_hub}/conformance").json()["conformsTo"]
    assert any("ogcapi-processes-1/1.0/conf/core" in c for c in conf)


def test_area_mean_over_ar6_region_equals_independent_calculation(
    live_hub: str, samples: Path
) -> None:
    out = httpx.post(
        f"{live_hub}/processes/area-mean/execution",
        json={"inputs": {"collection": OSTIA, "variable": "sst", "region": "NAO"}},
    )
    assert out.status_code == 200, out.text
    series = out.json()["series"]
    assert series["units"] == "K" and series["region"].startswith("ar6:NAO")
    regions = json.loads((REGION_DATA / "ar6_reference_regions.geojson").read_text())
    nao = next(f for f in regions["features"] if f["properties"]["abbrev"] == "NAO")
    polygon = shape(nao["geometry"])
    expected = []
    valid_anywhere: np.ndarray | None = None
    for rel in OSTIA_FILES:
        with netCDF4.Dataset(samples / rel) as nc:
            lat = np.asarray(nc.variables["lat"][:], dtype="float64")
            lon = np.asarray(nc.variables["lon"][:], dtype="float64")
            sst = np.ma.filled(nc.variables["analysed_sst"][0].astype("float64"), np.nan)
        lon = np.where(lon >= 180, lon - 360, lon)
        lon2, lat2 = np.meshgrid(lon, lat)
        inside = shapely.contains_xy(polygon, lon2, lat2)
        # exact spherical cell areas of a regular 0.25° grid are proportional to
        # sin(lat + 0.125°) - sin(lat - 0.125°)
        w = np.sin(np.deg2rad(lat2 + 0.125)) - np.sin(np.deg2rad(lat2 - 0.125))
        ok = inside & np.isfinite(sst)
        expected.append(float((sst[ok] * w[ok]).sum() / w[ok].sum()))
        assert series["n_cells_in_area"] == int(inside.sum())
        valid_anywhere = ok if valid_anywhere is None else valid_anywhere | ok
    assert valid_anywhere is not None
    assert series["n_cells"] == int(valid_anywhere.sum()) < series["n_cells_in_area"]
    np.testing.assert_allclose(series["values"], expected, rtol=0, atol=1e-4)


def test_nsidc_september_trend_through_the_api(live_hub: str) -> None:
    with Hub(live_hub) as hub:
        out = hub.execute(
            "trend",
            collection="nsidc-sea-ice-index-north",
            variable="sea_ice_extent",
            month=9,
            datetime="1979-01-01/2021-12-31",
            relative_to="1981/2010",
        )
    summary = out["summary"]
    assert summary["n"] == 43
    # NSIDC Sea Ice Index: September Arctic extent declines about 12.7-13 % per decade
    # relative to the 1981-2010 mean (NSIDC Arctic Sea Ice News, 2021).
    assert -13.6 < summary["slope"] < -12.0


def test_async_job_result_is_a_collection_opened_through_zarr(own_hub: Path) -> None:
    url, proc = start_server(own_hub)
    try:
        with Hub(url) as hub:
            monthly = "ukmo-ostia-sst-monthly"
            job = hub.submit("anomaly", collection=monthly, variable="sst", baseline="2007/2009")
            assert job.status == "accepted"
            results = job.wait(timeout=120)
            assert job.refresh()["status"] == "successful" and job.status_info["progress"] == 100
            cid = results["collection"]["collection"]
            stac = httpx.get(f"{url}/stac/collections/{cid}").json()
            assert stac["sco:derived_from"]["process"] == "anomaly"
            assert stac["sco:derived_from"]["inputs"] == [{"collection": monthly, "version": 1}]
            derived = xr.open_zarr(f"{url}/zarr/{cid}")
            source = hub.open(monthly)["sst"].load()
            base = source.sel(time=slice("2007-01-01", "2009-12-31"))
            clim = base.groupby("time.month").mean("time")  # independent: calendar-month means
            expected = source.groupby("time.month") - clim
            np.testing.assert_allclose(
                derived["sst_anomaly"].values, expected.values, atol=1e-4, equal_nan=True
            )
            again = hub.submit("anomaly", collection=monthly, variable="sst", baseline="2007/2009")
            assert again.wait(timeout=120)["collection"]["collection"] == cid  # same result
            tile = httpx.get(f"{url}/tiles/{cid}/sst_anomaly/0/0/0.png")
            assert tile.status_code == 200 and tile.content[:4] == b"\x89PNG"
    finally:
        stop_server(proc)


def test_cancel_queued_and_running_jobs(own_hub: Path) -> None:
    url, proc = start_server(own_hub, env={"SCO_JOB_DELAY": "1"})
    try:
        body = {"inputs": {"collection": OSTIA, "variable": "sst", "region": "NAO"}}
        headers = {"Prefer": "respond-async"}
        first = httpx.post(f"{url}/processes/area-mean/execution", json=body, headers=headers)
        second = httpx.post(f"{url}/processes/area-mean/execution", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        job_url = first.headers["location"]  # an OGC client follows it: it carries the token
        assert job_url.startswith(f"{url}/jobs/{first.json()['jobID']}?access=")
        _wait(job_url, ("running",))
        queued = httpx.delete(second.headers["location"]).json()
        assert queued["status"] == "dismissed"  # one runner thread: the second never started
        httpx.delete(job_url)
        ended = _wait(job_url, ("dismissed", "successful", "failed"))
        assert ended["status"] == "dismissed"
        gone = httpx.get(f"{url}/jobs/{first.json()['jobID']}/results", params=_access(first))
        assert gone.status_code == 409
    finally:
        stop_server(proc)


def test_killed_server_leaves_job_resumable_never_lost(own_hub: Path) -> None:
    url, proc = start_server(own_hub, env={"SCO_JOB_DELAY": "2"})
    body = {"inputs": {"collection": OSTIA, "variable": "sst", "region": "NAO"}}
    try:
        submitted = httpx.post(
            f"{url}/processes/area-mean/execution", json=body, headers={"Prefer": "respond-async"}
        )
        created = submitted.json()
        job_path = submitted.headers["location"].removeprefix(url)  # with its access token
        _wait(url + job_path, ("running",))
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the server dies mid-job
        proc.wait()
    listed = run_sco(own_hub, "jobs", "show", created["jobID"])
    assert json.loads(listed.stdout)["status"] == "running"  # as the dead server left it
    url, proc = start_server(own_hub)
    try:
        done = _wait(url + job_path, ("successful", "failed"), timeout=120)
        assert done["status"] == "successful", done
        assert done["sco:attempts"] == 2
        results_link = next(lk for lk in done["links"] if lk["rel"].endswith("/results"))
        result = httpx.get(results_link["href"]).json()
        assert len(result["series"]["values"]) == 3
    finally:
        stop_server(proc)


def test_too_large_for_sync_is_submitted_as_job(own_hub: Path) -> None:
    url, proc = start_server(own_hub, env={"SCO_MAX_REQUEST_BYTES": "2000000"})
    try:
        with Hub(url) as hub:
            with pytest.raises(HubTooLarge) as big:
                hub.download(OSTIA, own_hub / "x.nc")
            assert big.value.estimate_bytes and big.value.estimate_bytes > 2_000_000
            with pytest.raises(HubTooLarge) as sync:
                hub.execute("subset", collection=OSTIA, variables=["sst"])
            assert "respond-async" in sync.value.detail
            job = hub.submit("subset", collection=OSTIA, variables=["sst"], bbox=[-40, 30, -20, 50])
            results = job.wait(timeout=120)
            assert results["file"]["name"].endswith(".nc")
            data = httpx.get(results["file"]["href"])
            assert data.status_code == 200
            target = own_hub / "subset.nc"
            target.write_bytes(data.content)
            with xr.open_dataset(target) as ds:
                assert ds.sizes["time"] == 3
                remote = hub.open(OSTIA)["sst"].sel(lat=slice(30, 50), lon=slice(-40, -20))
                np.testing.assert_allclose(ds["sst"].values, remote.values, equal_nan=True)
    finally:
        stop_server(proc)


def test_bad_inputs_are_4xx(live_hub: str) -> None:
    def run(process: str, inputs: Any) -> httpx.Response:
        return httpx.post(f"{live_hub}/processes/{process}/execution", json={"inputs": inputs})

    assert run("no-such", {}).status_code == 404
    r = run("area-mean", {"collection": OSTIA, "region": "NAO", "colour": "red"})
    assert r.status_code == 400 and "colour" in r.json()["detail"]
    r = run("area-mean", {"collection": OSTIA, "bbox": [1, 2, 3]})
    assert r.status_code == 400 and "bbox" in r.json()["detail"]
    r = run("area-mean", {"collection": "nope", "region": "NAO"})
    assert r.status_code == 404 and OSTIA in r.json()["detail"]
    r = run("area-mean", {"collection": OSTIA, "region": "Atlantis"})
    assert r.status_code == 404 and "Atlantis" in r.json()["detail"]
    r = run("trend", {"collection": OSTIA, "method": "magic"})
    assert r.status_code == 400
    assert httpx.get(f"{live_hub}/jobs/0000").status_code == 404
    with Hub(live_hub) as hub, pytest.raises(HubNotFound):
        hub.job("0000")
    regions = httpx.get(f"{live_hub}/regions").json()["regions"]
    assert {"ar6:NAO", "country:FRA"} <= {r["id"] for r in regions}
    feature = httpx.get(f"{live_hub}/regions/FRA").json()
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_cli_compute_and_jobs(hub_home: Path, tmp_path: Path) -> None:
    proc = run_sco(
        hub_home, "compute", "sea-ice-extent", "-q", "-i", "collection=nsidc-seaice-cdr-nh-monthly"
    )
    assert proc.returncode == 0, proc.stderr
    extent = json.loads(proc.stdout)["series"]["variables"]["sea_ice_extent"]
    assert extent["units"] == "1e6 km2" and 11.5 < extent["values"][0] < 13.5
    bad = run_sco(hub_home, "compute", "area-mean", "-i", "collection=nope", "-i", "region=NAO")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    listed = run_sco(hub_home, "jobs", "list", "--json")
    assert listed.returncode == 0 and isinstance(json.loads(listed.stdout), list)
    missing = run_sco(hub_home, "jobs", "cancel", "0000")
    assert missing.returncode == 2


@pytest.fixture(autouse=True)
def _no_leftover_servers() -> Iterator[None]:
    yield
