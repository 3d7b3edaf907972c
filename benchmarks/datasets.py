"""The data every scenario serves: grown source files, hubs ingested from them, plain copies.

Everything lives under ``benchmarks/.data`` and is reused by the next run when it is still
what this code would build (a ``built.json`` stamp records how each part was made).

- ``src25``: OSTIA-shaped daily files on OSTIA's own 0.25 degree grid (the ingest scenario);
- ``src50``: the same at 0.5 degree over the longest record (the serving scenarios);
- ``hub-<n>y``: a hub with the first *n* years of ``src50`` ingested by ``sco ingest``;
- ``plain-<n>y.zarr``: the same cube's ``sst`` written the plain way (one chunk per time
  step, zarr's default codec), the layout a user of the peers would typically have.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from grow import GENERATOR_VERSION, grow
from harness import DATA, REPO, log, run_command

START = "2001-01-01"
COLLECTION = "ukmo-ostia-sst-daily"
#: Bump when a hub or plain copy must be rebuilt (the hub's write path changed).
BUILD_VERSION = 3


def _stamp_ok(folder: Path, spec: dict[str, Any]) -> bool:
    stamp = folder / "built.json"
    return stamp.is_file() and json.loads(stamp.read_text()) == spec


def _stamp(folder: Path, spec: dict[str, Any]) -> None:
    (folder / "built.json").write_text(json.dumps(spec))


def sources(resolution: float, days: int) -> Path:
    """Grow (or reuse) *days* daily files at *resolution*; return their folder."""
    name = "src25" if resolution == 0.25 else "src50"
    folder = DATA / name
    log(f"source files: {days} days at {resolution} degree in {folder}")
    return grow(folder, resolution, START, days)


def files(folder: Path, days: int) -> list[Path]:
    """The first *days* source files of a folder, in time order."""
    return sorted(folder.glob("*.nc"))[:days]


def hub(years: int, days: int, src: Path) -> tuple[Path, float, float]:
    """Ingest the first *days* files of *src* into the hub ``hub-<years>y``.

    Returns (hub folder, ingest seconds, peak MB) - seconds NaN when the hub was reused.
    """
    home = DATA / f"hub-{years}y"
    spec = {"build": BUILD_VERSION, "generator": GENERATOR_VERSION, "days": days}
    if _stamp_ok(home, spec):
        return home, float("nan"), float("nan")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    paths = [str(p) for p in files(src, days)]
    log(f"sco ingest of {len(paths)} files into {home.name}")
    run = run_command(
        [str(REPO / ".venv" / "bin" / "sco"), "ingest", "-q", *paths],
        env={"SCO_HOME": str(home)},
    )
    if run.returncode != 0:
        raise RuntimeError(f"sco ingest failed: {run.output[-2000:]}")
    _stamp(home, spec)
    return home, run.seconds, run.peak_mb


def cube_path(home: Path) -> Path:
    """The published cube of the benchmark collection in a hub."""
    cubes = sorted((home / "store" / COLLECTION).glob("*.zarr"))
    if len(cubes) != 1:
        raise RuntimeError(f"expected one cube in {home}, found {len(cubes)}")
    return cubes[0]


def plain_copy(years: int, home: Path) -> Path:
    """Write (or reuse) the plain-layout copy of a hub's ``sst``: one chunk a time step."""
    target = DATA / f"plain-{years}y.zarr"
    spec = {"build": BUILD_VERSION, "cube": cube_path(home).name}
    if target.is_dir() and _stamp_ok(target, spec):
        return target
    shutil.rmtree(target, ignore_errors=True)
    log(f"writing the plain-layout copy {target.name}")
    script = (
        "import sys, xarray as xr\n"
        "ds = xr.open_zarr(sys.argv[1])[['sst']]\n"
        "ds = ds.drop_vars([v for v in ds.coords if v.endswith('_bnds')])\n"
        "for v in ds.variables.values(): v.encoding = {}\n"
        "ds = ds.chunk({'time': 1, 'lat': -1, 'lon': -1})\n"
        "ds.to_zarr(sys.argv[2], zarr_format=3, consolidated=True)\n"
    )
    run = run_command(
        [str(REPO / ".venv" / "bin" / "python"), "-c", script, str(cube_path(home)), str(target)]
    )
    if run.returncode != 0:
        raise RuntimeError(f"plain copy failed: {run.output[-2000:]}")
    _stamp(target, spec)
    return target


def size_on_disk(path: Path) -> int:
    """Bytes of every file under *path*."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
