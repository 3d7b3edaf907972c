"""Serving under hostile load: the hub sheds what it cannot serve in time, and stays up.

A real ``sco serve`` process on loopback serves the bundled collections; clients written
here ask it for searches, tiles, point series and whole-collection CSV downloads, without
ever waiting between requests (a refusal is retried at once). The hub must answer every
request (no 5xx but its deliberate 503s, each with ``Retry-After``), keep the requests it
admits fast, keep its memory bounded, and give memory back when the load is gone.

The figures asserted are the documented ones (docs/deploy.md, "Security and limits"):
p99 of admitted requests (to the answer's headers; a download streams after them) under
1 s, and the server's resident memory under :data:`MEMORY_BOUND`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest
import xarray as xr

from spaceclimate.compute import export
from spaceclimate.compute.subset import select_bbox

from .conftest import start_server, stop_server
from .loadclient import OSTIA, Tally
from .profile import hub_settings

REPO = Path(__file__).resolve().parents[1]
#: Clients of the hostile load, and how long they keep at it (the issue's figures).
CLIENTS = 200
SECONDS = 60.0
#: The documented bounds: admitted p99 and the server's resident memory under that load.
P99_BOUND = 1.0
MEMORY_BOUND = 1024 * 2**20
#: Memory a whole-collection CSV may add to the server while it streams (the old code: ~600 MB).
CSV_MEMORY_BOUND = 250 * 2**20


def rss(pid: int) -> int:
    """Resident memory of process *pid* in bytes (Linux /proc)."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    assert found, text
    return int(found.group(1)) * 1024


