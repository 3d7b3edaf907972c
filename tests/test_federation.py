"""Federation: hubs on loopback, each holding a different part of the bundled samples, and a
static STAC catalog on a plain HTTP server. Hub A pools hub B (mirror), hub C (reference)
and the static catalog, and its federated search asks B and a peer that never answers.

The tests run in order: each builds on what the previous one synced.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import xarray as xr

from spaceclimate.access import Access
from spaceclimate.catalog import open_catalog
from spaceclimate.errors import InputError
from spaceclimate.ingest import Ingestor
from spaceclimate.peers.registry import check_name, check_url
from spaceclimate.store import open_store

from .conftest import REPO, free_port, start_server, stop_server
from .profile import hub_settings

pytestmark = pytest.mark.local_disk

SAMPLES = REPO / "data" / "samples"
OSTIA = [SAMPLES / "sst" / f"sst_ostia_l4_anom_daily_2017060{d}.nc" for d in (5, 6, 7)]
SEAICE_NH = SAMPLES / "sea_ice" / "seaice_conc_cdr_v4_monthly_nh_202112.nc"
SEAICE_SH = SAMPLES / "sea_ice" / "seaice_conc_cdr_v4_monthly_sh_202112.nc"
OSTIA_ID = "ukmo-ostia-sst-daily"
DEADLINE = 2.0


@dataclass
class Federation:
    """The hubs and servers of the tests."""

    root: Path
    homes: dict[str, Path] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def sco(self, hub: str, *args: str, env: dict[str, str] | None = None) -> Any:
        """Run ``sco`` against a hub's home; return the finished process."""
        full = {**os.environ, "SCO_HOME": str(self.homes[hub]), **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "spaceclimate", *args],
            env=full,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def get(self, hub: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(f"{self.urls[hub]}{path}", timeout=30, **kw)

    def admin(self, hub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[hub]}"}


def _ingest(home: Path, files: list[Path]) -> None:
    ingestor = Ingestor(hub_settings(home))
    try:
        results = ingestor.ingest(files)
    finally:
        ingestor.close()
    assert all(r.status == "published" for r in results), results


def _key(home: Path, *scopes: str) -> str:
    access = Access(hub_settings(home))
    try:
        return access.keys.create(list(scopes), "federation test")[1]
    finally:
        access.close()


def _static_catalog(folder: Path) -> None:
    """A static catalog: one collection, one item whose asset is a NetCDF file beside it."""
    (folder / "seaice").mkdir(parents=True)
    shutil.copy(SEAICE_SH, folder / "seaice" / SEAICE_SH.name)
    catalog = {
        "type": "Catalog",
        "stac_version": "1.1.0",
        "id": "agency-x",
        "description": "A static catalog of agency X",
        "links": [{"rel": "child", "href": "./seaice/collection.json"}],
    }
    collection = {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "seaice-sh",
        "description": "Sea ice concentration, southern hemisphere",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, -39]]},
            "temporal": {"interval": [["2021-12-01T00:00:00Z", "2021-12-31T23:59:59Z"]]},
        },
        "links": [
            {"rel": "root", "href": "../catalog.json"},
            {"rel": "item", "href": "./item-202112.json"},
        ],
    }
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "seaice-sh-202112",
        "collection": "seaice-sh",
        "bbox": [-180, -90, 180, -39],
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[-180, -90], [180, -90], [180, -39], [-180, -39], [-180, -90]]],
        },
        "properties": {
            "start_datetime": "2021-12-01T00:00:00Z",
            "end_datetime": "2021-12-31T23:59:59Z",
            "datetime": None,
        },
        "assets": {
            "data": {"href": f"./{SEAICE_SH.name}", "type": "application/x-netcdf"},
        },
        "links": [{"rel": "collection", "href": "./collection.json"}],
    }
    (folder / "catalog.json").write_text(json.dumps(catalog))
    (folder / "seaice" / "collection.json").write_text(json.dumps(collection))
    (folder / "seaice" / "item-202112.json").write_text(json.dumps(item))


