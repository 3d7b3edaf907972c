"""Cubes in an S3-compatible object store: publishing, atomicity, clean-up and every reader.

The store is moto's standalone S3 server, started here on a loopback port (a real HTTP S3 API:
s3fs and zarr talk to it as to any S3 endpoint). Values are checked against the source files
and against the same hub on local disk, read independently.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pytest
import xarray as xr
from fastapi.testclient import TestClient

from spaceclimate.api import create_app
from spaceclimate.catalog import open_catalog
from spaceclimate.config import Settings
from spaceclimate.ingest import Ingestor
from spaceclimate.store import ObjectPath, open_store
from spaceclimate.store.objects import ObjectCubeStore
from spaceclimate.store.series import series_reader

from .conftest import start_server, stop_server
from .services import S3Server, s3_server

BUCKET = "sco-store-tests"
OSTIA = "ukmo-ostia-sst-daily"
ARCTIC = "nsidc-seaice-cdr-nh-monthly"
DAY = "sst/sst_ostia_l4_anom_daily_2017060{}.nc"
NH_MONTHLY = "sea_ice/seaice_conc_cdr_v4_monthly_nh_202112.nc"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        server.create_bucket(BUCKET)
        yield server


def s3_env(s3: S3Server, home: Path, prefix: str) -> dict[str, str]:
    """The environment of a hub in *home* whose cubes go to ``s3://BUCKET/prefix``."""
    return {
        "SCO_HOME": str(home),
        "SCO_STORE_URL": f"s3://{BUCKET}/{prefix}",
        "SCO_STORE_OPTIONS": json.dumps(s3.options),
    }


def settings_of(env: dict[str, str], **extra: Any) -> Settings:
    return Settings(
        home=Path(env["SCO_HOME"]),
        store_url=env["SCO_STORE_URL"],
        store_options=json.loads(env.get("SCO_STORE_OPTIONS", "{}")),
        catalog_url=None,
        dask_scheduler=None,
        **extra,
    )


def sco(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``sco ARGS`` in a subprocess with exactly this hub's ``SCO_*`` settings."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SCO_")}
    full.update(env)
    full.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "spaceclimate", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
        check=False,
    )


def ingest(settings: Settings, *paths: Path) -> None:
    ingestor = Ingestor(settings)
    try:
        ingestor.ingest(list(paths))
    finally:
        ingestor.close()


def referenced_state(settings: Settings) -> tuple[list[Any], dict[str, dict[str, str]]]:
    """The catalog's versions, and every object (with its ETag) of every referenced cube."""
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        versions = [
            (v.collection_id, v.version, v.cube_href, v.fingerprint, v.cube_checksums)
            for c in catalog.list_collections()
            for v in catalog.versions(c["id"])
        ]
    finally:
        catalog.close()
    store = open_store(settings)
    objects = {
        href: {k: str(m["ETag"]) for k, m in store.path(href).list_objects().items()}
        for _cid, _v, href, _f, _c in versions
    }
    return versions, objects


def cube_prefixes(settings: Settings, collection_id: str) -> set[str]:
    store = open_store(settings)
    assert isinstance(store, ObjectCubeStore)
    folder = store.path(collection_id)
    return {str(k).rsplit("/", 1)[-1] for k in store.fs.ls(folder.root, detail=False)}


