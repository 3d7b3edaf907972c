"""Zarr over HTTP: another process opens the hub's cubes with xarray and reads the same values."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import xarray as xr

from spaceclimate.catalog import open_catalog
from spaceclimate.config import Settings
from spaceclimate.store import CubeLocation, open_store

from .profile import hub_settings

OSTIA = "ukmo-ostia-sst-daily"
SEA_ICE = "nsidc-seaice-cdr-nh-monthly"

# Runs in a separate interpreter: opens the cubes over HTTP (fsspec + aiohttp) and saves
# what it read, plus whether the variables were opened lazily (Dask-backed).
REMOTE_READER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import xarray as xr

    base, out = sys.argv[1], sys.argv[2]
    arrays, meta = {}, {}
    opened = {
        "ostia": xr.open_zarr(f"{base}/zarr/ukmo-ostia-sst-daily"),
        "ostia_v1": xr.open_zarr(f"{base}/zarr/ukmo-ostia-sst-daily/v1"),
        "seaice": xr.open_zarr(f"{base}/zarr/nsidc-seaice-cdr-nh-monthly"),
        "overview": xr.open_zarr(f"{base}/zarr/ukmo-ostia-sst-daily", group="overviews/2"),
    }
    for key, ds in opened.items():
        meta[key] = {
            "vars": sorted(ds.data_vars),
            "lazy": all(ds[v].chunks is not None for v in ds.data_vars),
            "attrs_id": ds.attrs.get("id"),
        }
    ostia = opened["ostia"]
    arrays["ostia_sst"] = ostia["sst"].values
    arrays["ostia_anom_t1"] = ostia["sst_anomaly"].isel(time=1).values
    arrays["ostia_lat"] = ostia["lat"].values
    arrays["ostia_time"] = ostia["time"].values.astype("int64")
    arrays["ostia_v1_box"] = opened["ostia_v1"]["sst"].isel(lat=slice(300, 420)).values
    arrays["seaice_sic"] = opened["seaice"]["sic"].values
    arrays["seaice_lat2d"] = opened["seaice"]["lat"].values
    arrays["overview_sst"] = opened["overview"]["sst"].values
    np.savez(out, **arrays)
    print(json.dumps(meta))
    """
)


@pytest.fixture(scope="module")
def settings(hub_home: Path) -> Settings:
    return hub_settings(hub_home)


def cube_path(settings: Settings, collection_id: str) -> CubeLocation:
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        doc = catalog.get_collection(collection_id)
    finally:
        catalog.close()
    return open_store(settings).path(doc["assets"]["zarr"]["href"])  # a folder or a prefix


def same(a: Any, b: Any) -> bool:
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


