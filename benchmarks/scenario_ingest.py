"""Scenario 1: ingest of many daily NetCDF files into a harmonised cube.

Contenders, each a fresh process on the same files (page cache warm: every contender reads
files the generator or the previous contender just touched):

- ``sco ingest``: the hub's real pipeline (checksums, harmonisation and validation, the cube,
  its overviews and its series copy, cube checksums, the catalog), into a fresh hub;
- plain xarray: ``xr.open_mfdataset(files).to_zarr(out)`` with every default;
- the floor: read and decode every source variable once (netCDF4, scale and offset to
  float32) and Blosc-encode the decoded values once in the cube's chunk shape, in two
  threads (as many as the hub uses), writing nothing.

Rates are MB of source files per second.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from datasets import files
from harness import DATA, HUB_PYTHON, REPO, Row, log, median, run_command

PLAIN = """
import sys, xarray as xr
files = sys.argv[2:]
xr.open_mfdataset(files).to_zarr(sys.argv[1], zarr_format=3)
"""

FLOOR = """
import sys, threading, numpy as np, netCDF4
from concurrent.futures import ThreadPoolExecutor
from numcodecs import Blosc
codec = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)
lock = threading.Lock()  # the netCDF library is not thread-safe: reads take turns
def one(path):
    with lock, netCDF4.Dataset(path) as nc:
        raws = []
        for name in ("analysed_sst", "sst_anomaly"):
            var = nc[name]
            var.set_auto_maskandscale(False)
            raws.append((np.asarray(var[0]), var.scale_factor, var.add_offset, var._FillValue))
    for raw, scale, offset, fill in raws:
        values = raw.astype("float32") * np.float32(scale) + np.float32(offset)
        values[raw == fill] = np.nan
        for i in range(0, values.shape[0], 256):
            for j in range(0, values.shape[1], 256):
                codec.encode(np.ascontiguousarray(values[i:i + 256, j:j + 256]))
with ThreadPoolExecutor(2) as pool:
    list(pool.map(one, sys.argv[1:]))
"""


def _ours(paths: list[Path], scratch: Path) -> tuple[float, float]:
    home = scratch / "hub"
    shutil.rmtree(home, ignore_errors=True)
    run = run_command(
        [str(REPO / ".venv" / "bin" / "sco"), "ingest", "-q", *map(str, paths)],
        env={"SCO_HOME": str(home)},
    )
    if run.returncode != 0:
        raise RuntimeError(f"sco ingest failed: {run.output[-1500:]}")
    shutil.rmtree(home, ignore_errors=True)
    return run.seconds, run.peak_mb


def _plain(paths: list[Path], scratch: Path) -> tuple[float, float]:
    out = scratch / "plain.zarr"
    shutil.rmtree(out, ignore_errors=True)
    run = run_command([str(HUB_PYTHON), "-c", PLAIN, str(out), *map(str, paths)])
    if run.returncode != 0:
        raise RuntimeError(f"plain pipeline failed: {run.output[-1500:]}")
    shutil.rmtree(out, ignore_errors=True)
    return run.seconds, run.peak_mb


def _floor(paths: list[Path], _scratch: Path) -> tuple[float, float]:
    run = run_command([str(HUB_PYTHON), "-c", FLOOR, *map(str, paths)])
    if run.returncode != 0:
        raise RuntimeError(f"floor failed: {run.output[-1500:]}")
    return run.seconds, run.peak_mb


def run(src: Path, sizes: list[int], rounds: int, big_rounds: int = 1) -> list[Row]:
    """Ingest the first N days of *src* for each N in *sizes*, contenders alternating."""
    scratch = DATA / "scratch-ingest"
    scratch.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    contenders = {"sco ingest": _ours, "plain xarray": _plain, "floor": _floor}
    for n, days in enumerate(sizes):
        paths = files(src, days)
        mb = sum(p.stat().st_size for p in paths) / 1e6
        times: dict[str, list[float]] = {k: [] for k in contenders}
        peaks: dict[str, list[float]] = {k: [] for k in contenders}
        reps = rounds if n < len(sizes) - 1 else big_rounds
        for r in range(reps):
            for name, fn in contenders.items():
                log(f"ingest {days} days ({mb:.0f} MB), round {r + 1}/{reps}: {name}")
                seconds, peak = fn(paths, scratch)
                times[name].append(seconds)
                peaks[name].append(peak)
        floor_rate = mb / median(times["floor"])
        ours_rate = mb / median(times["sco ingest"])
        for name in contenders:
            rate = mb / median(times[name])
            rows.append(
                Row(
                    "1 ingest",
                    f"{days} d, {mb:.0f} MB",
                    name,
                    "MB/s",
                    rate,
                    "MB/s",
                    ratio=ours_rate / rate if name != "sco ingest" else None,
                    floor_x=floor_rate / rate,
                    peak_mb=max(peaks[name]),
                    note=f"{reps} run(s), median of {len(times[name])}",
                )
            )
    shutil.rmtree(scratch, ignore_errors=True)
    return rows
