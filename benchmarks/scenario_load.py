"""Scenario 6: load - a mixed workload from many concurrent clients for a fixed time.

One hub server (one process, as ``sco serve`` starts it) on the 20-year cube; a client
process runs C concurrent clients on loopback for D seconds, each looping over a random mix
of requests: a catalog search (bbox + datetime + collection), a map tile (random zoom 0-6
ocean tile, random day of the record) and a point series over the full record (random ocean
point). Closed loop: each client sends its next request when the last one is answered, so
the rate measured is what the server sustains for C clients. Reported: requests per second,
median and p99 latency of the requests answered 200, errors (any other status but the
admission control's 503 and 429, and transport errors) and requests shed (503/429, retried
at once: a closed-loop client does not wait Retry-After).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
from datasets import COLLECTION, cube_path
from harness import HUB_PYTHON, Row, hub_server, log, peak_rss_mb, reset_peak, run_command
from scenario_point import ocean_points
from scenario_tiles import tile_list

CLIENT = """
import asyncio, json, random, sys, time
import httpx
spec = json.load(open(sys.argv[1]))
base, clients, seconds = spec["base"], spec["clients"], spec["seconds"]
latencies, errors, shed, kinds, by_kind = [], 0, 0, {}, {}
async def worker(seed):
    global errors, shed
    rng = random.Random(seed)
    async with httpx.AsyncClient(timeout=60) as client:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            kind = rng.choice(["search", "tile", "point"])
            if kind == "search":
                w, s = rng.uniform(-180, 140), rng.uniform(-80, 50)
                t0 = rng.choice(spec["days"])
                params = {"bbox": f"{w},{s},{w + 40},{s + 30}", "collections": spec["collection"],
                          "datetime": f"{t0}T00:00:00Z/{t0}T23:59:59Z", "limit": "100"}
                url = base + "/stac/search"
            elif kind == "tile":
                z, x, y = rng.choice(spec["tiles"])
                url = base + f"/tiles/{spec['collection']}/sst/{z}/{x}/{y}.png"
                params = {"datetime": rng.choice(spec["days"])}
            else:
                lon, lat = rng.choice(spec["points"])
                url = base + f"/edr/collections/{spec['collection']}/position"
                params = {"coords": f"POINT({lon} {lat})", "parameter-name": "sst"}
            start = time.perf_counter()
            try:
                response = await client.get(url, params=params)
                await response.aread()
                ok = response.status_code == 200
                if response.status_code in (429, 503) and "retry-after" in response.headers:
                    shed += 1
                    continue
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            kinds[kind] = kinds.get(kind, 0) + 1
            by_kind.setdefault(kind, []).append(latencies[-1])
            if not ok:
                errors += 1
async def main():
    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return time.perf_counter() - start
elapsed = asyncio.run(main())
latencies.sort()
def q(p):
    if not latencies:
        return float("nan")
    return latencies[min(len(latencies) - 1, int(p * (len(latencies) - 1)))]
def p(values, f):
    values = sorted(values)
    return values[min(len(values) - 1, int(f * (len(values) - 1)))] if values else float("nan")
per_kind = {k: [round(p(v, 0.5) * 1000), round(p(v, 0.99) * 1000)] for k, v in by_kind.items()}
print(json.dumps({"requests": len(latencies), "errors": errors, "shed": shed, "seconds": elapsed,
                  "p50": q(0.5), "p99": q(0.99), "kinds": kinds, "per_kind": per_kind}))
"""


def run(years: int, home: Path, clients: list[int], seconds: float) -> list[Row]:
    """Run the mixed workload at each client count; return one row per count."""
    cube = cube_path(home)
    times = xr.open_zarr(cube)["time"].values
    rng = np.random.default_rng(5)
    days = [str(np.datetime_as_string(t, unit="D")) for t in rng.choice(times, 200)]
    spec = {
        "collection": COLLECTION,
        "days": days,
        "tiles": [list(t) for t in tile_list(cube, 24)],
        "points": [list(p) for p in ocean_points(cube, 200, seed=99)],
        "seconds": seconds,
    }
    rows = []
    with hub_server("hub-load", home) as server:
        spec["base"] = server.base
        for count in clients:
            spec["clients"] = count
            path = home.parent / "load-spec.json"
            path.write_text(json.dumps(spec))
            reset_peak(server.pid)
            log(f"load: {count} concurrent clients for {seconds:.0f} s")
            run_ = run_command([str(HUB_PYTHON), "-c", CLIENT, str(path)])
            if run_.returncode != 0:
                raise RuntimeError(f"load client failed: {run_.output[-1500:]}")
            doc = json.loads(run_.output.strip().splitlines()[-1])
            rate = doc["requests"] / doc["seconds"]
            rows.append(
                Row(
                    "6 load (mixed)",
                    f"{years} y, {count} clients, {seconds:.0f} s",
                    "hub",
                    "req/s",
                    rate,
                    "req/s",
                    peak_mb=peak_rss_mb(server.pid),
                    note=f"p50 {doc['p50'] * 1000:.0f} ms, p99 {doc['p99'] * 1000:.0f} ms, "
                    f"errors {doc['errors']} of {doc['requests']}, shed {doc.get('shed', 0)} "
                    "(503/429); p50/p99 ms by kind: "
                    + ", ".join(f"{k} {a}/{b}" for k, (a, b) in sorted(doc["per_kind"].items())),
                    extra={
                        "p99_ms": doc["p99"] * 1000,
                        "errors": float(doc["errors"]),
                        "shed": float(doc.get("shed", 0)),
                    },
                )
            )
    return rows
