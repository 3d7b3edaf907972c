"""The cube store: one Zarr v3 directory per published collection version.

Layout under the store root::

    .staging/<uuid>.zarr           cubes being written (deleted on the next run if left over)
    <collection id>/<uuid>.zarr    published cubes, referenced by the catalog

A cube is written under ``.staging`` and checksummed; the catalog transaction that publishes
it records its final href (``<collection id>/<uuid>.zarr``); only then is it renamed into its
collection folder (one ``rename`` on the same file system). The catalog commit is the single
point of visibility:

* a crash before the commit leaves a staged cube no version references: the next run deletes it,
  and the store's published folders are exactly as before;
* a crash between the commit and the rename leaves a staged cube the catalog references: readers
  find it in staging (:meth:`CubeStore.path`) and the next run finishes the rename.

Chunking (why): maps and time series want opposite chunk shapes. Until the hub keeps a second,
series-shaped copy, each variable is chunked 256 x 256 in space, so a 256-pixel map tile at
native resolution touches at most four chunks, and in time by as many steps as keep a chunk
near 4 MiB of float32 (16 steps for a full 256 x 256 tile), so a point series over a 20-year
daily record reads about 460 chunks rather than 7300. Small grids and short series are a
single chunk. Dimensions other than time and space (e.g. region) are never split.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from spaceclimate.errors import IntegrityError, NotFoundError
from spaceclimate.store.overviews import write_overviews

SPATIAL_CHUNK = 256
TARGET_CHUNK_BYTES = 4 * 1024 * 1024
SPATIAL_DIMS = ("lat", "lon", "y", "x")


def plan_chunks(da: xr.DataArray | xr.Variable) -> tuple[int, ...]:
    """Return the chunk shape of *da* following the module's chunking rule."""
    shape = {str(d): int(n) for d, n in da.sizes.items()}
    chunks: dict[str, int] = {}
    spatial_cells = 1
    for dim, size in shape.items():
        if dim in SPATIAL_DIMS:
            chunks[dim] = min(size, SPATIAL_CHUNK)
            spatial_cells *= chunks[dim]
        elif dim != "time":
            chunks[dim] = size
            spatial_cells *= size
    if "time" in shape:
        per_step = max(1, spatial_cells * da.dtype.itemsize)
        chunks["time"] = int(max(1, min(shape["time"], TARGET_CHUNK_BYTES // per_step)))
    return tuple(chunks[str(d)] for d in da.dims)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in *folder* durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class CubeStore:
    """Zarr cubes on the local file system under *root*."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def staging(self) -> Path:
        """Folder of cubes being written."""
        return self.root / ".staging"

    def path(self, href: str) -> Path:
        """Absolute path of a cube from its catalog href (relative to the root).

        A cube whose publication committed but whose rename out of staging has not happened
        yet (a crash in between) is found in staging under the same name.
        """
        final = self.root / href
        if not final.exists():
            staged = self.staging / Path(href).name
            if staged.exists():
                return staged
        return final

    @staticmethod
    def href_for(staged: Path, collection_id: str) -> str:
        """Return the href a staged cube will have once promoted into its collection."""
        return f"{collection_id}/{staged.name}"

    def new_staging_path(self) -> Path:
        """Return a fresh path under the staging folder (not yet created)."""
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / f"{uuid.uuid4().hex}.zarr"

    def write(self, ds: xr.Dataset, target: Path) -> None:
        """Write *ds* as a Zarr v3 cube at *target* with the planned chunks and encoding."""
        encoding: dict[str, dict[str, Any]] = {}
        for name, var in ds.variables.items():
            enc: dict[str, Any] = {}
            if name in ds.data_vars or (var.ndim >= 2 and var.dtype.kind == "f"):
                enc["chunks"] = plan_chunks(var)
            if var.dtype.kind == "f":
                enc["_FillValue"] = np.float32(np.nan) if var.dtype == np.float32 else np.nan
            if name == "time" or name == "time_bnds":
                enc["units"] = "seconds since 1970-01-01 00:00:00"
                enc["calendar"] = "proleptic_gregorian"
                enc["dtype"] = "float64"
            if enc:
                encoding[str(name)] = enc
        clean = ds.copy()
        for name in list(clean.variables):
            if clean[name].dtype.kind == "U":  # Zarr v3's registered variable-length "string"
                clean[name] = clean[name].astype(object)
            clean[name].encoding = {}
            if "chunks" in encoding.get(str(name), {}) and clean[name].chunks is not None:
                planned = dict(zip(clean[name].dims, encoding[str(name)]["chunks"], strict=True))
                clean[name] = clean[name].chunk(planned)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            clean.to_zarr(target, mode="w-", zarr_format=3, consolidated=True, encoding=encoding)
        write_overviews(target)  # coarsened copies for map tiles, inside the same cube

    def checksums(self, cube: Path) -> dict[str, str]:
        """Return ``{relative file path: sha256}`` of every file of a cube."""
        out: dict[str, str] = {}
        for path in sorted(p for p in cube.rglob("*") if p.is_file()):
            out[path.relative_to(cube).as_posix()] = _sha256_file(path)
        return out

    def promote(self, staged: Path, collection_id: str) -> str:
        """Move a staged cube into its collection folder; return its href."""
        folder = self.root / collection_id
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / staged.name
        os.replace(staged, final)
        _fsync_dir(folder)
        return self.href_for(staged, collection_id)

    def open(self, href: str) -> xr.Dataset:
        """Open a published cube lazily."""
        path = self.path(href)
        if not path.exists():
            raise NotFoundError(f"cube {href!r} is missing from the store")
        return xr.open_zarr(path, consolidated=True, zarr_format=3)

    def verify(self, href: str, expected: dict[str, str]) -> list[str]:
        """Return a list of problems (missing, changed or extra files) of a cube."""
        path = self.path(href)
        if not path.exists():
            return [f"{href}: cube missing"]
        actual = self.checksums(path)
        problems = [f"{href}/{k}: missing" for k in expected if k not in actual]
        problems += [
            f"{href}/{k}: checksum differs"
            for k, v in expected.items()
            if k in actual and actual[k] != v
        ]
        problems += [f"{href}/{k}: unexpected file" for k in actual if k not in expected]
        return problems

    def cleanup(self, referenced: set[str]) -> list[str]:
        """Finish interrupted promotions, delete leftovers no version references; return them.

        A staged cube whose href the catalog references was committed before a crash cut the
        rename short: it is moved into place. Every other staged or unreferenced cube is removed.
        """
        removed: list[str] = []
        committed = {Path(h).name: h for h in referenced}
        if self.staging.exists():
            for path in self.staging.iterdir():
                href = committed.get(path.name)
                if href is not None and not (self.root / href).exists():
                    self.promote(path, href.split("/", 1)[0])
                    continue
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
                removed.append(f".staging/{path.name}")
        if not self.root.exists():
            return removed
        for folder in self.root.iterdir():
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            for cube in folder.iterdir():
                href = f"{folder.name}/{cube.name}"
                if cube.suffix == ".zarr" and href not in referenced:
                    shutil.rmtree(cube, ignore_errors=True)
                    removed.append(href)
        return removed

    def assert_intact(self, href: str, expected: dict[str, str]) -> None:
        """Raise IntegrityError when a cube differs from its recorded checksums."""
        problems = self.verify(href, expected)
        if problems:
            raise IntegrityError(f"{len(problems)} problem(s): {problems[0]}")
