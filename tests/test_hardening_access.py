"""Hostile requests on access: the attacks of a probe on loopback, each refused.

D3: anyone could list every job and cancel it (a provider's ingest, another user's analytics).
D8: job messages showed the server's absolute paths, the submitting key's id and internal
addresses. D9: the request's ``Host`` went into every link (cache poisoning behind a shared
cache). D10: ``sco verify`` said ok while a cube held a symbolic link to ``/etc``, and a cube
reached through a link out of the store was served. D11: a NOAA key could create a collection
naming ESA as co-provider, which ESA keys could then write and users saw credited to ESA.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from spaceclimate.access import Access
from spaceclimate.api import create_app
from spaceclimate.api.hosts import TrustedHosts, host_name
from spaceclimate.client import Hub, HubError
from spaceclimate.config import Settings
from spaceclimate.jobs import JobStore
from spaceclimate.jobs.public import public_message

from .conftest import start_server, stop_server
from .hubutil import run_sco
from .opshub import SMALL, bearer, make_key, small_hub, snapshot, wait_for_job

OZONE = "esa-cci-ozone-tc"
SEAICE = "nsidc-seaice-cdr-nh-monthly"
AREA_MEAN = {"inputs": {"collection": OZONE, "bbox": [20, 20, 30, 30]}}
ASYNC = {"Prefer": "respond-async"}


@pytest.fixture()
def hub(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_hub(tmp_path, tmp_path_factory.getbasetemp())


@pytest.fixture()
def keys(hub: Path) -> dict[str, dict[str, str]]:
    """Authorization headers of an ESA and a NOAA provider key and of an admin key."""
    return {
        "esa": bearer(make_key(hub, "provider:ESA", name="ESA ops")[1]),
        "noaa": bearer(make_key(hub, "provider:NOAA", name="NOAA ops")[1]),
        "admin": bearer(make_key(hub, "admin", name="operators")[1]),
    }


def _status(job_url: str, **request: Any) -> str:
    return str(httpx.get(job_url, **request).json()["status"])


# -- D3: jobs belong to their submitter --------------------------------------------------------
def test_d3_only_the_submitter_or_an_admin_sees_and_cancels_a_job(
    hub: Path, keys: dict[str, dict[str, str]]
) -> None:
    """The probe: list /jobs anonymously, then DELETE every job id it shows."""
    url, proc = start_server(hub, env={"SCO_JOB_WORKERS": "0"})  # jobs stay queued
    try:
        ozone = SMALL[0]
        ingest = httpx.post(
            f"{url}/ingest",
            files=[("files", (ozone.name, ozone.read_bytes()))],
            headers=keys["esa"],
            timeout=60,
        )
        assert ingest.status_code == 201, ingest.text
        provider_job = ingest.json()["jobID"]
        execution = f"{url}/processes/area-mean/execution"
        mine = httpx.post(execution, json=AREA_MEAN, headers=ASYNC, timeout=60)
        theirs = httpx.post(execution, json=AREA_MEAN, headers=ASYNC, timeout=60)
        assert mine.status_code == theirs.status_code == 201
        user_job, other_job = mine.json()["jobID"], theirs.json()["jobID"]

        # the probe's listing shows no one's jobs, and its cancels are refused (401)
        assert httpx.get(f"{url}/jobs").json()["jobs"] == []
        for job_id in (provider_job, user_job):
            for method in ("DELETE", "GET"):
                r = httpx.request(method, f"{url}/jobs/{job_id}")
                assert r.status_code == 401, (method, job_id, r.text)
                assert r.headers["www-authenticate"].startswith("Bearer")
            assert httpx.get(f"{url}/jobs/{job_id}/results").status_code == 401
        # the anonymous submitter's job URL carries its access token
        token = mine.json()["sco:access"]
        assert len(token) >= 43 and token != theirs.json()["sco:access"]
        job_url = mine.headers["location"]
        assert job_url == f"{url}/jobs/{user_job}?access={token}"
        assert [lk["href"] for lk in mine.json()["links"] if lk["rel"] == "self"] == [job_url]
        # another anonymous client's token does not open this job; a made-up one neither
        for wrong in (theirs.json()["sco:access"], "x" * 43):
            r = httpx.delete(f"{url}/jobs/{user_job}", params={"access": wrong})
            assert r.status_code == 401
        # another key: 403, and it lists only its own jobs (none)
        for job_id in (provider_job, user_job):
            r = httpx.delete(f"{url}/jobs/{job_id}", headers=keys["noaa"])
            assert r.status_code == 403, r.text
        assert httpx.get(f"{url}/jobs", headers=keys["noaa"]).json()["jobs"] == []
        assert httpx.get(f"{url}/jobs", headers={"Authorization": "Bearer sco_x"}).status_code == (
            401
        )
        for job_id in (provider_job, user_job, other_job):
            assert _status(f"{url}/jobs/{job_id}", headers=keys["admin"]) == "accepted"

        # the owners: the provider's key, the anonymous client by its job's links
        listed = httpx.get(f"{url}/jobs", headers=keys["esa"]).json()["jobs"]
        assert [j["jobID"] for j in listed] == [provider_job]
        assert _status(job_url) == "accepted"
        assert httpx.delete(job_url).json()["status"] == "dismissed"
        r = httpx.delete(f"{url}/jobs/{provider_job}", headers=keys["esa"])
        assert r.status_code == 200 and r.json()["status"] == "dismissed"
        # an admin lists and cancels anyone's
        every = httpx.get(f"{url}/jobs", headers=keys["admin"]).json()["jobs"]
        assert {j["jobID"] for j in every} == {provider_job, user_job, other_job}
        r = httpx.delete(f"{url}/jobs/{other_job}", headers=keys["admin"])
        assert r.status_code == 200 and r.json()["status"] == "dismissed"

        # the machine's own operator sees every job
        listed_cli = run_sco(hub, "jobs", "list", "--json")
        assert listed_cli.returncode == 0, listed_cli.stderr
        assert {j["id"] for j in json.loads(listed_cli.stdout)} == {
            provider_job,
            user_job,
            other_job,
        }
    finally:
        stop_server(proc)


def test_d3_clients_keep_their_jobs_token(hub: Path) -> None:
    """The Python client and a job's links (result file included) carry the access token."""
    url, proc = start_server(hub)
    try:
        with Hub(url) as client:
            job = client.submit("area-mean", collection=OZONE, bbox=[20, 20, 30, 30])
            assert job.access
            results = job.wait(timeout=120)
            assert results["series"]["n_cells"] > 0
            with Hub(url) as stranger, pytest.raises(HubError) as refused:
                stranger.job(job.id)
            assert refused.value.status == 401
            with Hub(url) as same:
                assert same.job(job.id, access=job.access).status == "successful"
        done = httpx.get(f"{url}/jobs/{job.id}", params={"access": job.access}).json()
        results_link = next(lk["href"] for lk in done["links"] if lk["rel"].endswith("/results"))
        assert f"access={job.access}" in results_link
        assert httpx.get(results_link).status_code == 200
        assert httpx.get(results_link.split("?")[0]).status_code == 401
        # a synchronous execution is a job too: its Location carries its token
        sync = httpx.post(f"{url}/processes/area-mean/execution", json=AREA_MEAN, timeout=60)
        assert sync.status_code == 200
        assert _status(sync.headers["location"]) == "successful"
        assert httpx.get(sync.headers["location"].split("?")[0]).status_code == 401
    finally:
        stop_server(proc)


