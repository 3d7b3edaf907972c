"""Scenario 4: the area-mean time series over an AR6 region for the full record.

Contenders, each a fresh process (so each reports its own peak memory), alternating:

- the hub: its ``area_mean`` process (OGC API Processes, executed synchronously over HTTP:
  ``POST /processes/area-mean/execution``), true cell areas as weights;
- plain xarray + regionmask: open the Zarr store, mask the region (the same AR6 polygons),
  cos-latitude weights, ``weighted(...).mean(("lat", "lon"))``; on the plain layout and on
  the hub's cube.

The floor: read and decode once the bytes of the region's cells for the full record from the
hub's series copy (the shards the hub reads), nothing else.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
from datasets import COLLECTION, cube_path
from harness import (
    HUB_PYTHON,
    REPO,
    Row,
    hub_server,
    log,
    median,
    peak_rss_mb,
    reset_peak,
    run_command,
)

REGION = "NAO"  # AR6 N.Atlantic-Ocean

PLAIN = """
import json, sys, time
import numpy as np, regionmask, xarray as xr
from shapely.geometry import shape
start = time.perf_counter()
doc = json.load(open(sys.argv[2]))
feature = next(f for f in doc["features"] if f["properties"]["abbrev"] == sys.argv[3])
region = regionmask.Regions([shape(feature["geometry"])], numbers=[0], names=["r"], abbrevs=["r"])
ds = xr.open_zarr(sys.argv[1])
sst = ds["sst"]
mask = region.mask(ds["lon"], ds["lat"]) == 0
weights = np.cos(np.deg2rad(ds["lat"]))
series = sst.where(mask).weighted(weights).mean(("lat", "lon")).compute()
print(json.dumps({"seconds": time.perf_counter() - start, "n": int(series.size),
                  "mean": float(series.mean())}))
"""

FLOOR = """
import json, sys, time
import numpy as np, xarray as xr
sys.path.insert(0, sys.argv[3])
from spaceclimate.compute.regions import region_mask
from spaceclimate.store.series import SeriesReader
cube = sys.argv[1]
ds = xr.open_zarr(cube)
_label, mask = region_mask(ds["sst"].isel(time=0), sys.argv[2])
rows = np.flatnonzero(mask.values.any(axis=1)); cols = np.flatnonzero(mask.values.any(axis=0))
reader = SeriesReader(__import__("pathlib").Path(cube))
lay = reader._layout("sst")
steps = ds.sizes["time"]
start = time.perf_counter()
seen = set()
for i in range(rows[0], rows[-1] + 1, lay.inner[1]):
    for j in range(cols[0], cols[-1] + 1, lay.inner[2]):
        for t in range(0, steps, lay.inner[0]):
            key = (t // lay.shard[0], i // lay.shard[1], j // lay.shard[2])
            inner = (0, (i % lay.shard[1]) // lay.inner[1], (j % lay.shard[2]) // lay.inner[2])
            reader._read_inner(lay, key, inner, np.dtype("<f4"))
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def _ours(server_base: str, client: httpx.Client) -> tuple[float, float]:
    body = {"inputs": {"collection": COLLECTION, "variable": "sst", "region": REGION}}
    start = time.perf_counter()
    response = client.post(f"{server_base}/processes/area-mean/execution", json=body)
    seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"area_mean: {response.status_code} {response.text[:400]}")
    doc = response.json()
    series = doc.get("series") or doc.get("outputs", {}).get("series") or doc
    values = series.get("values") if isinstance(series, dict) else None
    mean = float(np.nanmean(np.asarray(values, dtype="float64"))) if values else float("nan")
    return seconds, mean


def _plain(path: Path) -> tuple[float, float, float]:
    regions = REPO / "src" / "spaceclimate" / "compute" / "data" / "ar6_reference_regions.geojson"
    run = run_command([str(HUB_PYTHON), "-c", PLAIN, str(path), str(regions), REGION])
    if run.returncode != 0:
        raise RuntimeError(f"plain area mean failed: {run.output[-1500:]}")
    import json

    doc = json.loads(run.output.strip().splitlines()[-1])
    return run.seconds, run.peak_mb, float(doc["mean"])


def floor_seconds(cube: Path) -> float:
    """Read and decode the region's series-copy chunks once (seconds, in a fresh process)."""
    import json

    run = run_command([str(HUB_PYTHON), "-c", FLOOR, str(cube), REGION, str(REPO / "src")])
    if run.returncode != 0:
        raise RuntimeError(f"area floor failed: {run.output[-1500:]}")
    return float(json.loads(run.output.strip().splitlines()[-1])["seconds"])


def run(years: int, home: Path, plain: Path, rounds: int) -> list[Row]:
    """Alternate the hub and the plain calculation on both layouts, *rounds* times."""
    cube = cube_path(home)
    times: dict[str, list[float]] = {
        "hub": [],
        "plain xarray+regionmask (plain)": [],
        "plain xarray+regionmask (hub cube)": [],
    }
    peaks: dict[str, float] = {}
    means: dict[str, float] = {}
    for r in range(rounds):
        for name in times:
            log(f"area mean round {r + 1}/{rounds}: {name}")
            if name == "hub":
                with hub_server("hub-area", home) as server, httpx.Client(timeout=1800) as c:
                    reset_peak(server.pid)
                    seconds, means[name] = _ours(server.base, c)
                    peaks[name] = max(peaks.get(name, 0.0), peak_rss_mb(server.pid))
            else:
                path = plain if "(plain)" in name else cube
                seconds, peak, means[name] = _plain(path)
                peaks[name] = max(peaks.get(name, 0.0), peak)
            times[name].append(seconds)
    floor = floor_seconds(cube)
    ours = median(times["hub"])
    rows = []
    for name, values in times.items():
        rows.append(
            Row(
                "4 area mean NAO",
                f"{years} y daily",
                name,
                "median s",
                median(values),
                "s",
                ratio=median(values) / ours if name != "hub" else None,
                floor_x=median(values) / floor,
                peak_mb=peaks.get(name),
                note=f"mean {means.get(name, float('nan')):.3f} K, n={len(values)}",
            )
        )
    rows.append(
        Row(
            "4 area mean NAO",
            f"{years} y",
            "floor",
            "median s",
            floor,
            "s",
            note="read + decode the region's series chunks once",
        )
    )
    return rows


def growth(years: int, home: Path) -> Row:
    """The hub alone on a smaller record."""
    with hub_server(f"hub-area-{years}y", home) as server, httpx.Client(timeout=1800) as c:
        reset_peak(server.pid)
        seconds, mean = _ours(server.base, c)
        peak = peak_rss_mb(server.pid)
    return Row(
        "4 area mean NAO",
        f"{years} y daily",
        "hub",
        "median s",
        seconds,
        "s",
        peak_mb=peak,
        note=f"growth; mean {mean:.3f} K, n=1",
    )