class MemoryWatch:
    """Sample a process's resident memory every 50 ms in a thread; keep the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss(pid)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(0.05):
            self.peak = max(self.peak, rss(self.pid))

    def __enter__(self) -> MemoryWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()


@pytest.fixture(scope="module")
def server(hub_home: Path) -> Iterator[tuple[str, int]]:
    """A real server with the default admission limits: its URL and process id."""
    url, proc = start_server(hub_home)
    try:
        yield url, proc.pid
    finally:
        stop_server(proc)


# -- the tests -----------------------------------------------------------------------------------
def test_hostile_load_is_shed_not_queued(server: tuple[str, int]) -> None:
    url, pid = server
    httpx.get(f"{url}/tiles/{OSTIA}/sst/0/0/0.png", timeout=30)  # warm the process up
    with MemoryWatch(pid) as memory:
        run = subprocess.run(
            [sys.executable, "-m", "tests.loadclient", url, str(CLIENTS), str(SECONDS)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=SECONDS + 180,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    tally = Tally(**json.loads(run.stdout.strip().splitlines()[-1]))
    tally.statuses = {int(k): v for k, v in tally.statuses.items()}
    served = sum(len(v) for v in tally.latency.values())
    report = (
        f"statuses {tally.statuses}, admitted {served}, p99 {tally.p99():.3f} s "
        f"(by kind: { {k: round(tally.p99([k]), 3) for k in tally.latency} }), "
        f"peak RSS {memory.peak / 2**20:.0f} MB, downloads complete "
        f"{tally.complete_downloads}, errors {tally.errors[:3]}"
    )
    print(report)
    assert not tally.errors, report
    assert all(s < 500 or s == 503 for s in tally.statuses), report
    assert tally.refusals_without_retry_after == 0, report
    assert tally.statuses.get(503, 0) > 0, f"200 clients were never shed: {report}"
    for kind in ("search", "tile", "series"):
        assert len(tally.latency.get(kind, [])) >= 100, f"{kind} starved: {report}"
    # the clients share one address, so one download runs at a time (the per-client cap);
    # a whole-collection CSV takes 15 s on an idle machine and yields to light requests
    assert len(tally.latency.get("download", [])) >= 1, f"downloads starved: {report}"
    assert tally.complete_downloads >= 1, report
    assert tally.p99() < P99_BOUND, report
    assert memory.peak < MEMORY_BOUND, report
    # the hub is up, ready and fast once the clients are gone, and has given memory back
    assert httpx.get(f"{url}/ready", timeout=5).status_code == 200
    start = time.monotonic()
    assert httpx.get(f"{url}/stac/collections/{OSTIA}", timeout=5).status_code == 200
    assert time.monotonic() - start < 0.5
    settled = rss(pid)
    assert settled < MEMORY_BOUND * 0.75, f"{settled / 2**20:.0f} MB kept after the load"
    metrics = httpx.get(f"{url}/metrics", timeout=5).text
    assert re.search(r'sco_requests_shed_total\{reason="busy"\} [1-9]', metrics), metrics[-2000:]


def test_a_whole_collection_csv_streams_in_bounded_memory(
    server: tuple[str, int], hub_home: Path
) -> None:
    url, pid = server
    with httpx.Client(timeout=120) as http:
        # a download of the load test's clients (the same address) may still be ending in the
        # server: the per-client cap answers 429 until it has; wait for it as a client would
        deadline = time.monotonic() + 120
        while True:
            warm = http.get(f"{url}/download/{OSTIA}", params={"format": "csv", "bbox": "0,0,1,1"})
            if warm.status_code != 429 or time.monotonic() > deadline:
                break
            time.sleep(int(warm.headers["Retry-After"]))
        assert warm.status_code == 200, warm.text
        before = rss(pid)
        with (
            MemoryWatch(pid) as memory,
            http.stream("GET", f"{url}/download/{OSTIA}", params={"format": "csv"}) as r,
        ):
            assert r.status_code == 200
            lines = 0
            first = b""
            for chunk in r.iter_bytes():
                if not first:
                    first = chunk
                lines += chunk.count(b"\n")
    cube = xr.open_zarr(_cube_path(hub_home))
    rows = cube.sizes["time"] * cube.sizes["lat"] * cube.sizes["lon"]
    assert lines == rows + 1  # a header and a row a cell and day: nothing lost in the pieces
    assert first.startswith(b"time,lon,lat,sst [K],sst_anomaly [K]\n")
    grew = memory.peak - before
    print(f"whole-collection CSV: {rows} rows, server grew {grew / 2**20:.0f} MB")
    assert grew < CSV_MEMORY_BOUND, f"the server grew by {grew / 2**20:.0f} MB"


def _cube_path(home: Path) -> Path:
    found = sorted((home / "store" / OSTIA).glob("*.zarr"))
    assert found, f"no cube of {OSTIA} in {home}"
    return found[-1]


def test_heavy_requests_are_capped_per_client_and_overall(hub_home: Path) -> None:
    env = {"SCO_MAX_HEAVY_REQUESTS": "2", "SCO_MAX_HEAVY_PER_CLIENT": "1"}
    url, proc = start_server(hub_home, env=env)
    whole = f"{url}/download/{OSTIA}?format=csv"
    try:
        with (
            httpx.Client(timeout=120) as first,
            httpx.Client(
                timeout=30, transport=httpx.HTTPTransport(local_address="127.0.0.2")
            ) as second,
            httpx.Client(
                timeout=30, transport=httpx.HTTPTransport(local_address="127.0.0.3")
            ) as third,
            first.stream("GET", whole) as running,
        ):
            assert running.status_code == 200
            same = first.get(whole)  # the same address, while its download streams
            assert same.status_code == 429, same.text
            assert same.headers["Retry-After"].isdigit()
            assert "at once" in same.json()["detail"]
            assert first.get(f"{url}/download/{OSTIA}/estimate").status_code == 200
            with second.stream("GET", whole) as other:  # a second address: admitted
                assert other.status_code == 200
                full = third.get(whole)  # a third: over the overall cap
                assert full.status_code == 503, full.text
                assert int(full.headers["Retry-After"]) >= 1
                assert full.headers["content-type"].startswith("application/problem+json")
                assert third.get(f"{url}/stac/collections").status_code == 200  # light: served
        # the caps are given back once the server sees the clients gone (a piece at most)
        deadline = time.monotonic() + 15
        after = httpx.get(whole + "&bbox=0,0,1,1", timeout=30)
        while after.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            after = httpx.get(whole + "&bbox=0,0,1,1", timeout=30)
        assert after.status_code == 200, after.text
        assert len(list(csv.reader(io.StringIO(after.text)))) == 1 + 4 * 4 * 3
    finally:
        stop_server(proc)


def test_a_full_queue_answers_503_at_once(hub_home: Path) -> None:
    env = {
        "SCO_MAX_ACTIVE_REQUESTS": "1",
        "SCO_MAX_QUEUED_REQUESTS": "1",
        "SCO_QUEUE_TIMEOUT": "5",
    }
    url, proc = start_server(hub_home, env=env)
    warm = f"{url}/edr/collections/{OSTIA}/position?coords=POINT(10 10)"
    assert httpx.get(warm, timeout=30).status_code == 200

    async def burst() -> list[tuple[int, float, str | None]]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:

            async def one(i: int) -> tuple[int, float, str | None]:
                start = time.monotonic()
                path = f"/edr/collections/{OSTIA}/position?coords=POINT({i % 90} {i % 40})"
                async with s.get(url + path) as r:
                    await r.read()
                    return r.status, time.monotonic() - start, r.headers.get("Retry-After")

            return await asyncio.gather(*(one(i) for i in range(40)))

    try:
        answers = asyncio.run(burst())
        statuses = sorted({status for status, _, _ in answers})
        assert statuses == [200, 503], answers
        refused = [(t, ra) for status, t, ra in answers if status == 503]
        assert all(ra == "1" for _, ra in refused), refused
        assert sum(1 for s, _, _ in answers if s == 200) >= 2
        health = httpx.get(f"{url}/health", timeout=5)  # never held back
        assert health.status_code == 200
        body = httpx.get(f"{url}/metrics", timeout=5).text
        shed = re.search(r'sco_requests_shed_total\{reason="busy"\} (\d+)', body)
        assert shed and int(shed.group(1)) == len(refused)
    finally:
        stop_server(proc)


# -- CSV pieces ----------------------------------------------------------------------------------
def test_csv_windows_bound_every_piece_and_cover_every_cell(hub_home: Path) -> None:
    cube = xr.open_zarr(_cube_path(hub_home))
    dims = ["time", "lat", "lon"]
    seen = 0
    order: list[tuple[int, int]] = []
    for window, pieces in export.csv_windows(cube, dims):
        span = {d: window.get(d, slice(0, cube.sizes[d])) for d in dims}
        block = {d: len(range(cube.sizes[d])[s]) for d, s in span.items()}
        assert block["time"] == 1  # a day of the 0.25 degree map is over a piece
        for piece in pieces:
            rows = 1
            for d in dims:
                rows *= len(range(block[d])[piece.get(d, slice(None))])
            assert 0 < rows <= export.CSV_BLOCK_ROWS
            seen += rows
            lat = range(cube.sizes["lat"])[span["lat"]][piece["lat"]]
            order.append((span["time"].start, lat.start))
    assert seen == cube.sizes["time"] * cube.sizes["lat"] * cube.sizes["lon"]
    assert order == sorted(order)  # row order: time, then lat


def test_csv_in_pieces_equals_the_whole_table(hub_home: Path) -> None:
    from spaceclimate.services.context import HubContext

    ctx = HubContext(hub_settings(hub_home))
    try:
        for cid, box in (
            (OSTIA, (-40.0, 20.0, 10.0, 60.0)),
            ("nsidc-seaice-cdr-nh-monthly", (-20.0, 70.0, 40.0, 85.0)),
        ):
            cube = ctx.cube(cid)
            area = select_bbox(cube, box)
            whole = export.csv_frame(area.window, area.mask)
            text = "".join(export.iter_csv(area.window, area.mask))
            expected = ",".join(map(str, whole.columns)) + "\n"
            expected += whole.to_csv(index=False, header=False, lineterminator="\n")
            assert text == expected, cid
            assert text.count("\n") > export.CSV_BLOCK_ROWS or cid != OSTIA
    finally:
        ctx.close()


def test_admission_limits_are_settings() -> None:
    from spaceclimate.config import Settings

    defaults = Settings()
    doc = json.dumps(Settings.model_json_schema())
    for name in (
        "max_active_requests",
        "max_queued_requests",
        "queue_timeout",
        "max_heavy_requests",
        "max_heavy_per_client",
    ):
        assert name in doc
    assert defaults.max_heavy_per_client <= defaults.max_heavy_requests
    deploy = (Path(__file__).resolve().parents[1] / "docs" / "deploy.md").read_text()
    for variable in ("SCO_MAX_ACTIVE_REQUESTS", "SCO_QUEUE_TIMEOUT", "SCO_MAX_HEAVY_REQUESTS"):
        assert variable in deploy


def test_the_client_waits_and_asks_again_when_the_hub_is_busy(
    hub_home: Path, tmp_path: Path
) -> None:
    from spaceclimate.client import Hub, HubBusy

    env = {"SCO_MAX_HEAVY_REQUESTS": "1", "SCO_MAX_HEAVY_PER_CLIENT": "1"}
    url, proc = start_server(hub_home, env=env)
    whole = f"{url}/download/{OSTIA}?format=csv"
    try:
        other = httpx.Client(timeout=120, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        with other, other.stream("GET", whole) as running:
            assert running.status_code == 200
            with Hub(url, retries=0) as impatient, pytest.raises(HubBusy) as refused:
                impatient.download(OSTIA, tmp_path / "a.csv", bbox=(0, 0, 1, 1), format="csv")
            assert refused.value.status == 503
            assert refused.value.retry_after == 5
            closer = threading.Timer(1.0, running.close)
            closer.start()
            start = time.monotonic()
            with Hub(url) as patient:  # refused, waits Retry-After, asks again: served
                path = patient.download(OSTIA, tmp_path / "b.csv", bbox=(0, 0, 1, 1), format="csv")
            waited = time.monotonic() - start
            closer.join()
        assert 4.5 <= waited < 30, waited
        assert len(path.read_text().splitlines()) == 1 + 4 * 4 * 3
    finally:
        stop_server(proc)