class SilentPeer:
    """A server on loopback that accepts connections and never answers (a hung peer)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(conn)

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("federation")
    f = Federation(root)
    for hub in ("a", "b", "c"):
        f.homes[hub] = root / hub
    _ingest(f.homes["b"], [SEAICE_NH, OSTIA[0]])
    _ingest(f.homes["c"], [SEAICE_SH])
    (f.homes["a"] / "store").mkdir(parents=True)  # an empty hub: its store is ready
    for hub in ("a", "b"):
        f.tokens[hub] = _key(f.homes[hub], "admin")
    f.tokens["a-provider"] = _key(f.homes["a"], "provider:ESA")
    _static_catalog(root / "static")
    port = free_port()
    f.procs["static"] = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=root / "static",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    f.urls["static"] = f"http://127.0.0.1:{port}"
    try:
        for hub in ("b", "c"):
            f.urls[hub], f.procs[hub] = start_server(f.homes[hub])
        f.urls["a"], f.procs["a"] = start_server(
            f.homes["a"], env={"SCO_FEDERATION_DEADLINE": str(DEADLINE)}
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{f.urls['static']}/catalog.json", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the static catalog server did not start"
                time.sleep(0.2)
        yield f
    finally:
        for name, proc in f.procs.items():
            if name == "static":
                proc.terminate()
                proc.wait(timeout=15)
            elif proc.poll() is None:
                stop_server(proc)


def _sync(f: Federation, peer: str, **env: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    done = f.sco("a", "peers", "sync", peer, "--json", "-q", env=env)
    report = json.loads(done.stdout)[0] if done.stdout.strip() else None
    return done, report


def _outcome(report: dict[str, Any], collection: str) -> dict[str, Any]:
    return next(o for o in report["collections"] if o["collection"] == collection)


def _zarr(url: str) -> xr.Dataset:
    return xr.open_zarr(url, zarr_format=3, consolidated=True)


def _assert_same_cube(a: xr.Dataset, b: xr.Dataset) -> None:
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in b.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name


# -- peers, URLs, keys ------------------------------------------------------------------------
def test_peer_urls_and_names_are_checked() -> None:
    assert check_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    for bad in ("ftp://example.org", "http://", "http://h/x?token=1", "file:///etc/passwd"):
        with pytest.raises(InputError):
            check_url(bad)
    with pytest.raises(InputError) as caught:
        check_url("ftp://user:hunter2@example.org")
    assert "hunter2" not in str(caught.value)
    for bad in ("B", "b:c", "", "-b", "x" * 41):
        with pytest.raises(InputError):
            check_name(bad)


def test_only_admin_keys_manage_peers(fed: Federation) -> None:
    body = {"url": fed.urls["c"].replace("://", "://reader:s3cret@"), "name": "c"}
    body["mode"] = "reference"
    url = f"{fed.urls['a']}/federation/peers"
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    provider = {"Authorization": f"Bearer {fed.tokens['a-provider']}"}
    assert httpx.post(url, json=body, headers=provider, timeout=30).status_code == 403
    assert httpx.get(url, headers=provider, timeout=30).status_code == 403
    bad = httpx.post(url, json={**body, "url": "gopher://x"}, headers=fed.admin("a"), timeout=30)
    assert bad.status_code == 400
    added = httpx.post(url, json=body, headers=fed.admin("a"), timeout=30)
    assert added.status_code == 201, added.text
    assert added.json()["kind"] == "hub" and added.json()["mode"] == "reference"
    again = httpx.post(url, json=body, headers=fed.admin("a"), timeout=30)
    assert again.status_code == 409
    listed = httpx.get(url, headers=fed.admin("a"), timeout=30)
    assert listed.status_code == 200 and "s3cret" not in listed.text
    assert [p["name"] for p in listed.json()["peers"]] == ["c"]
    audit = httpx.get(f"{fed.urls['a']}/admin/audit?action=peer.add", headers=fed.admin("a"))
    assert len(audit.json()["entries"]) == 1 and "s3cret" not in audit.text


# -- mirror -----------------------------------------------------------------------------------
def test_mirror_sync_pools_b(fed: Federation) -> None:
    added = fed.sco("a", "peers", "add", fed.urls["b"], "--name", "b")
    assert added.returncode == 0, added.stderr
    started = time.monotonic()
    done, report = _sync(fed, "b")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert {o["status"] for o in report["collections"]} == {"published"}
    print(f"mirror of 2 collections: {elapsed:.1f} s")

    cid = f"b:{OSTIA_ID}"
    found = fed.get("a", "/stac/search", params={"collections": cid}).json()
    assert found["numberMatched"] == 1
    doc = fed.get("a", f"/stac/collections/{cid}").json()
    origin = doc["sco:origin"]
    assert origin["peer"] == "b" and origin["url"] == fed.urls["b"]
    assert origin["collection"] == OSTIA_ID and origin["version"] == 1
    b_record = fed.get("b", f"/federation/collections/{OSTIA_ID}/versions/1").json()
    assert origin["fingerprint"] == b_record["fingerprint"]
    assert origin["files"] == len(b_record["cube_checksums"])
    via = [lk["href"] for lk in doc["links"] if lk["rel"] == "via"]
    assert via == [f"{fed.urls['b']}/stac/collections/{OSTIA_ID}"]

    # the cube, EDR and tiles of A equal B's (read independently from each server)
    _assert_same_cube(
        _zarr(doc["assets"]["zarr"]["href"]), _zarr(f"{fed.urls['b']}/zarr/{OSTIA_ID}")
    )
    point = {"coords": "POINT(-30.1 10.2)", "parameter-name": "sst"}
    edr_a = fed.get("a", f"/edr/collections/{cid}/position", params=point)
    edr_b = fed.get("b", f"/edr/collections/{OSTIA_ID}/position", params=point)
    assert edr_a.status_code == 200, edr_a.text
    values_a = edr_a.json()["ranges"]["sst"]["values"]
    assert values_a == edr_b.json()["ranges"]["sst"]["values"] and values_a[0] is not None
    tile_a = fed.get("a", f"/tiles/{cid}/sst/1/1/0.png")
    tile_b = fed.get("b", f"/tiles/{OSTIA_ID}/sst/1/1/0.png")
    assert tile_a.status_code == 200 and tile_a.content == tile_b.content

    verify = fed.sco("a", "verify")
    assert verify.returncode == 0, verify.stderr
    again, report = _sync(fed, "b")
    assert again.returncode == 0 and {o["status"] for o in report["collections"]} == {"unchanged"}


def test_new_origin_version_becomes_new_local_version(fed: Federation) -> None:
    _ingest(fed.homes["b"], [OSTIA[1]])  # B publishes v2 of the collection
    done, report = _sync(fed, "b")
    assert done.returncode == 0, done.stderr
    outcome = _outcome(report, f"b:{OSTIA_ID}")
    assert outcome["status"] == "published" and outcome["version"] == 2
    assert outcome["origin_version"] == 2
    doc = fed.get("a", f"/stac/collections/b:{OSTIA_ID}").json()
    assert doc["sco:origin"]["version"] == 2 and doc["sco:version"] == 2
    cube = _zarr(doc["assets"]["zarr"]["href"])
    assert cube.sizes["time"] == 2
    _assert_same_cube(cube, _zarr(f"{fed.urls['b']}/zarr/{OSTIA_ID}"))
    assert _zarr(f"{fed.urls['a']}/zarr/b:{OSTIA_ID}/v1").sizes["time"] == 1  # v1 kept


def _b_cube_file(fed: Federation, variable: str) -> Path:
    settings = hub_settings(fed.homes["b"])
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        record = catalog.latest_version(OSTIA_ID)
    finally:
        catalog.close()
    assert record is not None
    folder = open_store(settings).local_path(record.cube_href)
    return sorted(p for p in (folder / variable / "c").rglob("*") if p.is_file())[0]


def test_tampered_chunk_refuses_that_version(fed: Federation) -> None:
    _ingest(fed.homes["b"], [OSTIA[2]])  # B publishes v3 ...
    chunk = _b_cube_file(fed, "sst")
    good = chunk.read_bytes()
    chunk.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))  # ... and a chunk of it rots
    try:
        done, report = _sync(fed, "b")
        assert done.returncode == 4
        outcome = _outcome(report, f"b:{OSTIA_ID}")
        assert outcome["status"] == "refused" and outcome["version"] == 2
        assert "does not match the checksum" in outcome["message"]
        assert "file sst/c/" in outcome["message"]
        doc = fed.get("a", f"/stac/collections/b:{OSTIA_ID}").json()
        assert doc["sco:version"] == 2 and doc["sco:origin"]["version"] == 2
        assert not list((fed.homes["a"] / "store" / ".staging").iterdir())
    finally:
        chunk.write_bytes(good)


def test_kill_during_mirror_leaves_previous_state_and_rerun_completes(fed: Federation) -> None:
    done, _ = _sync(fed, "b", SCO_CRASH_AT="mirrored")  # kill -9 once the files are down
    assert done.returncode == -9
    doc = fed.get("a", f"/stac/collections/b:{OSTIA_ID}").json()
    assert doc["sco:version"] == 2
    assert fed.sco("a", "verify").returncode == 0
    done, report = _sync(fed, "b")
    assert done.returncode == 0, done.stderr
    assert _outcome(report, f"b:{OSTIA_ID}")["version"] == 3
    cube = _zarr(f"{fed.urls['a']}/zarr/b:{OSTIA_ID}")
    assert cube.sizes["time"] == 3
    _assert_same_cube(cube, _zarr(f"{fed.urls['b']}/zarr/{OSTIA_ID}"))
    assert not list((fed.homes["a"] / "store" / ".staging").iterdir())


def test_withdrawn_at_origin_is_marked_not_dropped(fed: Federation) -> None:
    note = {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "field-notes",
        "description": "Notes held by agency B",
        "license": "CC-BY-4.0",
        "providers": [{"name": "ESA", "roles": ["producer"]}],
        "extent": {
            "spatial": {"bbox": [[-10.0, 40.0, 10.0, 50.0]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
        "sco:ecv": "sea_ice",
    }
    made = httpx.post(
        f"{fed.urls['b']}/stac/collections", json=note, headers=fed.admin("b"), timeout=30
    )
    assert made.status_code == 201, made.text
    done, report = _sync(fed, "b")
    assert _outcome(report, "b:field-notes")["status"] == "published"
    gone = httpx.delete(
        f"{fed.urls['b']}/stac/collections/field-notes", headers=fed.admin("b"), timeout=30
    )
    assert gone.status_code in (200, 204), gone.text
    done, report = _sync(fed, "b")
    assert done.returncode == 0, done.stderr
    assert _outcome(report, "b:field-notes")["status"] == "withdrawn"
    doc = fed.get("a", "/stac/collections/b:field-notes").json()
    assert doc["deprecated"] is True and doc["sco:origin"]["withdrawn"]
    assert _outcome(_sync(fed, "b")[1], "b:field-notes")["status"] == "unchanged"


# -- static catalog and reference mode -------------------------------------------------------
def test_static_catalog_items_are_harvested(fed: Federation) -> None:
    url = f"{fed.urls['static']}/catalog.json"
    added = fed.sco("a", "peers", "add", url, "--name", "agency-x")
    assert added.returncode == 0, added.stderr
    assert "static" in added.stdout
    done, report = _sync(fed, "agency-x")
    assert done.returncode == 0, done.stderr
    found = fed.get("a", "/stac/search", params={"collections": "agency-x:seaice-sh"}).json()
    assert [f["id"] for f in found["features"]] == ["seaice-sh-202112"]
    item = found["features"][0]
    href = item["assets"]["data"]["href"]
    assert href == f"{fed.urls['static']}/seaice/{SEAICE_SH.name}"
    assert httpx.get(href, timeout=30).content == SEAICE_SH.read_bytes()
    doc = fed.get("a", "/stac/collections/agency-x:seaice-sh").json()
    assert doc["sco:origin"]["kind"] == "static"
    assert [lk["href"] for lk in doc["links"] if lk["rel"] == "via"] == [
        f"{fed.urls['static']}/seaice/collection.json"
    ]
    assert _outcome(_sync(fed, "agency-x")[1], "agency-x:seaice-sh")["status"] == "unchanged"


def test_reference_mode_records_c_with_its_cube(fed: Federation) -> None:
    url = f"{fed.urls['a']}/federation/peers/c/sync"  # over the API this time
    assert httpx.post(url, timeout=60).status_code == 401
    synced = httpx.post(url, headers=fed.admin("a"), timeout=60)
    assert synced.status_code == 200, synced.text
    report = synced.json()
    cid = "c:nsidc-seaice-cdr-sh-monthly"
    assert _outcome(report, cid)["status"] == "published"
    doc = fed.get("a", f"/stac/collections/{cid}").json()
    assert "zarr" not in doc["assets"] and doc["sco:origin"]["mode"] == "reference"
    remote = doc["assets"]["origin-zarr"]["href"]
    assert remote.startswith(fed.urls["c"]) and "s3cret" not in json.dumps(doc)
    _assert_same_cube(_zarr(remote), _zarr(f"{fed.urls['c']}/zarr/nsidc-seaice-cdr-sh-monthly"))


# -- federated search -------------------------------------------------------------------------
def test_federated_search_is_declared_and_merges_peers(fed: Federation) -> None:
    conformance = fed.get("a", "/stac/conformance").json()["conformsTo"]
    assert "urn:spaceclimate:conformance:federated-search:1.0" in conformance
    answer = fed.get("a", "/stac/search", params={"federated": "true", "limit": 50})
    assert answer.status_code == 200
    body = answer.json()
    status = {p["name"]: p["status"] for p in body["sco:federation"]["peers"]}
    assert status == {"b": "ok", "c": "ok"} and body["sco:federation"]["partial"] is False
    assert answer.headers["SCO-Federation"] == "complete"
    collections = {f["collection"] for f in body["features"]}
    assert {f"b:{OSTIA_ID}", "c:nsidc-seaice-cdr-sh-monthly", "agency-x:seaice-sh"} <= collections
    live = [f for f in body["features"] if f["properties"].get("sco:peer") == "b"]
    assert live and all(f["collection"].startswith("b:") for f in live)
    assert body["numberMatched"] == len(body["features"])
    # pages of two walk the same list
    ids, token = [], None
    while True:
        params = {"federated": "true", "limit": 2, **({"token": token} if token else {})}
        page = fed.get("a", "/stac/search", params=params).json()
        ids += [(f["collection"], f["id"]) for f in page["features"]]
        nxt = [lk for lk in page["links"] if lk["rel"] == "next"]
        if not nxt:
            break
        token = nxt[0]["href"].rsplit("token=", 1)[1]
    assert ids == [(f["collection"], f["id"]) for f in body["features"]]


def test_federated_search_is_partial_when_a_peer_hangs_or_is_down(fed: Federation) -> None:
    silent = SilentPeer()
    try:
        body = {"url": silent.url, "name": "hung", "kind": "stac-api"}
        added = httpx.post(
            f"{fed.urls['a']}/federation/peers", json=body, headers=fed.admin("a"), timeout=30
        )
        assert added.status_code == 201, added.text
        started = time.monotonic()
        answer = fed.get("a", "/stac/search", params={"federated": "true", "limit": 50})
        elapsed = time.monotonic() - started
        print(f"federated search with a hung peer: {elapsed:.2f} s (deadline {DEADLINE} s)")
        assert answer.status_code == 200 and elapsed < DEADLINE + 1.5
        fed_info = answer.json()["sco:federation"]
        assert fed_info["partial"] is True and answer.headers["SCO-Federation"] == "partial"
        status = {p["name"]: p["status"] for p in fed_info["peers"]}
        assert status["hung"] == "timeout" and status["b"] == "ok"
    finally:
        silent.close()
    stop_server(fed.procs["b"])  # B goes away
    started = time.monotonic()
    answer = fed.get("a", "/stac/search", params={"federated": "true", "limit": 50})
    elapsed = time.monotonic() - started
    assert answer.status_code == 200 and elapsed < DEADLINE + 1.5
    body = answer.json()
    status = {p["name"]: p["status"] for p in body["sco:federation"]["peers"]}
    assert status["b"] in ("unreachable", "timeout") and body["sco:federation"]["partial"]
    # the mirror of B answers for it, and still serves its data
    assert f"b:{OSTIA_ID}" in {f["collection"] for f in body["features"]}
    assert fed.get("a", f"/zarr/b:{OSTIA_ID}/zarr.json").status_code == 200
