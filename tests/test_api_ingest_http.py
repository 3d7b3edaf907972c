"""Publishing over HTTP: POST /ingest of uploaded files and of URLs, run as jobs."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from fastapi.testclient import TestClient

from spaceclimate.api import create_app
from spaceclimate.catalog import open_catalog
from spaceclimate.config import Settings
from spaceclimate.ingest import Ingestor

from .opshub import SAMPLES, bearer, make_key, sha256_file, small_hub, snapshot, wait_for_job

SM_DAY = SAMPLES / "soil_moisture" / "sm_esacci_combined_v02.2_20000101.nc"
SM_NEXT = SAMPLES / "soil_moisture" / "sm_esacci_combined_v02.2_19781114.nc"
SM = "esa-cci-sm-combined"


@pytest.fixture()
def hub(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_hub(tmp_path, tmp_path_factory.getbasetemp())


@pytest.fixture()
def api(hub: Path) -> Iterator[TestClient]:
    # the file server of these tests is on loopback, which the hub refuses unless allowed
    settings = Settings(home=hub, job_workers=1, fetch_allow_networks="127.0.0.1/32")
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture()
def esa(hub: Path) -> dict[str, str]:
    return bearer(make_key(hub, "provider:ESA", name="ESA ops")[1])


@pytest.fixture(scope="module")
def file_server() -> Iterator[str]:
    """A local HTTP server of the bundled samples (the URLs a provider would give)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SAMPLES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_upload_is_ingested_by_a_job(
    api: TestClient, hub: Path, esa: dict[str, str], tmp_path: Path
) -> None:
    files = [("files", (p.name, p.read_bytes())) for p in (SM_DAY, SM_NEXT)]
    r = api.post("/ingest", files=files, headers=esa)
    assert r.status_code == 201, r.text
    job_id = r.json()["jobID"]
    assert r.headers["location"].endswith(f"/jobs/{job_id}")
    assert r.json()["processID"] == "ingest"
    done = wait_for_job(api, job_id, headers=esa)
    assert done["status"] == "successful", done
    results = api.get(f"/jobs/{job_id}/results", headers=esa).json()
    assert results["collections"] == [
        {
            "id": SM,
            "status": "published",
            "version": 1,
            "files": sorted([SM_DAY.name, SM_NEXT.name]),
            "href": f"http://testserver/stac/collections/{SM}",
        }
    ]
    # the version records the uploaded bytes (sha256 of the sample files)
    catalog = open_catalog(Settings(home=hub).resolved_catalog_url)
    version = catalog.latest_version(SM)
    catalog.close()
    assert version is not None
    assert {s.name: s.sha256 for s in version.sources} == {
        SM_DAY.name: sha256_file(SM_DAY),
        SM_NEXT.name: sha256_file(SM_NEXT),
    }
    items = api.get(f"/stac/collections/{SM}/items").json()["features"]
    assert sorted(i["id"] for i in items) == sorted([SM_DAY.stem, SM_NEXT.stem])
    # the cube holds what the command-line ingest of the same files makes
    ingestor = Ingestor(Settings(home=tmp_path / "cli-hub"))
    try:
        [reference] = ingestor.ingest([SM_DAY, SM_NEXT])
    finally:
        ingestor.close()
    ours = xr.open_zarr(hub / "store" / version.cube_href)
    theirs = xr.open_zarr(tmp_path / "cli-hub" / "store" / reference.cube_href)
    for name in theirs.data_vars:
        np.testing.assert_array_equal(ours[name].values, theirs[name].values)
    # ingesting the same file again changes nothing
    r = api.post("/ingest", files=files[:1], headers=esa)
    again = wait_for_job(api, r.json()["jobID"], headers=esa)
    assert again["status"] == "successful"
    summary = api.get(f"/jobs/{again['jobID']}/results", headers=esa).json()["collections"][0]
    assert (summary["status"], summary["version"]) == ("unchanged", 1)
    assert not (hub / "uploads" / again["jobID"]).exists()  # nothing refers to those files
    # the audit log has the submission and the publication, with the key and the job
    admin = bearer(make_key(hub, "admin")[1])
    entries = api.get("/admin/audit", params={"job": job_id}, headers=admin).json()["entries"]
    assert [(e["action"], e["collection_id"], e["version"]) for e in entries] == [
        ("ingest.publish", SM, 1),
        ("ingest.submit", None, None),
    ]
    assert {e["key_name"] for e in entries} == {"ESA ops"}
    assert {e["client"] for e in entries} == {"testclient"}


