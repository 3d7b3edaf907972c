"""Scenario 2: point time series over the full record (OGC API EDR position) at ocean points.

Contenders, each its own server on loopback, the same random ocean points, A B A B:

- the hub: ``/edr/collections/{id}/position`` (CoverageJSON), reading its series copy;
- pygeoapi's EDR with its ``xarray-edr`` provider, and xpublish with xpublish-edr, each on
  the plain layout (one chunk a time step: every step's map is decoded for one point) and on
  the hub's own layout (the series copy, the ``series`` group of the same cube).

The floor: reading and decoding the series copy's chunks of the point (the bytes the hub
must read) plus a bare HTTP round trip on loopback (the hub's ``/edr/conformance``).
Latencies are per request, client to full body, one request at a time.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import xarray as xr
from datasets import COLLECTION, cube_path
from harness import (
    DATA,
    PEERS_PYTHON,
    Row,
    Server,
    hub_server,
    log,
    median,
    peak_rss_mb,
    percentile,
    reset_peak,
    uvicorn,
)

SERIES = "series"


def ocean_points(cube: Path, count: int, seed: int = 7) -> list[tuple[float, float]]:
    """Random cell centres that hold SST (ocean), from the cube's first time step."""
    ds = xr.open_zarr(cube)
    first = np.isfinite(ds["sst"].isel(time=0).values)
    rows, cols = np.nonzero(first)
    rng = np.random.default_rng(seed)
    picks = rng.choice(rows.size, size=count, replace=False)
    lat, lon = ds["lat"].values, ds["lon"].values
    return [(float(lon[cols[k]]), float(lat[rows[k]])) for k in picks]


def peer_servers(cube: Path, plain: Path) -> dict[str, Server]:
    """pygeoapi and xpublish-edr on both layouts (not started)."""
    servers: dict[str, Server] = {}
    for layout, path, group in (("plain", plain, None), ("hub layout", cube, SERIES)):
        config = DATA / f"pygeoapi-{layout.replace(' ', '-')}.yml"
        script = Path(__file__).parent / "peers" / "pygeoapi_config.py"
        args = [str(script), str(config), str(path)]
        if group:
            args.append(group)
        subprocess.run([str(PEERS_PYTHON), *args], check=True, capture_output=True)
        servers[f"pygeoapi ({layout})"] = uvicorn(
            f"pygeoapi-{layout.replace(' ', '-')}",
            PEERS_PYTHON,
            "pygeoapi.starlette_app:APP",
            "/collections/sst",
            {
                "PYGEOAPI_CONFIG": str(config),
                "PYGEOAPI_OPENAPI": str(config.with_suffix(".openapi.yml")),
            },
        )
        servers[f"xpublish-edr ({layout})"] = uvicorn(
            f"xpublish-{layout.replace(' ', '-')}",
            PEERS_PYTHON,
            "peers.xpublish_app:app",
            "/datasets",
            {"BENCH_ZARR": str(path), "BENCH_GROUP": group or ""},
        )
    return servers


def _url(
    name: str, server: Server, lon: float, lat: float, datetime: str | None
) -> tuple[str, dict[str, str]]:
    point = f"POINT({lon} {lat})"
    if name == "hub":
        params = {"coords": point, "parameter-name": "sst"}
        url = f"{server.base}/edr/collections/{COLLECTION}/position"
    elif name.startswith("pygeoapi"):
        params = {"coords": point, "parameter-name": "sst", "f": "json"}
        url = f"{server.base}/collections/sst/position"
    else:
        params = {"coords": point, "parameter-name": "sst"}
        url = f"{server.base}/datasets/sst/edr/position"
    if datetime:
        params["datetime"] = datetime
    return url, params


def _check(name: str, body: bytes, steps: int) -> None:
    """Every contender must answer the whole series (else its figure means nothing)."""
    text = body.decode("utf-8", "replace")
    count = text.count("T12:00:00")
    if count < steps:
        raise RuntimeError(f"{name}: answered {count} time steps, expected {steps}: {text[:300]}")