def test_d3_openapi_declares_the_new_answers(hub: Path) -> None:
    with TestClient(create_app(Settings(home=hub, job_workers=0))) as api:
        paths = api.get("/api").json()["paths"]
    for path, method in (
        ("/jobs/{job_id}", "get"),
        ("/jobs/{job_id}", "delete"),
        ("/jobs/{job_id}/results", "get"),
        ("/jobs/{job_id}/results/file", "get"),
    ):
        operation = paths[path][method]
        assert {"401", "403"} <= set(operation["responses"]), (path, method)
        assert "access" in {p["name"] for p in operation["parameters"]}
        assert {} in operation["security"] and {"apiKey": []} in operation["security"]
    for path, method in (("/jobs", "get"), ("/processes/{process_id}/execution", "post")):
        assert "401" in paths[path][method]["responses"]
        assert {} in paths[path][method]["security"]


# -- D8: job messages without the server's internals ---------------------------------------------
def _leaks(text: str, hub: Path, *secrets: str) -> list[str]:
    found = [s for s in (str(hub), str(hub.resolve()), "/uploads/", *secrets) if s in text]
    return found + [f"{socket.gethostname()}:" for _ in range(text.count(socket.gethostname()))]


def test_d8_job_messages_name_no_server_path_key_or_address(
    hub: Path, keys: dict[str, dict[str, str]]
) -> None:
    esa_id = keys["esa"]["Authorization"].split("_")[1]
    truncated = SMALL[0].read_bytes()[:5000]
    name = "o3_esacci_total_column_merged_200506_subset.nc"
    with TestClient(create_app(Settings(home=hub, job_workers=1))) as api:
        r = api.post("/ingest", files=[("files", (name, truncated))], headers=keys["esa"])
        assert r.status_code == 201
        assert esa_id not in r.text
        failed = wait_for_job(api, r.json()["jobID"], headers=keys["esa"])
        assert failed["status"] == "failed"
        assert name in failed["message"], failed["message"]  # the reason stays
        shown = json.dumps(failed)
        assert _leaks(shown, hub, esa_id) == [], shown
        for listed in api.get("/jobs", headers=keys["admin"]).json()["jobs"]:
            assert _leaks(json.dumps(listed), hub, esa_id) == []

    # a key revoked before its job ran: the message says so without naming it
    ingest_app = create_app(Settings(home=hub, job_workers=0))
    with TestClient(ingest_app) as api:
        ozone = SMALL[0]
        r = api.post(
            "/ingest", files=[("files", (ozone.name, ozone.read_bytes()))], headers=keys["esa"]
        )
        queued = r.json()["jobID"]
    access = Access(Settings(home=hub))
    try:
        access.keys.revoke(esa_id)
    finally:
        access.close()
    with TestClient(create_app(Settings(home=hub, job_workers=1))) as api:
        done = wait_for_job(api, queued, headers=keys["admin"])
    assert done["status"] == "failed" and "revoked" in done["message"]
    assert _leaks(json.dumps(done), hub, esa_id) == [], done

    # messages the hub's services write: a scheduler's address, a runner, an unexpected error
    scheduler = "tcp://10.20.30.40:8786"
    jobs = JobStore(Settings(home=hub).resolved_catalog_url)
    try:
        made = jobs.create("area-mean", {"collection": OZONE}, 60, submitter="anonymous")
        jobs.finish(
            made.id,
            "failed",
            f"SCO_DASK_SCHEDULER: no Dask scheduler answers at {scheduler} (Timed out trying "
            f"to connect to {scheduler} after 20 s); cube {hub}/store/{OZONE}/x.zarr; owner "
            f"{socket.gethostname()}:4242; catalog sqlite:///{hub}/catalog.db",
        )
    finally:
        jobs.close()
    with TestClient(create_app(Settings(home=hub, job_workers=0, dask_scheduler=scheduler))) as api:
        message = api.get(f"/jobs/{made.id}", headers=keys["admin"]).json()["message"]
    assert "10.20.30.40" not in message and "8786" not in message, message
    assert _leaks(message, hub) == [], message
    assert f"store/{OZONE}/x.zarr" in message  # relative to the hub