def test_urls_are_fetched_by_the_job(
    api: TestClient, hub: Path, esa: dict[str, str], file_server: str
) -> None:
    url = f"{file_server}/soil_moisture/{SM_NEXT.name}"
    r = api.post("/ingest", json={"urls": [url + "?token=s3cr3t"]}, headers=esa)
    assert r.status_code == 201, r.text
    assert "s3cr3t" not in r.text  # URLs are shown without their query (it may hold a token)
    assert r.json()["sco:inputs"]["urls"] == [url]
    done = wait_for_job(api, r.json()["jobID"], headers=esa)
    assert done["status"] == "successful", done
    assert "s3cr3t" not in str(api.get(f"/jobs/{done['jobID']}", headers=esa).json())
    out = api.get(f"/jobs/{done['jobID']}/results", headers=esa).json()["collections"]
    assert [(o["id"], o["status"], o["version"]) for o in out] == [(SM, "published", 1)]
    catalog = open_catalog(Settings(home=hub).resolved_catalog_url)
    version = catalog.latest_version(SM)
    catalog.close()
    assert version is not None
    assert [(s.name, s.sha256) for s in version.sources] == [(SM_NEXT.name, sha256_file(SM_NEXT))]
    uploads = hub / "uploads" / done["jobID"]
    assert not (uploads / "request.json").exists()  # the private part is gone
    assert sha256_file(uploads / "files" / SM_NEXT.name) == sha256_file(SM_NEXT)  # the source
    # a URL that does not answer 200 fails the job with the reason; the hub is unchanged
    snap = snapshot(hub)
    missing = f"{file_server}/ozone/o3_esacci_total_column_merged_209901_subset.nc"
    r = api.post("/ingest", json={"urls": [missing]}, headers=esa)
    failed = wait_for_job(api, r.json()["jobID"], headers=esa)
    assert failed["status"] == "failed"
    assert failed["message"] == f"{missing}: the source could not be fetched"  # no status
    after = snapshot(hub)
    assert after[0] == snap[0]
    assert after[1]["sco_collections"] == snap[1]["sco_collections"]
    assert after[1]["sco_items"] == snap[1]["sco_items"]


def test_a_bad_file_fails_the_job_and_changes_nothing(
    api: TestClient, hub: Path, esa: dict[str, str]
) -> None:
    good = SAMPLES / "ozone" / "o3_esacci_total_column_merged_200505_subset.nc"
    truncated = good.read_bytes()[:5000]
    before = snapshot(hub)
    files = [
        ("files", (SM_DAY.name, SM_DAY.read_bytes())),  # fine, but in the same submission
        ("files", ("o3_esacci_total_column_merged_200506_subset.nc", truncated)),
    ]
    r = api.post("/ingest", files=files, headers=esa)
    assert r.status_code == 201
    failed = wait_for_job(api, r.json()["jobID"], headers=esa)
    assert failed["status"] == "failed"
    message = failed["message"]
    assert "o3_esacci_total_column_merged_200506_subset.nc" in message and "\n" not in message
    after = snapshot(hub)
    assert after[0] == before[0]  # no cube, no upload left
    for table in ("sco_collections", "sco_collection_versions", "sco_items", "sco_api_keys"):
        assert after[1][table] == before[1][table], table
    new_audit = [row for row in after[1]["sco_audit"] if row not in before[1]["sco_audit"]]
    assert sorted(row[2] for row in new_audit) == ["ingest.fail", "ingest.submit"]
    assert api.get(f"/stac/collections/{SM}").status_code == 404


def test_submissions_are_checked_before_anything_is_saved(
    api: TestClient, hub: Path, esa: dict[str, str]
) -> None:
    before = snapshot(hub)
    cases = [
        ({"files": [("files", (".hidden.nc", b"x"))]}, 400, "file name"),
        ({"files": [("files", ("no_recipe_matches.nc", b"x"))]}, 400, "no recipe matches"),
        ({"files": [("other", ("a.nc", b"x"))]}, 400, "files"),
        ({"json": {"urls": []}}, 400, "urls"),
        ({"json": {"urls": ["ftp://example.org/a.nc"]}}, 400, "http(s)"),
        ({"json": {"urls": ["https://example.org/a.nc"], "extra": 1}}, 400, "unknown field"),
        ({"json": [1, 2]}, 400, "request body"),
        ({"content": b"x", "headers": {"content-type": "text/plain"}}, 400, "Content-Type"),
        ({"json": {"urls": ["https://x.org/a.nc"], "recipe": "nope"}}, 400, "nope"),
    ]
    for kwargs, status, fragment in cases:
        headers = {**esa, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        r = api.post("/ingest", headers=headers, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == status, (kwargs, r.text)
        assert fragment in r.json()["detail"], r.json()
    assert snapshot(hub) == before


def test_url_prefixes_restrict_what_is_fetched(hub: Path, esa: dict[str, str]) -> None:
    settings = Settings(home=hub, job_workers=0, ingest_url_prefixes="https://data.esa.int/")
    with TestClient(create_app(settings)) as c:
        ok = c.post(
            "/ingest", json={"urls": [f"https://data.esa.int/cci/{SM_DAY.name}"]}, headers=esa
        )
        assert ok.status_code == 201  # queued (no runner here)
        r = c.post("/ingest", json={"urls": [f"http://127.0.0.1/{SM_DAY.name}"]}, headers=esa)
        assert r.status_code == 400 and "allowed prefix" in r.json()["detail"]
        assert c.get(f"/jobs/{ok.json()['jobID']}", headers=esa).json()["status"] == "accepted"
