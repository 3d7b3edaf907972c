"""Two kinds of collection: cube collections and catalog-only collections.

A **cube collection** (made by ingest or by a process) has a harmonised Zarr cube, named by
its ``assets.zarr.href``; every data API (Zarr, tiles, EDR, downloads, processes) reads it.
A **catalog-only collection** (made by a STAC transaction) is a record of data held
elsewhere: the hub keeps its STAC documents, searchable like any other, and its items'
assets point where the data are. It has no ``assets.zarr``, and its versions have an empty
cube href.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spaceclimate.errors import NotFoundError


def has_cube(doc: Mapping[str, Any]) -> bool:
    """Whether a STAC Collection document names a cube of the hub."""
    zarr = (doc.get("assets") or {}).get("zarr")
    return isinstance(zarr, Mapping) and bool(zarr.get("href"))


def cube_href(doc: Mapping[str, Any]) -> str:
    """Return the store href of a collection's cube; NotFoundError for a catalog-only one."""
    if not has_cube(doc):
        raise NotFoundError(
            f"collection {doc.get('id')!r} is catalog-only: it has no cube on this hub "
            "(its data are at its items' assets)"
        )
    return str(doc["assets"]["zarr"]["href"])
