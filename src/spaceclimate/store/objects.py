"""Cubes in an object store (``SCO_STORE_URL=s3://bucket/prefix``), published atomically.

Layout::

    SCO_HOME/.staging/<uuid>.zarr              cubes being written, on local disk
    <prefix>/<collection id>/<uuid>.zarr/...   published cubes, one object a file

An object store has no atomic rename, so a cube is published in this order:

1. it is written on local disk under ``SCO_HOME/.staging`` by the same block writer as a
   local store (:mod:`spaceclimate.store.writer`), and checksummed there;
2. it is uploaded under its final key prefix, which is new (a fresh uuid) and not yet
   referenced by any catalog version, so no reader can see it (its root ``zarr.json``, which
   makes it openable, is uploaded last);
3. the catalog transaction that records its href (``<collection id>/<uuid>.zarr``) makes it
   visible, in one commit, as on local disk;
4. the local copy is deleted.

A crash before the commit leaves at most an unreferenced prefix and a local staging folder:
the catalog, and every cube it references, are as before. Clean-up (run by every ingest,
under the hub's lock) deletes local staging leftovers, and the unreferenced prefixes whose
newest object is older than a grace period (``SCO_STORE_CLEANUP_GRACE``; a prefix still
growing belongs to an upload in progress, perhaps by another machine). A crash after the
commit leaves only a local copy, which clean-up deletes: the cube was uploaded before.

Readers open cubes through :class:`~spaceclimate.store.remote.ObjectPath` (an fsspec mapper
that zarr opens with the cube's consolidated metadata, and that the hub's own fast readers
read with byte ranges).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import xarray as xr

from spaceclimate.errors import NotFoundError, UnavailableError
from spaceclimate.store.cube import CubeStore, checksum_problems, remove_entry
from spaceclimate.store.links import links_inside
from spaceclimate.store.remote import ObjectPath, object_filesystem

#: Objects hashed at once by ``verify`` (each is read whole into memory).
HASH_BATCH = 32


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _timestamp(meta: dict[str, Any]) -> float | None:
    """Return an object's modification time (seconds since the epoch), when listed."""
    for key in ("LastModified", "last_modified", "mtime", "created"):
        value = meta.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return None