def test_remote_open_zarr_reads_the_same_values(
    live_hub: str, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "remote.npz"
    proc = subprocess.run(
        [sys.executable, "-c", REMOTE_READER, live_hub, str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads(proc.stdout.strip().splitlines()[-1])
    remote = np.load(out)

    ostia = xr.open_zarr(cube_path(settings, OSTIA))
    assert meta["ostia"] == {"vars": ["sst", "sst_anomaly"], "lazy": True, "attrs_id": OSTIA}
    assert same(remote["ostia_sst"], ostia["sst"].values)
    assert np.isfinite(remote["ostia_sst"]).sum() > 1_000_000  # real data, not all fill
    assert same(remote["ostia_anom_t1"], ostia["sst_anomaly"].isel(time=1).values)
    assert same(remote["ostia_lat"], ostia["lat"].values)
    assert same(remote["ostia_time"], ostia["time"].values.astype("int64"))
    assert same(remote["ostia_v1_box"], ostia["sst"].isel(lat=slice(300, 420)).values)

    seaice = xr.open_zarr(cube_path(settings, SEA_ICE))
    assert meta["seaice"]["vars"] == ["sic"] and meta["seaice"]["lazy"]
    assert same(remote["seaice_sic"], seaice["sic"].values)
    assert same(remote["seaice_lat2d"], seaice["lat"].values)

    overview = xr.open_zarr(cube_path(settings, OSTIA) / "overviews" / "2")
    assert same(remote["overview_sst"], overview["sst"].values)


def test_headers_etag_head_and_ranges(live_hub: str, settings: Settings) -> None:
    local = cube_path(settings, OSTIA)
    meta = httpx.get(f"{live_hub}/zarr/{OSTIA}/zarr.json")
    assert meta.status_code == 200
    assert meta.headers["content-type"].startswith("application/json")
    assert meta.json()["zarr_format"] == 3 and "consolidated_metadata" in meta.json()
    assert "max-age=60" in meta.headers["cache-control"]
    assert "immutable" not in meta.headers["cache-control"]

    chunk_url = f"{live_hub}/zarr/{OSTIA}/v1/sst/c/0/1/2"
    chunk_bytes = (local / "sst" / "c" / "0" / "1" / "2").read_bytes()
    got = httpx.get(chunk_url, headers={"Accept-Encoding": "gzip"})
    assert got.status_code == 200 and got.content == chunk_bytes
    assert got.headers["content-type"] == "application/octet-stream"
    assert "content-encoding" not in got.headers  # compressed chunks are not gzipped again
    assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = got.headers["etag"]
    assert etag.startswith('"') and len(etag) > 10

    again = httpx.get(chunk_url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    head = httpx.head(chunk_url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(chunk_bytes)
    assert head.headers["etag"] == etag

    part = httpx.get(chunk_url, headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == chunk_bytes[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(chunk_bytes)}"


def test_versions_and_missing_things(live_hub: str) -> None:
    root = httpx.get(f"{live_hub}/zarr/{OSTIA}")
    assert root.status_code == 200 and root.json()["version"] == 1
    assert httpx.get(f"{live_hub}/zarr/{OSTIA}/v1").json()["href"].endswith(f"/zarr/{OSTIA}/v1")
    index = httpx.get(f"{live_hub}/zarr/").json()
    assert {c["collection"] for c in index["cubes"]} >= {OSTIA, SEA_ICE}

    missing_chunk = httpx.get(f"{live_hub}/zarr/{OSTIA}/sst/c/0/99/99")
    assert missing_chunk.status_code == 404
    assert missing_chunk.headers["content-type"] == "application/problem+json"
    assert httpx.head(f"{live_hub}/zarr/{OSTIA}/sst/c/0/99/99").status_code == 404
    assert httpx.get(f"{live_hub}/zarr/{OSTIA}/sst").status_code == 404  # a folder
    assert httpx.get(f"{live_hub}/zarr/{OSTIA}/sst/").status_code == 404

    no_version = httpx.get(f"{live_hub}/zarr/{OSTIA}/v7/zarr.json")
    assert no_version.status_code == 404 and "known: v1" in no_version.json()["detail"]
    no_collection = httpx.get(f"{live_hub}/zarr/nope/zarr.json")
    assert no_collection.status_code == 404 and OSTIA in no_collection.json()["detail"]


def raw_get(base: str, path: str) -> tuple[int, bytes]:
    """Send *path* byte for byte (no client-side normalisation of dot segments)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path",
    [
        f"/zarr/{OSTIA}/../../catalog.db",
        f"/zarr/{OSTIA}/sst/../../../catalog.db",
        f"/zarr/{OSTIA}/%2e%2e/%2e%2e/catalog.db",
        f"/zarr/{OSTIA}/v1/../../../catalog.db",
        f"/zarr/{OSTIA}/%2Fetc%2Fpasswd",
        f"/zarr/{OSTIA}/.%2Fzarr.json",
        f"/zarr/{OSTIA}/sst%5C..%5C..%5Czarr.json",
    ],
)
def test_path_traversal_is_refused(live_hub: str, path: str) -> None:
    status, body = raw_get(live_hub, path)
    assert status == 400, (path, status)
    assert b"parameter 'path'" in body
    assert b"SQLite" not in body and b"root:" not in body


@pytest.mark.local_disk
def test_symlink_out_of_a_cube_is_not_followed(tmp_path: Path, samples: Path) -> None:
    from fastapi.testclient import TestClient

    from spaceclimate.api import create_app
    from spaceclimate.ingest import Ingestor

    settings = Settings(home=tmp_path / "hub")
    ingestor = Ingestor(settings)
    try:
        ingestor.ingest([samples / "ozone"])
    finally:
        ingestor.close()
    cid = "esa-cci-ozone-tc"
    cube = cube_path(settings, cid)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (cube / "leak").symlink_to(secret)
    (cube / "toz" / "leakdir").symlink_to(tmp_path, target_is_directory=True)
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/zarr/{cid}/zarr.json").status_code == 200
        for path in ("leak", "toz/leakdir/secret.txt"):
            r = client.get(f"/zarr/{cid}/{path}")
            assert r.status_code == 404 and b"top secret" not in r.content
