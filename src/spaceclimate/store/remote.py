"""Objects in an object store (S3 or any fsspec file system), used as the readers use paths.

A cube published to an object store is a key prefix, ``<prefix>/<collection>/<uuid>.zarr/``.
:class:`ObjectPath` names such a prefix, or one object under it, and answers what the hub's
readers ask of a local :class:`~pathlib.Path`: ``/`` and ``joinpath``, ``name``,
``is_file``, ``exists``, ``read_bytes``, ``read_text``, and byte ranges. It is also an fsspec
mapper, so ``xarray.open_zarr(location)`` and ``zarr.open_array(location)`` open it as they
open a local folder (through zarr's fsspec store and the cube's consolidated metadata).

Local cubes stay plain paths: nothing here is on the local reading paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.mapping import FSMap

#: Options this module adds to an object store's own: listings are not cached, so a process
#: that publishes and cleans up never sees a stale listing of the store.
DEFAULT_OPTIONS: dict[str, Any] = {"use_listings_cache": False}


def object_filesystem(url: str, options: dict[str, Any]) -> tuple[AbstractFileSystem, str]:
    """Return the (synchronous) file system of an object store URL and its root path."""
    merged = {**DEFAULT_OPTIONS, **options}
    try:
        fs, root = url_to_fs(url, **merged)
    except TypeError:  # a file system that takes no listings-cache option
        fs, root = url_to_fs(url, **options)
    return fs, str(root).rstrip("/")


class ObjectPath(FSMap):
    """An object (or a key prefix) in an object store, used like a path and like a mapper.

    Parameters
    ----------
    fs
        The store's file system (a synchronous fsspec instance).
    root
        The key, without protocol (``bucket/prefix/collection/cube.zarr``).
    """

    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        super().__init__(root.rstrip("/"), fs, check=False, create=False)

    # -- as a path --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The full URL, with protocol (``s3://bucket/...``)."""
        return str(self.fs.unstrip_protocol(self.root))

    @property
    def name(self) -> str:
        """The last segment of the key."""
        return self.root.rsplit("/", 1)[-1]

    def joinpath(self, *parts: str) -> ObjectPath:
        """Return the key below this one named by *parts*."""
        clean = [str(p).strip("/") for p in parts if str(p).strip("/")]
        return ObjectPath(self.fs, "/".join([self.root, *clean]))

    def __truediv__(self, part: str) -> ObjectPath:
        return self.joinpath(part)

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"ObjectPath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectPath) and (self.url, self.fs) == (other.url, other.fs)

    def __hash__(self) -> int:
        return hash(("ObjectPath", self.url))

    def __bool__(self) -> bool:  # a mapper's truth would list every key below it
        return True

    def info(self) -> dict[str, Any] | None:
        """Return the object's metadata (``size``, ``type``, ...), None when there is none."""
        try:
            return dict(self.fs.info(self.root))
        except FileNotFoundError:
            return None

    def is_file(self) -> bool:
        """Whether an object exists under exactly this key."""
        found = self.info()
        return found is not None and found.get("type") == "file"

    def exists(self) -> bool:
        """Whether an object, or any object below this key, exists."""
        return bool(self.fs.exists(self.root))

    def read_bytes(self) -> bytes:
        """Return the whole object (FileNotFoundError when absent)."""
        return bytes(self.fs.cat_file(self.root))

    def read_text(self, encoding: str = "utf-8") -> str:
        """Return the object decoded as text."""
        return self.read_bytes().decode(encoding)

    def read_range(self, start: int, end: int | None = None) -> bytes:
        """Return bytes [start, end) of the object; a negative *start* counts from its end."""
        return bytes(self.fs.cat_file(self.root, start=start, end=end))

    def list_objects(self) -> dict[str, dict[str, Any]]:
        """Return ``{relative key: metadata}`` of every object below this key."""
        found = self.fs.find(self.root, detail=True, withdirs=False)
        prefix = self.root + "/"
        return {
            str(key)[len(prefix) :]: dict(meta)
            for key, meta in found.items()
            if str(key).startswith(prefix)
        }


#: A cube's location: a local folder, or a key prefix in an object store.
CubeLocation = Path | ObjectPath


def zarr_location(location: CubeLocation) -> str | ObjectPath:
    """What zarr opens for *location*: a local path as text, an object prefix as its mapper."""
    return location if isinstance(location, ObjectPath) else str(location)
