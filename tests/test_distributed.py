"""Ingest and analytics on a real ``dask.distributed`` cluster (``SCO_DASK_SCHEDULER``).

The cluster is a ``dask scheduler`` and two ``dask worker`` processes (one thread each),
started here. Where the work ran is read from the scheduler's task stream (every task, with
the worker that ran it); results are checked against the same work done in-process and
against independent calculations.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.array
import netCDF4
import numpy as np
import pytest
import xarray as xr
from distributed import Client

from spaceclimate.catalog import open_catalog
from spaceclimate.compute import cluster
from spaceclimate.config import Settings
from spaceclimate.errors import CorruptFileError, UnavailableError
from spaceclimate.ingest import Ingestor
from spaceclimate.jobs import JobCancelled
from spaceclimate.store import open_store

from .conftest import start_server, stop_server
from .hubutil import snapshot
from .services import DaskCluster, dask_cluster, free_port

DAYS = [f"sst/sst_ostia_l4_anom_daily_2017060{d}.nc" for d in (5, 6, 7)]
SOIL = [f"soil_moisture/sm_esacci_combined_v02.2_1978111{d}.nc" for d in (4, 5, 6)]
MONTHLY = "sst/sst_ostia_monthly_equatorial_2006-2010.nc"


@pytest.fixture(scope="module")
def dask_procs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    with dask_cluster(2, log_dir=tmp_path_factory.mktemp("dask")) as running:
        yield running


@pytest.fixture(scope="module")
def client(dask_procs: DaskCluster) -> Iterator[Client]:
    with Client(dask_procs.address, set_as_default=False) as observer:
        observer.get_task_stream()  # installs the scheduler's task-stream recorder
        yield observer
    cluster.close_clients()


def tasks_since(client: Client, start: float) -> list[dict[str, Any]]:
    """Every task the cluster finished since *start* (epoch seconds), with its worker."""
    records = client.get_task_stream(start=start)
    return [r for r in records if r.get("status") == "OK"]


def key_name(record: dict[str, Any]) -> str:
    """The name of a task's key (a dask array's keys are tuples ``(name, index...)``)."""
    key = record["key"]
    return str(key[0] if isinstance(key, tuple) else key)


def settings_for(home: Path, address: str | None) -> Settings:
    return Settings(home=home, dask_scheduler=address, catalog_url=None, store_url=None)


def ingest(settings: Settings, paths: list[Path]) -> None:
    ingestor = Ingestor(settings)
    try:
        ingestor.ingest(paths)
    finally:
        ingestor.close()


def latest_cube(home: Path, collection_id: str) -> xr.Dataset:
    settings = settings_for(home, None)
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        href = catalog.get_collection(collection_id)["assets"]["zarr"]["href"]
    finally:
        catalog.close()
    return open_store(settings).open(href)


def test_the_workers_are_separate_processes(client: Client) -> None:
    pids = client.run(os.getpid)
    assert len(pids) == 2 and os.getpid() not in pids.values()
    assert len(set(pids.values())) == 2
    assert all(n == 1 for n in client.nthreads().values())


def test_ingest_harmonises_every_file_on_the_workers(
    client: Client, dask_procs: DaskCluster, tmp_path: Path, samples: Path
) -> None:
    files = [samples / f for f in DAYS + SOIL]
    start = time.time()
    ingest(settings_for(tmp_path / "cluster", dask_procs.address), files)
    on_cluster = [r for r in tasks_since(client, start) if key_name(r).startswith("sco-harmonise-")]
    names = sorted(key_name(r).split("-", 4)[-1] for r in on_cluster)
    assert names == sorted(f.name for f in files)  # one task a file, each ran once
    workers = set(client.scheduler_info()["workers"])
    assert {r["worker"] for r in on_cluster} == workers  # both workers took files

    # the cubes equal those of the same ingest done in this process
    ingest(settings_for(tmp_path / "local", None), files)
    for cid in ("ukmo-ostia-sst-daily", "esa-cci-sm-combined"):
        remote, local = (latest_cube(tmp_path / home, cid) for home in ("cluster", "local"))
        for name in local.data_vars:
            assert np.array_equal(remote[name].values, local[name].values, equal_nan=True), name
    with netCDF4.Dataset(samples / DAYS[2]) as nc:
        var = nc.variables["analysed_sst"]
        var.set_auto_maskandscale(False)
        raw = float(var[0, 400, 880])  # lat 10.125, lon 220.125
    cube = latest_cube(tmp_path / "cluster", "ukmo-ostia-sst-daily")
    got = float(cube["sst"].isel(time=2).sel(lat=10.125, lon=-139.875))
    assert got == pytest.approx(raw * 0.01 + 273.15, abs=1e-4)


def test_bad_file_harmonised_on_a_worker_is_refused(
    dask_procs: DaskCluster, tmp_path: Path, samples: Path
) -> None:
    home = tmp_path / "hub"
    settings = settings_for(home, dask_procs.address)
    ingest(settings, [samples / DAYS[0]])
    before = snapshot(home)
    bad = tmp_path / "sst_ostia_l4_anom_daily_20170609.nc"
    bad.write_bytes(np.random.default_rng(0).bytes(50_000))  # not a NetCDF file
    with pytest.raises(CorruptFileError) as refused:  # raised on the worker, the same type
        ingest(settings, [samples / DAYS[1], bad])
    assert bad.name in str(refused.value) and len(str(refused.value).splitlines()) == 1
    assert snapshot(home) == before


def test_async_job_computes_on_the_workers(
    client: Client, dask_procs: DaskCluster, tmp_path: Path, samples: Path
) -> None:
    home = tmp_path / "hub"
    ingest(settings_for(home, None), [samples / MONTHLY])
    url, proc = start_server(home, env={"SCO_DASK_SCHEDULER": dask_procs.address})
    try:
        from spaceclimate.client import Hub

        with Hub(url) as hub:
            start = time.time()
            job = hub.submit(
                "anomaly", collection="ukmo-ostia-sst-monthly", variable="sst", baseline="2007/2009"
            )
            results = job.wait(timeout=180)
            info = job.refresh()
            assert info["status"] == "successful" and info["progress"] == 100
            ran = tasks_since(client, start)
            cid = results["collection"]["collection"]
            derived = xr.open_zarr(f"{url}/zarr/{cid}")["sst_anomaly"].values
            source = hub.open("ukmo-ostia-sst-monthly")["sst"].load()
    finally:
        stop_server(proc)
    # the job's graph ran on the two workers (reading the cube, grouping, subtracting)
    assert len(ran) >= 4 and {r["worker"] for r in ran} <= set(client.scheduler_info()["workers"])
    names = {key_name(r) for r in ran}
    assert any(n.startswith("open_dataset-") for n in names)  # the cube's chunks were read there
    assert not any(n.startswith("sco-harmonise-") for n in names)
    base = source.sel(time=slice("2007-01-01", "2009-12-31"))
    expected = source.groupby("time.month") - base.groupby("time.month").mean("time")
    np.testing.assert_allclose(derived, expected.values, atol=1e-4, equal_nan=True)


def test_stopping_a_computation_cancels_its_tasks_on_the_cluster(client: Client) -> None:
    """What a dismissed job does: progress raises, the cluster's tasks are cancelled."""

    def slow(block: np.ndarray) -> np.ndarray:
        time.sleep(0.5)
        return block

    blocks = 40  # 10 s of work for two single-thread workers
    lazy = xr.DataArray(dask.array.ones(blocks, chunks=1).map_blocks(slow), dims="x")
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if len(calls) >= 3:
            raise JobCancelled("dismissed while running")

    start = time.time()
    with pytest.raises(JobCancelled):
        cluster.compute_on_cluster(client, lazy, progress)
    assert calls[0] == (0, blocks) and all(total == blocks for _d, total in calls)
    name = lazy.data.name  # the keys of the blocks are (name, i)

    def left(dask_scheduler: Any) -> int:
        return sum(1 for key in dask_scheduler.tasks if name in str(key))

    deadline = time.monotonic() + 10
    while client.run_on_scheduler(left) > 0:
        assert time.monotonic() < deadline, "the cancelled tasks stayed on the cluster"
        time.sleep(0.1)
    done = [r for r in tasks_since(client, start) if key_name(r) == name]
    assert 0 < len(done) < blocks // 2  # stopped after a few blocks, not run to the end
    # and a computation that runs to its end reports its progress up to the last chunk
    finished: list[tuple[int, int]] = []
    small = xr.DataArray(dask.array.arange(12, chunks=3), dims="x") * 2
    result = cluster.compute_on_cluster(client, small, lambda d, t: finished.append((d, t)))
    assert result.values.tolist() == [2 * i for i in range(12)] and result.chunks is None
    assert finished[-1] == (4, 4)


def test_an_unreachable_scheduler_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2.0)
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(UnavailableError) as unavailable:
        cluster.dask_client(address)
    assert address in str(unavailable.value) and unavailable.value.status == 503
