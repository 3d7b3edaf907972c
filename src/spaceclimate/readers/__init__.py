"""Readers: one module per format, each returning a raw :class:`xarray.Dataset`.

Readers are plugins of the ``spaceclimate.readers`` entry-point group; the built-ins register
through the same group. See :mod:`spaceclimate.readers.base` for the interface.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import xarray as xr

from spaceclimate.errors import CorruptFileError, InputError
from spaceclimate.plugins import list_plugins
from spaceclimate.readers.base import Reader

GUESS_ORDER = ("zarr", "netcdf", "hdf4", "geotiff", "table")

__all__ = ["Reader", "get_reader", "guess_reader", "list_readers", "open_dataset"]


@cache
def list_readers() -> dict[str, Reader]:
    """Return ``{name: reader instance}`` of every registered reader."""
    return {name: cls() for name, cls in list_plugins("spaceclimate.readers").items()}


def get_reader(name: str) -> Reader:
    """Return the reader *name*, or raise InputError naming the known readers."""
    readers = list_readers()
    if name not in readers:
        raise InputError(f"unknown reader {name!r}; known: {', '.join(sorted(readers))}")
    return readers[name]


def guess_reader(path: Path) -> Reader:
    """Return the first reader (in a fixed order) that recognises *path*."""
    readers = list_readers()
    names = [n for n in GUESS_ORDER if n in readers] + sorted(set(readers) - set(GUESS_ORDER))
    for name in names:
        if readers[name].can_open(path):
            return readers[name]
    raise CorruptFileError(f"{path.name}: not a format any reader knows")


def open_dataset(path: Path, reader: str | None = None, **options: Any) -> xr.Dataset:
    """Open *path* with the named reader (or a guessed one) and return the raw dataset."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path.name}: no such file")
    chosen = get_reader(reader) if reader else guess_reader(path)
    return chosen.open(path, **options)
