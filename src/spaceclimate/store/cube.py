"""The cube store: one Zarr v3 directory per published collection version.

Layout under the store root::

    .staging/<uuid>.zarr           cubes being written (deleted on the next run if left over)
    <collection id>/<uuid>.zarr    published cubes, referenced by the catalog

A cube is written under ``.staging`` and checksummed; the catalog transaction that publishes
it records its final href (``<collection id>/<uuid>.zarr``); only then is it renamed into its
collection folder (one ``rename`` on the same file system). The catalog commit is the single
point of visibility (an object store, which has no rename, uploads the cube under its final
key before the commit instead: :mod:`spaceclimate.store.objects`):

* a crash before the commit leaves a staged cube no version references: the next run deletes it,
  and the store's published folders are exactly as before;
* a crash between the commit and the rename leaves a staged cube the catalog references: readers
  find it in staging (:meth:`CubeStore.path`) and the next run finishes the rename.

Chunking (why): maps and time series want opposite chunk shapes, so a cube keeps both. Its
own arrays are map-shaped: each variable is chunked 256 x 256 in space, so a 256-pixel map tile
at native resolution touches at most four chunks, and in time by as many steps as keep a chunk
near 4 MiB of float32 (16 steps for a full 256 x 256 tile). Small grids and short series are a
single chunk. Dimensions other than time and space (e.g. region) are never split. Beside them,
inside the same cube, the store writes a series-shaped copy (:mod:`spaceclimate.store.series`:
chunks of up to 256 steps of 16 x 16 cells, so a point series over a 20-year daily record reads
29 small chunks) and the overview pyramid for map tiles (:mod:`spaceclimate.store.overviews`).
Cubes with a time axis are written block by block along time (:mod:`spaceclimate.store.writer`),
each block to all three layouts at once, so memory stays bounded whatever the record length.
Gridded arrays are compressed with Blosc LZ4 and byte shuffle, which encodes and decodes float32
several times faster than zarr's default Zstandard for a third more bytes on disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import xarray as xr
import zarr

from spaceclimate.errors import IntegrityError, NotFoundError
from spaceclimate.store.links import LinkGuard, find_symlinks, links_inside
from spaceclimate.store.overviews import write_overviews
from spaceclimate.store.remote import CubeLocation
from spaceclimate.store.writer import (
    clean_for_zarr,
    cube_encoding,
    plan_chunks,
    replace_attrs,
    write_cube,
)
from spaceclimate.store.written import WrittenFiles

__all__ = ["CubeStore", "plan_chunks"]


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


def remove_entry(path: Path) -> None:
    """Delete a file or folder of the store; a symbolic link itself, never its target."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def checksum_problems(href: str, expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """Compare a cube's recorded checksums with those found: missing, changed, extra files."""
    problems = [f"{href}/{k}: missing" for k in expected if k not in actual]
    problems += [
        f"{href}/{k}: checksum differs"
        for k, v in expected.items()
        if k in actual and actual[k] != v
    ]
    problems += [f"{href}/{k}: unexpected file" for k in actual if k not in expected]
    return problems