def test_d8_public_message_rewrites() -> None:
    home = Path("/srv/hub-home")
    settings = Settings(home=home, redis_url="redis://cache.internal:6379/0")
    cases = {
        f"x.nc: cannot read ('{home}/uploads/ab/files/x.nc')": (
            "x.nc: cannot read ('uploads/ab/files/x.nc')"
        ),
        "/etc/shadow: no such file or folder": "shadow: no such file or folder",
        "key 0123456789ab (ESA ops: provider:ESA) may not publish 'x' (of ESA)": (
            "The submitting key may not publish 'x' (of ESA)"
        ),
        "leaked sco_0123456789ab_abcdefghijklmnopqrstuvwxyz0123": "leaked [API key]",
        "counters at redis://cache.internal:6379/0 failed": "counters at [counter store] failed",
        "https://data.example.org:8443/a/b.nc: HTTP 404": (  # the client's own URL
            "https://data.example.org:8443/a/b.nc: HTTP 404"
        ),
        "mean of 1/2 of the cells": "mean of 1/2 of the cells",
        "file:///data/incoming/y.nc missing": "y.nc missing",
    }
    for given, shown in cases.items():
        assert public_message(given, settings) == shown


# -- D9: links never name an untrusted Host ---------------------------------------------------
def _hrefs(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        found = [doc["href"]] if isinstance(doc.get("href"), str) else []
        return found + [h for v in doc.values() for h in _hrefs(v)]
    if isinstance(doc, list):
        return [h for v in doc for h in _hrefs(v)]
    return []


def test_d9_a_forged_host_never_reaches_links(hub: Path) -> None:
    url, proc = start_server(hub)
    port = url.rsplit(":", 1)[1]
    evil = {"Host": "evil.example"}
    try:
        for path in ("/", "/stac", f"/stac/collections/{OZONE}", f"/zarr/{OZONE}", "/processes"):
            forged = httpx.get(f"{url}{path}", headers=evil, timeout=60)  # /processes: cold
            assert forged.status_code == 200, (path, forged.text)
            assert "evil.example" not in forged.text, path
            links = [h for h in _hrefs(forged.json()) if h.startswith("http://")]  # the hub's
            assert links and all(h.startswith(url) for h in links), (path, links[:3])
            # a shared cache sees the same answer whatever Host it was asked with
            assert forged.content == httpx.get(f"{url}{path}").content, path
        job = httpx.post(
            f"{url}/processes/area-mean/execution",
            json=AREA_MEAN,
            headers={**ASYNC, **evil},
            timeout=60,
        )
        assert job.headers["location"].startswith(f"{url}/jobs/")
        # trusted names still make the links (make demo on localhost, any port)
        local = httpx.get(f"http://localhost:{port}/stac").json()
        assert all(h.startswith(f"http://localhost:{port}") for h in _hrefs(local))
        v6 = httpx.get(f"{url}/stac", headers={"Host": f"[::1]:{port}"}).json()
        assert all(h.startswith(f"http://[::1]:{port}") for h in _hrefs(v6))
    finally:
        stop_server(proc)


def test_d9_trusted_hosts_and_public_url(hub: Path) -> None:
    trusted = Settings(home=hub, job_workers=0, trusted_hosts="hub.example.org,*.sco.example")
    with TestClient(create_app(trusted)) as api:
        for host in ("hub.example.org", "eu.sco.example:8443"):
            links = _hrefs(api.get("/stac", headers={"Host": host}).json())
            assert links and all(h.startswith(f"http://{host}/") for h in links), host
        for host in ("evil.example", "sco.example", "hub.example.org.evil.example", "localhost"):
            links = _hrefs(api.get("/stac", headers={"Host": host}).json())
            assert all(h.startswith("http://testserver/") for h in links), host
    public = Settings(home=hub, job_workers=0, public_url="https://hub.example.org/sco")
    with TestClient(create_app(public)) as api:
        for host in ("evil.example", "hub.example.org"):
            zarr = api.get(f"/zarr/{OZONE}", headers={"Host": host}).json()
            links = _hrefs(zarr) + [zarr["href"]]
            assert all(h.startswith("https://hub.example.org/sco/") for h in links), links
    assert host_name("[::1]:8000") == "::1" and host_name("Hub.Example.org:80") == "hub.example.org"
    hosts = TrustedHosts.from_settings("localhost, *.example.org", "https://sco.agency.int/x")
    assert {"localhost", "a.example.org", "sco.agency.int"} <= {
        h for h in ("localhost", "a.example.org", "sco.agency.int") if h in hosts
    }
    assert "example.org" not in hosts and "evil.org" not in hosts and "" not in hosts
    assert "anything" in TrustedHosts(["*"])


# -- D10: no symbolic link in the store, none followed ------------------------------------------
def _cube_dir(hub: Path, collection_id: str) -> Path:
    [cube] = list((hub / "store" / collection_id).glob("*.zarr"))
    return cube


@pytest.mark.local_disk
def test_d10_verify_refuses_symlinks_in_the_store(hub: Path, tmp_path: Path) -> None:
    assert run_sco(hub, "verify").returncode == 0
    cube = _cube_dir(hub, OZONE)
    os.symlink("/etc", cube / "evil")
    checked = run_sco(hub, "verify")
    assert checked.returncode == 4, checked.stdout + checked.stderr
    assert f"{OZONE}/{cube.name}/evil" in checked.stderr and "symbolic link" in checked.stderr
    (cube / "evil").unlink()
    (hub / "store" / ".staging").mkdir(exist_ok=True)
    os.symlink("/etc/passwd", hub / "store" / ".staging" / "x.zarr")
    checked = run_sco(hub, "verify")
    assert checked.returncode == 4 and ".staging/x.zarr" in checked.stderr, checked.stderr
    # a folder of the store linked elsewhere
    victim = tmp_path / "victim" / "old.zarr"
    victim.mkdir(parents=True)
    (victim / "zarr.json").write_text("{}")
    os.symlink(victim.parent, hub / "store" / "linked")
    checked = run_sco(hub, "verify")
    assert checked.returncode == 4 and "linked: symbolic link" in checked.stderr, checked.stderr
    # an ingest's clean-up deletes links themselves, never anything they point at
    again = run_sco(hub, "ingest", str(SMALL[0]))
    assert again.returncode == 0, again.stderr
    assert not (hub / "store" / ".staging" / "x.zarr").is_symlink()
    assert Path("/etc/passwd").is_file() and (victim / "zarr.json").is_file()


#: Reads of every kind that open a cube (Zarr files, tiles, EDR, downloads, processes).
CUBE_READS = (
    f"/zarr/{OZONE}/zarr.json",
    f"/zarr/{OZONE}/toz/zarr.json",
    f"/tiles/{OZONE}/toz/0/0/0.png",
    f"/edr/collections/{OZONE}/position?coords=POINT(25 25)",
    f"/download/{OZONE}?format=csv&bbox=20,20,30,30",
)


def _reads(url: str) -> dict[str, httpx.Response]:
    answers = {path: httpx.get(f"{url}{path}", timeout=60) for path in CUBE_READS}
    answers["area-mean"] = httpx.post(
        f"{url}/processes/area-mean/execution", json=AREA_MEAN, timeout=60
    )
    return answers


@pytest.mark.local_disk
def test_d10_no_serving_path_follows_a_link_out_of_the_store(hub: Path, tmp_path: Path) -> None:
    cube = _cube_dir(hub, OZONE)
    before = snapshot(hub)
    url, proc = start_server(hub)
    try:
        for path, r in _reads(url).items():
            assert r.status_code == 200, (path, r.text[:200])
    finally:
        stop_server(proc)
    # the cube moved out of the store and linked back in: not read from out there
    outside = tmp_path / "outside" / cube.name
    outside.parent.mkdir()
    shutil.move(str(cube), str(outside))
    os.symlink(outside, cube)
    url, proc = start_server(hub)
    try:
        for path, r in _reads(url).items():
            assert r.status_code >= 400, (path, r.status_code)
            assert str(outside) not in r.text and str(hub) not in r.text, (path, r.text[:200])
    finally:
        stop_server(proc)
    cube.unlink()
    shutil.move(str(outside), str(cube))
    # a link to /etc inside the cube: the Zarr files are served one by one, never through
    # a link; readers opening the whole cube do not open it
    os.symlink("/etc", cube / "evil")
    chunk = next(p for p in sorted((cube / "toz" / "c").rglob("*")) if p.is_file())
    saved = tmp_path / "chunk"
    shutil.move(str(chunk), str(saved))
    os.symlink("/etc/passwd", chunk)
    url, proc = start_server(hub)
    try:
        for path in ("evil/passwd", chunk.relative_to(cube).as_posix()):
            r = httpx.get(f"{url}/zarr/{OZONE}/{path}")
            assert r.status_code == 404 and "root:" not in r.text, path
        assert httpx.get(f"{url}/zarr/{OZONE}/zarr.json").status_code == 200
        reads = _reads(url)
        for path in CUBE_READS[2:]:  # tiles, EDR, downloads
            r = reads[path]
            assert r.status_code == 500 and r.json()["title"] == "Integrity check failed", path
            assert "symbolic link" in r.json()["detail"] and "root:" not in r.text, path
        assert reads["area-mean"].status_code >= 400 and "root:" not in reads["area-mean"].text
    finally:
        stop_server(proc)
    (cube / "evil").unlink()
    chunk.unlink()
    shutil.move(str(saved), str(chunk))
    files, rows = snapshot(hub)  # the reads changed nothing (but the jobs they recorded)
    assert files == before[0]
    for table in ("sco_collections", "sco_collection_versions", "sco_items"):
        assert rows[table] == before[1][table], table


# -- D11: a provider's key credits only its own agency -----------------------------------------
def _catalog_only(cid: str, *providers: str) -> dict[str, Any]:
    return {
        "type": "Collection",
        "id": cid,
        "description": "Records of data held by the provider.",
        "license": "CC-BY-4.0",
        "providers": [{"name": p, "roles": ["producer"]} for p in providers],
        "extent": {
            "spatial": {"bbox": [[-10.0, 40.0, 10.0, 60.0]]},
            "temporal": {"interval": [["2001-01-01T00:00:00Z", None]]},
        },
    }


def test_d11_provider_keys_name_only_their_own_agency(
    hub: Path, keys: dict[str, dict[str, str]]
) -> None:
    with TestClient(create_app(Settings(home=hub, job_workers=0))) as api:
        before = snapshot(hub)
        # the probe: NOAA's key names ESA as co-provider
        r = api.post(
            "/stac/collections", json=_catalog_only("noaa-x", "NOAA", "ESA"), headers=keys["noaa"]
        )
        assert r.status_code == 403, r.text
        assert "'ESA'" in r.json()["detail"]
        assert snapshot(hub) == before
        assert api.get("/stac/collections/noaa-x").status_code == 404
        # sco:agencies sent are the hub's to set (ignored), and names compare in any case
        doc = {**_catalog_only("noaa-y", "NOAA"), "sco:agencies": ["ESA"]}
        assert api.post("/stac/collections", json=doc, headers=keys["noaa"]).status_code == 201
        assert api.get("/stac/collections/noaa-y").json()["sco:agencies"] == ["NOAA"]
        r = api.post(
            "/stac/collections", json=_catalog_only("noaa-z", "NOAA", "esa"), headers=keys["noaa"]
        )
        assert r.status_code == 403
        # its own agency alone: fine; adding ESA by a replacement: refused
        assert (
            api.post(
                "/stac/collections", json=_catalog_only("noaa-x", "NOAA"), headers=keys["noaa"]
            ).status_code
            == 201
        )
        r = api.put(
            "/stac/collections/noaa-x",
            json=_catalog_only("noaa-x", "NOAA", "ESA"),
            headers=keys["noaa"],
        )
        assert r.status_code == 403
        # ESA's key cannot write it, and users do not see it credited to ESA
        r = api.put(
            "/stac/collections/noaa-x", json=_catalog_only("noaa-x", "ESA"), headers=keys["esa"]
        )
        assert r.status_code == 403
        shown = api.get("/stac/collections/noaa-x").json()
        assert [p["name"] for p in shown["providers"]] == ["NOAA"]
        # a cube collection's replacement may not add an agency either
        ozone = api.get(f"/stac/collections/{OZONE}").json()
        added = {**ozone, "providers": [*ozone["providers"], {"name": "NOAA"}]}
        assert (
            api.put(f"/stac/collections/{OZONE}", json=added, headers=keys["esa"]).status_code
            == 403
        )
        kept = {**ozone, "title": "Total ozone (edited)"}
        r = api.put(f"/stac/collections/{OZONE}", json=kept, headers=keys["esa"])
        assert r.status_code == 200, r.text  # the agencies it had stay
        # an admin credits any agency; a provider keeps those already credited
        shared = _catalog_only("shared-x", "NOAA", "ESA")
        assert api.post("/stac/collections", json=shared, headers=keys["admin"]).status_code == 201
        edited = {**shared, "title": "Shared records"}
        assert (
            api.put("/stac/collections/shared-x", json=edited, headers=keys["esa"]).status_code
            == 200
        )
