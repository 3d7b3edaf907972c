"""Scenario 3: map tiles at zoom 0 to 6, cold and warm, against titiler-xarray.

The same tile list for everyone: every tile of zooms 0-2, and random tiles of zooms 3-6 that
hold ocean; one time step of the record; the same colour map and range. Tiles are fetched one
at a time; tiles per second = tiles / total time.

- cold: a new server process, and the cube's files evicted from the page cache;
- warm: the same tiles again (the hub answers from its tile cache; titiler-xarray has none
  and renders again from the page cache);
- warm, new style: the same tiles with another display range, so the hub draws them again
  from its cached map slices.

Contenders: the hub; titiler-xarray on the plain layout (one chunk a time step) and on the
hub's cube (its map-shaped arrays). The floor: colour-map and PNG-encode one 256 x 256 tile
with nothing else (no reading, no sampling), as the hub encodes it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import httpx
import numpy as np
import xarray as xr
from datasets import COLLECTION, cube_path
from harness import (
    PEERS_PYTHON,
    Row,
    Server,
    drop_cache,
    hub_server,
    log,
    peak_rss_mb,
    reset_peak,
    uvicorn,
)

RANGE = (271.0, 305.0)


def tile_list(cube: Path, per_zoom: int, seed: int = 11) -> list[tuple[int, int, int]]:
    """Zooms 0-2 whole, then *per_zoom* random ocean tiles of each zoom 3-6."""
    ds = xr.open_zarr(cube)
    ocean = np.isfinite(ds["sst"].isel(time=0).values)
    lat, lon = ds["lat"].values, ds["lon"].values
    rng = np.random.default_rng(seed)
    tiles = [(z, x, y) for z in range(3) for x in range(2**z) for y in range(2**z)]
    rows, cols = np.nonzero(ocean)
    for z in range(3, 7):
        n = 2**z
        seen: set[tuple[int, int, int]] = set()
        while len(seen) < per_zoom:
            k = int(rng.integers(rows.size))
            la, lo = float(lat[rows[k]]), float(lon[cols[k]])
            if abs(la) > 84:
                continue
            x = int((lo + 180) / 360 * n)
            y = int((1 - math.asinh(math.tan(math.radians(la))) / math.pi) / 2 * n)
            seen.add((z, min(x, n - 1), min(y, n - 1)))
        tiles.extend(sorted(seen))
    return tiles


def _url(
    name: str, server: Server, cube: Path, tile: tuple[int, int, int], when: str, vmax: float
) -> tuple[str, dict[str, str]]:
    z, x, y = tile
    if name == "hub":
        return (
            f"{server.base}/tiles/{COLLECTION}/sst/{z}/{x}/{y}.png",
            {"datetime": when, "colormap": "RdYlBu_r", "rescale": f"{RANGE[0]},{vmax}"},
        )
    return (
        f"{server.base}/tiles/WebMercatorQuad/{z}/{x}/{y}.png",
        {
            "url": str(cube),
            "variable": "sst",
            "sel": f"time={when}",
            "rescale": f"{RANGE[0]},{vmax}",
            "colormap_name": "rdylbu_r",
        },
    )


def _pass(
    client: httpx.Client,
    name: str,
    server: Server,
    cube: Path,
    tiles: list[tuple[int, int, int]],
    when: str,
    vmax: float,
) -> float:
    """Fetch every tile once; return tiles per second."""
    start = time.perf_counter()
    for tile in tiles:
        url, params = _url(name, server, cube, tile, when, vmax)
        response = client.get(url, params=params)
        response.read()
        if response.status_code != 200:
            raise RuntimeError(f"{name} {tile}: {response.status_code} {response.text[:200]}")
    return len(tiles) / (time.perf_counter() - start)


def floor_tiles_per_second() -> float:
    """Colour-map and PNG-encode one realistic tile, nothing else; tiles per second."""
    import io

    from matplotlib import colormaps
    from PIL import Image

    lut = np.asarray(colormaps["RdYlBu_r"](np.linspace(0, 1, 256), bytes=True), dtype=np.uint8)
    rng = np.random.default_rng(0)
    field = 285 + 8 * np.sin(np.linspace(0, 3, 256))[:, None] + rng.normal(0, 0.3, (256, 256))
    field[:40, :90] = np.nan
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        index = np.clip((field - RANGE[0]) / (RANGE[1] - RANGE[0]) * 256, 0, 255)
        rgba = lut[np.nan_to_num(index).astype(np.uint8)]
        rgba[np.isnan(field)] = 0
        buf = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=1)
        count += 1
    return count / (time.perf_counter() - start)


def run(years: int, home: Path, plain: Path, per_zoom: int, rounds: int) -> list[Row]:
    """Cold, warm and new-style passes for each contender, alternating, *rounds* times."""
    cube = cube_path(home)
    times = xr.open_zarr(cube)["time"].values
    when = str(np.datetime_as_string(times[len(times) // 2], unit="s"))
    tiles = tile_list(cube, per_zoom)
    layouts = {
        "hub": (None, cube),
        "titiler-xarray (plain)": (plain, plain),
        "titiler-xarray (hub layout)": (cube, cube),
    }
    rates: dict[tuple[str, str], list[float]] = {}
    peaks: dict[str, float] = {}
    for r in range(rounds):
        for name, (data, evict) in layouts.items():
            if name == "hub":
                server = hub_server("hub-tiles", home)
            else:
                server = uvicorn("titiler", PEERS_PYTHON, "titiler.xarray.main:app", "/healthz")
            drop_cache([evict])
            log(f"tiles round {r + 1}/{rounds}: {name} ({len(tiles)} tiles)")
            with server, httpx.Client(timeout=300) as client:
                reset_peak(server.pid)
                path = data if data is not None else cube
                cold = _pass(client, name, server, path, tiles, when, RANGE[1])
                warm = _pass(client, name, server, path, tiles, when, RANGE[1])
                restyled = _pass(client, name, server, path, tiles, when, RANGE[1] - 1)
                peaks[name] = max(peaks.get(name, 0.0), peak_rss_mb(server.pid))
            for kind, rate in (("cold", cold), ("warm", warm), ("warm, new style", restyled)):
                rates.setdefault((name, kind), []).append(rate)
    floor = floor_tiles_per_second()
    rows = []
    for (name, kind), values in rates.items():
        rate = float(np.median(values))
        ours = float(np.median(rates[("hub", kind)]))
        rows.append(
            Row(
                "3 tiles z0-6",
                f"{years} y, {kind}",
                name,
                "tiles/s",
                rate,
                "tiles/s",
                ratio=ours / rate if name != "hub" else None,
                floor_x=floor / rate,
                peak_mb=peaks.get(name),
                note=f"{len(tiles)} tiles, median of {len(values)}",
            )
        )
    rows.append(
        Row(
            "3 tiles z0-6",
            f"{years} y",
            "floor",
            "tiles/s",
            floor,
            "tiles/s",
            note="colour-map + PNG-encode one tile, nothing else",
        )
    )
    return rows
