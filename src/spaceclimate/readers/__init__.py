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
from spaceclimate.readers.base import Declared, DeclaresVariables, Reader
from spaceclimate.readers.limits import check_dataset, check_file

GUESS_ORDER = ("zarr", "netcdf", "hdf4", "geotiff", "table")

__all__ = [
    "Declared",
    "DeclaresVariables",
    "Reader",
    "check_decoded_size",
    "get_reader",
    "guess_reader",
    "list_readers",
    "open_dataset",
]


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


def _chosen(path: Path, reader: str | None) -> Reader:
    if not path.exists():
        raise InputError(f"{path.name}: no such file")
    return get_reader(reader) if reader else guess_reader(path)


def check_decoded_size(path: Path, reader: str | None, limit: int, **options: Any) -> None:
    """Refuse *path* when a variable its reader declares would decode to over *limit* bytes.

    Reads the file's metadata only (see :mod:`spaceclimate.readers.limits`); does nothing for
    readers that cannot declare their variables.

    Raises
    ------
    spaceclimate.errors.DecodedSizeError
        Naming the file, the variable, its decoded size and the limit.
    """
    path = Path(path)
    check_file(_chosen(path, reader), path, limit, **options)


def open_dataset(
    path: Path, reader: str | None = None, *, max_variable_bytes: int | None = None, **options: Any
) -> xr.Dataset:
    """Open *path* with the named reader (or a guessed one) and return the raw dataset.

    With *max_variable_bytes*, a file with a variable that would decode to more is refused
    (:class:`~spaceclimate.errors.DecodedSizeError`) before its values are read.
    """
    path = Path(path)
    chosen = _chosen(path, reader)
    if max_variable_bytes is None:
        return chosen.open(path, **options)
    check_file(chosen, path, max_variable_bytes, **options)
    ds = chosen.open(path, **options)
    try:
        check_dataset(path, ds, max_variable_bytes)  # readers that declare nothing beforehand
    except BaseException:
        ds.close()
        raise
    return ds