class ObjectCubeStore(CubeStore):
    """Zarr cubes in an object store, staged on local disk under *home*.

    Parameters
    ----------
    url
        The store's URL (``s3://bucket/prefix``; any fsspec protocol).
    options
        Connection options of the file system (``endpoint_url``, ``key``, ``secret``, ...).
    home
        Local folder holding the staging area (``home/.staging``): the hub's ``SCO_HOME``.
    grace
        Seconds an unreferenced prefix is kept by :meth:`cleanup` after its last write.
    """

    def __init__(
        self, url: str, options: dict[str, Any], home: Path, grace: float = 6 * 3600.0
    ) -> None:
        super().__init__(home)
        self.url = url.rstrip("/")
        self.fs, self.prefix = object_filesystem(self.url, options)
        self.objects = ObjectPath(self.fs, self.prefix)
        self.grace = float(grace)

    def path(self, href: str) -> ObjectPath:
        """The key prefix of a published cube."""
        return self.objects.joinpath(href)

    def files_path(self, href: str) -> ObjectPath:
        """The key prefix of a published cube (an object store holds no links)."""
        return self.path(href)

    def local_path(self, href: str) -> Path:
        """Cubes are not on local disk once published."""
        raise NotFoundError(f"cube {href!r} is in the object store {self.url}, not on disk")

    def symlinks(self) -> list[str]:
        """Return a problem for every symbolic link in the local staging folder."""
        found = [self.staging] if self.staging.is_symlink() else links_inside(self.staging)
        return [self._link_problem(p) for p in found]

    def check(self) -> str | None:
        """Return why the store cannot be used (None when its bucket answers)."""
        bucket = self.prefix.split("/", 1)[0]
        try:
            if self.fs.exists(bucket):
                return None
        except Exception as exc:  # noqa: BLE001 - any failure to reach the store
            return f"unreachable: {self.url} ({type(exc).__name__})"
        return f"missing: {self.url}"

    # -- publishing -------------------------------------------------------------------------
    def prepare(self, staged: Path, collection_id: str) -> str:
        """Upload a staged cube under its final (new, unreferenced) key; return its href."""
        href = self.href_for(staged, collection_id)
        target = self.path(href).root
        files = sorted(p for p in staged.rglob("*") if p.is_file())
        root_meta = staged / "zarr.json"
        first = [p for p in files if p != root_meta]
        try:
            if first:
                self.fs.put(
                    [str(p) for p in first],
                    [f"{target}/{p.relative_to(staged).as_posix()}" for p in first],
                )
            if root_meta.is_file():  # last: the cube opens only once everything is there
                self.fs.put_file(str(root_meta), f"{target}/zarr.json")
        except Exception as exc:
            self._remove(target)  # best effort; clean-up deletes what remains
            raise UnavailableError(
                f"cube store {self.url}: upload of {href} failed ({type(exc).__name__}: {exc})"
            ) from exc
        return href

    def promote(self, staged: Path, collection_id: str) -> str:
        """After the commit: the cube is already in place, so drop its local copy."""
        shutil.rmtree(staged, ignore_errors=True)
        return self.href_for(staged, collection_id)

    # -- reading ----------------------------------------------------------------------------
    def open(self, href: str) -> xr.Dataset:
        """Open a published cube lazily (through its consolidated metadata)."""
        location = self.path(href)
        if not (location / "zarr.json").is_file():
            raise NotFoundError(f"cube {href!r} is missing from the store")
        return xr.open_zarr(location, consolidated=True, zarr_format=3)

    def verify(self, href: str, expected: dict[str, str]) -> list[str]:
        """Re-hash every object of a cube; return its problems (missing, changed, extra)."""
        location = self.path(href)
        listed = location.list_objects()
        if not listed:
            return [f"{href}: cube missing"]
        names = sorted(listed)
        actual: dict[str, str] = {}
        with ThreadPoolExecutor(4) as pool:
            for start in range(0, len(names), HASH_BATCH):
                batch = names[start : start + HASH_BATCH]
                contents = pool.map(lambda n: location.joinpath(n).read_bytes(), batch)
                actual.update(zip(batch, map(_sha256, contents), strict=True))
        return checksum_problems(href, expected, actual)

    # -- clean-up ---------------------------------------------------------------------------
    def cleanup(self, referenced: set[str]) -> list[str]:
        """Delete local staging leftovers and old unreferenced cubes; return what went.

        A staged cube is deleted whatever the catalog says: a committed cube was uploaded
        before its commit. An unreferenced prefix goes once its newest object is older than
        the grace period (younger ones may be uploads in progress).
        """
        removed: list[str] = []
        if self.staging.exists():
            for path in self.staging.iterdir():
                remove_entry(path)
                removed.append(f".staging/{path.name}")
        now = time.time()
        for cube in self._published_prefixes():
            href = cube[len(self.prefix) + 1 :]
            if href in referenced:
                continue
            listed = ObjectPath(self.fs, cube).list_objects()
            stamps = [t for t in map(_timestamp, listed.values()) if t is not None]
            if listed and stamps and now - max(stamps) < self.grace:
                continue  # written recently: perhaps an upload in progress
            self._remove(cube)
            removed.append(href)
        return removed

    def _published_prefixes(self) -> list[str]:
        """Every ``<prefix>/<collection>/<name>.zarr`` key prefix in the store."""
        self.fs.invalidate_cache()
        try:
            folders = self.fs.ls(self.prefix, detail=True)
        except FileNotFoundError:
            return []
        out: list[str] = []
        for folder in folders:
            name = str(folder["name"]).rstrip("/")
            if folder.get("type") != "directory" or name.rsplit("/", 1)[-1].startswith("."):
                continue
            for entry in self.fs.ls(name, detail=False):
                key = str(entry).rstrip("/")
                if key.endswith(".zarr"):
                    out.append(key)
        return out

    def _remove(self, key: str) -> None:
        try:
            self.fs.rm(key, recursive=True)
        except FileNotFoundError:
            pass