def floor_seconds(cube: Path, points: list[tuple[float, float]], hub: Server) -> float:
    """Median time to read and decode the point's series-copy chunks plus a bare round trip."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from spaceclimate.store.series import SeriesReader

    ds = xr.open_zarr(cube)
    lats, lons = ds["lat"].values, ds["lon"].values
    steps = ds.sizes["time"]
    reads = []
    for lon, lat in points:
        reader = SeriesReader(cube)  # fresh: no cached shard index
        cell = {"lat": int(np.argmin(abs(lats - lat))), "lon": int(np.argmin(abs(lons - lon)))}
        start = time.perf_counter()
        reader.read_point("sst", cell, 0, steps)
        reads.append(time.perf_counter() - start)
    trips = []
    with httpx.Client(timeout=60) as client:
        for _ in range(max(20, len(points))):
            start = time.perf_counter()
            client.get(f"{hub.base}/edr/conformance").read()
            trips.append(time.perf_counter() - start)
    return median(reads) + median(trips)


def run(
    years: int, home: Path, plain: Path, n_points: int, rounds: int, plain_points: int
) -> list[Row]:
    """Measure every contender on the same points; return the table rows."""
    cube = cube_path(home)
    steps = xr.open_zarr(cube).sizes["time"]
    points = ocean_points(cube, n_points)
    servers: dict[str, Server] = {"hub": hub_server("hub-point", home)}
    servers.update(peer_servers(cube, plain))
    times: dict[str, list[float]] = {k: [] for k in servers}
    peaks: dict[str, float] = {}
    rows: list[Row] = []
    try:
        for name, server in servers.items():
            log(f"starting {name}")
            server.start()
        with httpx.Client(timeout=600) as client:
            for name, server in servers.items():  # one warm-up request each (opens the data)
                if "plain" in name:
                    continue  # a request there decodes every map: the timed ones suffice
                url, params = _url(name, server, *points[-1], None)
                response = client.get(url, params=params)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
                _check(name, response.content, steps)
                reset_peak(server.pid)
            for r in range(rounds):
                for i, (lon, lat) in enumerate(points):
                    for name, server in servers.items():
                        if "plain" in name and (r > 0 or i >= plain_points):
                            continue  # a full decode of every map per point: a few suffice
                        url, params = _url(name, server, lon, lat, None)
                        start = time.perf_counter()
                        response = client.get(url, params=params)
                        body = response.content
                        times[name].append(time.perf_counter() - start)
                        if response.status_code != 200:
                            raise RuntimeError(f"{name}: {response.status_code} {body[:300]!r}")
                        _check(name, body, steps)
                log(f"point series round {r + 1}/{rounds} done")
        for name, server in servers.items():
            peaks[name] = peak_rss_mb(server.pid)
        floor = floor_seconds(cube, points, servers["hub"])
    finally:
        for server in servers.values():
            server.stop()
    ours = median(times["hub"])
    fastest_peer = min(median(v) for k, v in times.items() if k != "hub")
    for name, values in times.items():
        rows.append(
            Row(
                "2 point series",
                f"{years} y daily ({steps} steps)",
                name,
                "median ms",
                median(values) * 1000,
                "ms",
                ratio=median(values) / ours if name != "hub" else fastest_peer / ours,
                floor_x=median(values) / floor,
                peak_mb=peaks.get(name),
                note=f"p95 {percentile(values, 0.95) * 1000:.1f} ms, n={len(values)}",
            )
        )
    rows.append(
        Row(
            "2 point series",
            f"{years} y",
            "floor",
            "median ms",
            floor * 1000,
            "ms",
            note="decode the point's series chunks + bare HTTP round trip",
        )
    )
    return rows


def growth(home: Path, years: int, n_points: int) -> Row:
    """The hub alone on a smaller record: median latency and peak memory."""
    cube = cube_path(home)
    steps = xr.open_zarr(cube).sizes["time"]
    points = ocean_points(cube, n_points)
    with hub_server(f"hub-point-{years}y", home) as server, httpx.Client(timeout=600) as client:
        url, params = _url("hub", server, *points[-1], None)
        client.get(url, params=params).raise_for_status()
        reset_peak(server.pid)
        times = []
        for lon, lat in points:
            url, params = _url("hub", server, lon, lat, None)
            start = time.perf_counter()
            response = client.get(url, params=params)
            response.read()
            times.append(time.perf_counter() - start)
            _check("hub", response.content, steps)
        peak = peak_rss_mb(server.pid)
    return Row(
        "2 point series",
        f"{years} y daily ({steps} steps)",
        "hub",
        "median ms",
        median(times) * 1000,
        "ms",
        peak_mb=peak,
        note=f"growth; p95 {percentile(times, 0.95) * 1000:.1f} ms, n={len(times)}",
    )