class CubeStore:
    """Zarr cubes on the local file system under *root*."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.links = LinkGuard(self.root)

    @property
    def staging(self) -> Path:
        """Folder of cubes being written."""
        return self.root / ".staging"

    def path(self, href: str) -> CubeLocation:
        """Location of a cube from its catalog href (relative to the root): on local disk its
        folder (see :meth:`local_path`), in an object store its key prefix.

        A cube on disk that is, holds or is reached through a symbolic link is refused
        (IntegrityError): nothing read through here leaves the store.
        """
        return self.links.check(self.local_path(href), href)

    def files_path(self, href: str) -> CubeLocation:
        """Location of a cube whose files a reader serves one by one, refusing each link
        itself: like :meth:`path`, but only a cube reached through a link is refused."""
        return self.links.check_reach(self.local_path(href), href)

    def local_path(self, href: str) -> Path:
        """Absolute path of a cube on local disk from its catalog href.

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

    def write(self, ds: xr.Dataset, target: Path) -> WrittenFiles | None:
        """Write *ds* as a Zarr v3 cube at *target*: its arrays, overviews and series copy.

        Cubes with a time axis are written block by block (bounded memory; *ds* may be lazy);
        for them the chunk files written are returned with their checksums.
        """
        if any("time" in v.dims for v in ds.data_vars.values()):
            return write_cube(ds, target)
        clean = clean_for_zarr(ds)
        encoding = cube_encoding(clean)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            clean.to_zarr(target, mode="w-", zarr_format=3, consolidated=True, encoding=encoding)
        write_overviews(target)  # coarsened copies for map tiles, inside the same cube
        return None

    def checksums(self, cube: Path, written: WrittenFiles | None = None) -> dict[str, str]:
        """Return ``{relative file path: sha256}`` of every file of a cube.

        Files in *written* (checksummed by the writer from the bytes it wrote) are not read
        again while their size is the one written; every other file is hashed from disk.
        """
        files = sorted(p for p in cube.rglob("*") if p.is_file() and not p.is_symlink())
        names = [path.relative_to(cube).as_posix() for path in files]

        def digest(i: int) -> str:
            known = written.digest(names[i], files[i]) if written is not None else None
            return known if known is not None else _sha256_file(files[i])

        with ThreadPoolExecutor(2) as pool:  # hashlib frees the GIL on large buffers
            digests = list(pool.map(digest, range(len(files))))
        return dict(zip(names, digests, strict=True))

    def check(self) -> str | None:
        """Return why the store cannot be used (None when it can): the folder must exist."""
        if self.root.is_dir():
            return None
        return f"missing: {self.root}"

    def prepare(self, staged: Path, collection_id: str) -> str:
        """Make a staged cube ready for its catalog commit; return its href.

        On local disk there is nothing to do before the commit (the rename comes after).
        """
        return self.href_for(staged, collection_id)

    def promote(self, staged: Path, collection_id: str) -> str:
        """Move a staged cube into its collection folder; return its href."""
        folder = self.root / collection_id
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / staged.name
        os.replace(staged, final)
        _fsync_dir(folder)
        return self.href_for(staged, collection_id)

    @staticmethod
    def open_path(path: Path) -> xr.Dataset:
        """Open the cube at *path* (published or staged) lazily."""
        return xr.open_zarr(path, consolidated=True, zarr_format=3)

    @staticmethod
    def set_attrs(path: Path, attrs: dict[str, Any]) -> None:
        """Replace the global attributes of a staged cube (and its consolidated metadata)."""
        replace_attrs(path, attrs)
        zarr.consolidate_metadata(str(path))

    def open(self, href: str) -> xr.Dataset:
        """Open a published cube lazily (refused when it holds a symbolic link)."""
        path = self.local_path(href)
        if not path.exists():
            raise NotFoundError(f"cube {href!r} is missing from the store")
        return xr.open_zarr(self.links.check(path, href), consolidated=True, zarr_format=3)

    def verify(self, href: str, expected: dict[str, str]) -> list[str]:
        """Return a list of problems (missing, changed or extra files, links) of a cube."""
        path = self.local_path(href)
        links = [self._link_problem(p) for p in find_symlinks(path, below=self.root)]
        if not path.exists() and not path.is_symlink():
            return [f"{href}: cube missing"]
        if links and not path.resolve().is_relative_to(self.root.resolve()):
            return links  # reached through a link out of the store: its files are not read
        return links + checksum_problems(href, expected, self.checksums(path))

    def _link_problem(self, link: Path) -> str:
        where = link.relative_to(self.root).as_posix() if link.is_relative_to(self.root) else link
        try:
            target = os.readlink(link)
        except OSError:
            target = "?"
        return f"{where}: symbolic link (to {target}); the store holds none"

    def symlinks(self) -> list[str]:
        """Return a problem for every symbolic link below the store's root (staging too)."""
        return [self._link_problem(p) for p in links_inside(self.root)]

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
                if href is not None and not path.is_symlink() and not (self.root / href).exists():
                    self.promote(path, href.split("/", 1)[0])
                    continue
                remove_entry(path)
                removed.append(f".staging/{path.name}")
        if not self.root.exists():
            return removed
        for folder in self.root.iterdir():
            # a linked folder is not the store's: nothing beyond a link is deleted
            if folder.is_symlink() or not folder.is_dir() or folder.name.startswith("."):
                continue
            for cube in folder.iterdir():
                href = f"{folder.name}/{cube.name}"
                if cube.suffix == ".zarr" and href not in referenced:
                    remove_entry(cube)
                    removed.append(href)
        return removed

    def assert_intact(self, href: str, expected: dict[str, str]) -> None:
        """Raise IntegrityError when a cube differs from its recorded checksums."""
        problems = self.verify(href, expected)
        if problems:
            raise IntegrityError(f"{len(problems)} problem(s): {problems[0]}")