@pytest.fixture(scope="module")
def s3_hub(s3: S3Server, tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Settings:
    """A hub with OSTIA (three days) and the Arctic monthly sea ice, its cubes in S3."""
    env = s3_env(s3, tmp_path_factory.mktemp("s3hub"), "hub")
    settings = settings_of(env)
    ingest(settings, *(samples / DAY.format(d) for d in (5, 6, 7)), samples / NH_MONTHLY)
    return settings


def test_published_cubes_are_objects_with_the_source_values(
    s3_hub: Settings, s3: S3Server, samples: Path
) -> None:
    store = open_store(s3_hub)
    assert isinstance(store, ObjectCubeStore)
    assert not (s3_hub.resolved_home / "store").exists()  # nothing on local disk
    assert not any(store.staging.iterdir())  # local copies dropped after publishing
    catalog = open_catalog(s3_hub.resolved_catalog_url)
    try:
        href = catalog.get_collection(OSTIA)["assets"]["zarr"]["href"]
        version = catalog.latest_version(OSTIA)
    finally:
        catalog.close()
    assert version is not None and version.cube_href == href
    # the key layout: <prefix>/<collection>/<uuid>.zarr/..., read with a client of its own
    fs = s3.filesystem()
    keys = {k[len(f"{BUCKET}/hub/") :] for k in fs.find(f"{BUCKET}/hub")}
    cube_keys = {k[len(href) + 1 :] for k in keys if k.startswith(href + "/")}
    assert cube_keys == set(version.cube_checksums)  # every checksummed file, nothing else
    assert "zarr.json" in cube_keys and "series/sst/zarr.json" in cube_keys
    assert "overviews/2/sst/zarr.json" in cube_keys
    raw_meta = json.loads(fs.cat_file(f"{BUCKET}/hub/{href}/zarr.json"))
    assert raw_meta["zarr_format"] == 3 and "consolidated_metadata" in raw_meta
    ds = store.open(href)
    assert ds.sizes["time"] == 3 and ds["sst"].chunks is not None
    with netCDF4.Dataset(samples / DAY.format(7)) as nc:
        var = nc.variables["analysed_sst"]
        var.set_auto_maskandscale(False)
        raw = float(var[0, 400, 880])  # lat 10.125, lon 220.125
    got = float(ds["sst"].isel(time=2).sel(lat=10.125, lon=-139.875, method="nearest"))
    assert got == pytest.approx(raw * 0.01 + 273.15, abs=1e-4)


def test_verify_rehashes_objects(s3_hub: Settings, s3: S3Server) -> None:
    env = s3_env(s3, s3_hub.resolved_home, "hub")
    ok = sco(env, "verify")
    assert ok.returncode == 0 and "2 cube version" in ok.stdout, ok.stderr
    # one chunk object changed behind the hub's back: verify names it
    fs = s3.filesystem()
    href = _cube_href(s3_hub, ARCTIC)
    key = f"{BUCKET}/hub/{href}/sic/c/0/0/0"
    original = fs.cat_file(key)
    fs.pipe_file(key, original + b"x")
    try:
        bad = sco(env, "verify")
    finally:
        fs.pipe_file(key, original)
    assert bad.returncode == 4
    assert f"{href}/sic/c/0/0/0: checksum differs" in bad.stderr


def test_killed_ingest_leaves_referenced_cubes_and_is_cleaned_up(
    s3: S3Server, tmp_path: Path, samples: Path
) -> None:
    """Killed once the cube is uploaded but not yet committed: nothing referenced changed.

    (The other stages, before the upload and after the commit, are the ingest suite's own
    atomicity tests, which the scale profile runs on this store.)
    """
    stage = "uploaded"
    env = s3_env(s3, tmp_path, "kill-uploaded")
    settings = settings_of(env)
    ingest(settings, samples / DAY.format(5))  # v1, in this process (the CLI is tested below)
    before = referenced_state(settings)
    assert [v[1] for v in before[0]] == [1]
    cubes_before = cube_prefixes(settings, OSTIA)
    killed = sco(env, "ingest", "-q", str(samples / DAY.format(6)), SCO_CRASH_AT=stage)
    assert killed.returncode == -signal.SIGKILL
    assert referenced_state(settings) == before  # catalog and referenced cubes as they were
    assert any(settings.resolved_home.joinpath(".staging").iterdir())  # the local copy
    orphans = cube_prefixes(settings, OSTIA) - cubes_before
    assert len(orphans) == 1  # uploaded, never referenced
    orphan = open_store(settings).path(f"{OSTIA}/{next(iter(orphans))}")
    assert (orphan / "zarr.json").is_file()  # the whole cube went up before the crash
    assert sco(env, "verify").returncode == 0
    # the next run cleans the local copy at once, but keeps a young orphan (an upload in
    # progress elsewhere would look the same) ...
    retry = sco(env, "ingest", "-q", str(samples / DAY.format(6)))
    assert retry.returncode == 0 and "v2" in retry.stdout, retry.stderr
    assert not any(settings.resolved_home.joinpath(".staging").iterdir())
    versions, _objects = referenced_state(settings)
    hrefs = {href.rsplit("/", 1)[-1] for _c, _v, href, _f, _s in versions}
    assert cube_prefixes(settings, OSTIA) == hrefs | orphans
    # ... and deletes it once it is older than the grace period
    again = sco(env, "ingest", "-q", str(samples / DAY.format(6)), SCO_STORE_CLEANUP_GRACE="0")
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stderr
    assert cube_prefixes(settings, OSTIA) == hrefs
    verify = sco(env, "verify")
    assert verify.returncode == 0 and "2 cube version" in verify.stdout


def test_bad_input_leaves_the_store_untouched(
    s3_hub: Settings, s3: S3Server, tmp_path: Path, samples: Path
) -> None:
    env = s3_env(s3, s3_hub.resolved_home, "hub")
    fs = s3.filesystem()
    before = fs.find(f"{BUCKET}/hub", detail=True)
    bad = tmp_path / "sst_ostia_l4_anom_daily_20170608.nc"
    bad.write_bytes(np.random.default_rng(1).bytes(40_000))  # not a NetCDF file
    proc = sco(env, "ingest", "-q", str(samples / DAY.format(7)), str(bad))
    assert proc.returncode == 2 and bad.name in proc.stderr
    after = fs.find(f"{BUCKET}/hub", detail=True)
    assert {k: v["ETag"] for k, v in after.items()} == {k: v["ETag"] for k, v in before.items()}


def test_aws_environment_variables_reach_the_store(
    s3: S3Server, tmp_path: Path, samples: Path
) -> None:
    """Without SCO_STORE_OPTIONS, the standard AWS_* variables (endpoint included) are used."""
    env = {
        "SCO_HOME": str(tmp_path),
        "SCO_STORE_URL": f"s3://{BUCKET}/aws-env",
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AWS_ACCESS_KEY_ID": s3.options["key"],
        "AWS_SECRET_ACCESS_KEY": s3.options["secret"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = sco(env, "ingest", "-q", str(samples / DAY.format(5)))
    assert done.returncode == 0, done.stderr
    assert s3.filesystem().find(f"{BUCKET}/aws-env")  # the cube went to the server
    verify = sco(env, "verify")
    assert verify.returncode == 0 and "1 cube version" in verify.stdout, verify.stderr


def _cube_href(settings: Settings, collection_id: str) -> str:
    """The href of a collection's published cube, as its catalog records it."""
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        return str(catalog.get_collection(collection_id)["assets"]["zarr"]["href"])
    finally:
        catalog.close()


# -- readers ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3_api(s3_hub: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(s3_hub)) as client:
        yield client


def test_zarr_http_streams_objects_with_etags_and_ranges(
    s3_api: TestClient, s3_hub: Settings, s3: S3Server
) -> None:
    href = _cube_href(s3_hub, OSTIA)
    chunk = s3.filesystem().cat_file(f"{BUCKET}/hub/{href}/sst/c/0/1/2")
    url = f"/zarr/{OSTIA}/v1/sst/c/0/1/2"
    got = s3_api.get(url)
    assert got.status_code == 200 and got.content == chunk
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert int(got.headers["content-length"]) == len(chunk)
    etag = got.headers["etag"]
    assert s3_api.get(url, headers={"If-None-Match": etag}).status_code == 304
    head = s3_api.head(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    assert int(head.headers["content-length"]) == len(chunk)
    part = s3_api.get(url, headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == chunk[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(chunk)}"
    tail = s3_api.get(url, headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == chunk[-16:]
    past = s3_api.get(url, headers={"Range": f"bytes={len(chunk) + 5}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(chunk)}"
    meta = s3_api.get(f"/zarr/{OSTIA}/zarr.json")
    assert meta.status_code == 200 and meta.json()["zarr_format"] == 3
    assert "max-age=60" in meta.headers["cache-control"]
    for missing in ("sst/c/0/99/99", "sst", "nope/zarr.json"):
        answer = s3_api.get(f"/zarr/{OSTIA}/{missing}")
        assert answer.status_code == 404, missing
        assert answer.headers["content-type"] == "application/problem+json"
    traversal = s3_api.get(f"/zarr/{OSTIA}/sst/%2e%2e/%2e%2e/zarr.json")
    assert traversal.status_code == 400 and "parameter 'path'" in traversal.text


def test_xarray_opens_the_served_cube_over_http(s3_hub: Settings, s3: S3Server) -> None:
    """A real server streams the objects; xarray (over HTTP) reads what is in S3."""
    env = s3_env(s3, s3_hub.resolved_home, "hub")
    url, proc = start_server(s3_hub.resolved_home, env=env)
    try:
        remote = xr.open_zarr(f"{url}/zarr/{ARCTIC}")
        overview = xr.open_zarr(f"{url}/zarr/{OSTIA}", group="overviews/2")
        sic, ov_sst = remote["sic"].values, overview["sst"].values
    finally:
        stop_server(proc)
    arctic, ostia = _cube_href(s3_hub, ARCTIC), _cube_href(s3_hub, OSTIA)
    store = open_store(s3_hub)
    assert np.array_equal(sic, store.open(arctic)["sic"].values, equal_nan=True)
    assert np.isfinite(sic).sum() > 50_000
    direct = xr.open_zarr(store.path(ostia) / "overviews" / "2")["sst"].values
    assert ov_sst.shape == (3, 180, 360) and np.array_equal(ov_sst, direct, equal_nan=True)


def test_edr_position_reads_the_series_copy_with_ranges(
    s3_api: TestClient, s3_hub: Settings, samples: Path
) -> None:
    href = _cube_href(s3_hub, OSTIA)
    location = open_store(s3_hub).path(href)
    assert isinstance(location, ObjectPath)
    reader = series_reader(location)
    assert reader is not None
    reader._indexes.clear()
    got = s3_api.get(
        f"/edr/collections/{OSTIA}/position",
        params={"coords": "POINT(-30.1 40.3)", "parameter-name": "sst"},
    )
    assert got.status_code == 200, got.text
    values = got.json()["ranges"]["sst"]["values"]
    assert len(reader._indexes) == 1  # read from one shard of the series copy, by ranges
    expected = []
    for day in (5, 6, 7):
        with netCDF4.Dataset(samples / DAY.format(day)) as nc:
            lat = np.asarray(nc.variables["lat"][:])
            lon = np.asarray(nc.variables["lon"][:])
            i = int(np.abs(lat - 40.3).argmin())
            j = int(np.abs(np.where(lon >= 180, lon - 360, lon) + 30.1).argmin())
            expected.append(float(nc.variables["analysed_sst"][0, i, j]))
    np.testing.assert_allclose(values, expected, atol=1e-4)


def test_tiles_and_area_mean_equal_the_local_hub(s3_api: TestClient, api: Any) -> None:
    for url in (
        f"/tiles/{OSTIA}/sst/0/0/0.png",  # from the overviews
        f"/tiles/{OSTIA}/sst/3/1/3.png",  # full resolution
        f"/tiles/{ARCTIC}/sic/1/0/0.png",  # polar stereographic
    ):
        remote, local = s3_api.get(url), api.get(url)
        assert remote.status_code == 200 and remote.headers["content-type"] == "image/png"
        assert remote.content == local.content, url  # the same pixels as from local disk
    body = {"inputs": {"collection": OSTIA, "variable": "sst", "region": "NAO"}}
    remote = s3_api.post("/processes/area-mean/execution", json=body)
    local = api.post("/processes/area-mean/execution", json=body)
    assert remote.status_code == 200, remote.text
    assert remote.json()["series"]["n_cells"] == local.json()["series"]["n_cells"] > 1000
    np.testing.assert_allclose(
        remote.json()["series"]["values"], local.json()["series"]["values"], rtol=1e-12
    )
    ready = s3_api.get("/ready").json()
    assert ready["status"] == "ready" and ready["checks"]["store"] == "ok"


def test_ready_reports_a_missing_bucket(s3: S3Server, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        store_url=f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/hub",
        store_options=s3.options,
        catalog_url=None,
        dask_scheduler=None,
    )
    with TestClient(create_app(settings)) as client:
        answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["checks"]["store"].startswith("missing: s3://no-such-bucket-")


def test_local_store_url_is_a_folder(tmp_path: Path, samples: Path) -> None:
    """SCO_STORE_URL may name a local folder (or file://): the local store, renamed in place."""
    folder = tmp_path / "cubes"
    settings = Settings(
        home=tmp_path / "hub", store_url=f"file://{folder}", catalog_url=None, dask_scheduler=None
    )
    assert not settings.store_is_remote and settings.resolved_store_path == folder
    ingest(settings, samples / DAY.format(5))
    cubes = list((folder / OSTIA).iterdir())
    assert len(cubes) == 1 and (cubes[0] / "zarr.json").is_file()
    assert isinstance(open_store(settings).path(f"{OSTIA}/{cubes[0].name}"), Path)
    ds = xr.open_zarr(cubes[0])
    assert ds.sizes["time"] == 1
